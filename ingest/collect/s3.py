"""S3: the account's buckets, each with its bucket policy, tags and Block Public Access settings.

The listing is paginated with a page size, because S3 returns `BucketRegion` only for
paginated `ListBuckets` requests. Each bucket is then read in its own region. For a
bucket without a policy, tags or Block Public Access configuration, S3 returns an error
code that means "none". The collector then writes no file (policy, settings) or an
empty tag set, as docs/snapshot-format.md describes.
"""

from __future__ import annotations

from typing import Any

from engine.arn import s3_bucket_arn
from ingest.collect.aws import Status
from ingest.collect.context import Context

LIST_PAGE_SIZE = 1000
# (operation, file written, error code that means "none", what the file records)
BUCKET_CALLS = (
    ("GetBucketPolicy", "policy.json", "NoSuchBucketPolicy", "the bucket policy"),
    ("GetBucketTagging", "tagging.json", "NoSuchTagSet", "the tags"),
    ("GetPublicAccessBlock", "public-access-block.json", "NoSuchPublicAccessBlockConfiguration", "Block Public Access"),
)


# ---- transform ----


def bucket_regions(listing: dict[str, Any]) -> dict[str, str | None]:
    """Map each listed bucket to its region, None when the listing does not give it."""
    return {bucket["Name"]: bucket.get("BucketRegion") for bucket in listing.get("Buckets", [])}


# ---- collect: fetch, transform, write ----


def collect_s3(context: Context) -> None:
    """Collect `s3/` of one account."""
    listing = context.paginate("s3", "ListBuckets", subject="the account's buckets", page_size=LIST_PAGE_SIZE)
    if not listing.ok or listing.data is None:
        return
    context.write(("s3", "buckets.json"), listing.data, service="s3", operation="ListBuckets")
    regions = bucket_regions(listing.data)
    context.log.count("s3", "buckets", len(regions))

    for name, region in regions.items():
        bucket_context = context.with_home_region(region) if region else context
        arn = s3_bucket_arn(name, context.partition)
        for operation, file_name, none_code, setting in BUCKET_CALLS:
            outcome = bucket_context.call(
                "s3",
                operation,
                subject=f"{setting} of bucket {name}",
                resource=arn,
                absent=(none_code,),
                Bucket=name,
            )
            data = outcome.data
            if operation == "GetBucketTagging" and outcome.status is Status.ABSENT:
                # An untagged bucket: record that it has no tags, as the snapshot format requires.
                data = {"TagSet": []}
            written = context.write(("s3", name, file_name), data, service="s3", operation=operation)
            if written and operation == "GetBucketPolicy":
                context.log.count("s3", "bucket policies")
