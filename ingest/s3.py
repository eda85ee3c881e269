"""S3: the buckets of one account, with their bucket policies and tags.

Reads `s3/buckets.json` (`aws s3api list-buckets`), and for each bucket the optional
`s3/<bucket>/policy.json` (`get-bucket-policy`) and `s3/<bucket>/tagging.json`
(`get-bucket-tagging`). Both calls fail when the bucket has no policy or no tags,
so a missing file means "none" for the policy and "unknown" for the tags.

Not read: ACLs, Block Public Access settings, access points and object ownership.
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.arn import s3_bucket_arn
from engine.inventory import AccountInventory, Bucket
from engine.policy import PolicyKind
from ingest.jsonfile import JsonObject, SnapshotReader

logger = logging.getLogger(__name__)

# The analysis does not read public-access-block.json (`get-public-access-block`) yet, so it is there for people.
BUCKET_FILES = {"policy.json", "tagging.json", "public-access-block.json"}
LISTING_COMMAND = "aws s3api list-buckets --page-size 1000 --output json"


# ---- transform: JSON in, records out ----


def transform_bucket_list(listing: JsonObject) -> dict[str, str | None]:
    """Map each bucket name in `list-buckets` output to its region (None when not listed)."""
    return {item.require_str("Name"): item.optional_str("BucketRegion") for item in listing.require_objects("Buckets")}


def transform_bucket(
    name: str,
    *,
    region: str | None,
    policy: JsonObject | None,
    tagging: JsonObject | None,
    account: str,
    partition: str,
) -> Bucket:
    """Build one bucket from its `get-bucket-policy` and `get-bucket-tagging` output, if any."""
    arn = s3_bucket_arn(name, partition)
    document = None
    if policy is not None:
        document = policy.require_policy("Policy", kind=PolicyKind.RESOURCE, policy_id=arn, name=name)
    tags: dict[str, str] = {}
    if tagging is not None:
        # An untagged bucket is `{"TagSet": []}`, so a file without TagSet is malformed.
        tags = tagging.require_tags("TagSet")
    return Bucket(
        name=name,
        arn=arn,
        account=account,
        region=region,
        policy=document,
        tags=tags,
        tags_known=tagging is not None,
    )


# ---- load: read the files, transform, write into the account inventory ----


def load_s3(reader: SnapshotReader, s3_dir: Path, inventory: AccountInventory) -> bool:
    """Load `<account>/s3/` into the inventory and return whether `buckets.json` exists."""
    listing_path = s3_dir / "buckets.json"
    if not reader.file_exists(listing_path, LISTING_COMMAND):
        logger.warning(
            "%s is missing, so the buckets of account %s are not loaded",
            reader.label(listing_path),
            inventory.account_id,
        )
        return False

    regions = transform_bucket_list(reader.read_object(listing_path, LISTING_COMMAND))
    for name, region in regions.items():
        bucket_dir = s3_dir / name
        has_folder = reader.folder_exists(bucket_dir)
        policy_command = f"aws s3api get-bucket-policy --bucket {name} --output json"
        tagging_command = f"aws s3api get-bucket-tagging --bucket {name} --output json"
        bucket = transform_bucket(
            name,
            region=region,
            policy=reader.read_optional(bucket_dir / "policy.json", policy_command) if has_folder else None,
            tagging=reader.read_optional(bucket_dir / "tagging.json", tagging_command) if has_folder else None,
            account=inventory.account_id,
            partition=reader.partition,
        )
        inventory.buckets[bucket.arn] = bucket
        if has_folder:
            for path in reader.unknown_entries(bucket_dir, BUCKET_FILES):
                logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    for path in reader.unknown_entries(s3_dir, {"buckets.json", *regions}):
        logger.warning("ignoring %s: not a bucket listed in %s", reader.label(path), reader.label(listing_path))

    with_policy = sum(1 for bucket in inventory.buckets.values() if bucket.policy is not None)
    logger.info(
        "loaded S3 for account %s: %d buckets, %d with a bucket policy",
        inventory.account_id,
        len(inventory.buckets),
        with_policy,
    )
    return True
