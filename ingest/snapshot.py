"""Load a snapshot folder of saved AWS CLI output into a `Snapshot`.

A snapshot contains an optional `manifest.json`, one folder per account (named by its
12-digit id) and an optional `organization/` folder. docs/snapshot-format.md gives
the full layout. This module walks the folders and hands each service folder to its
module in `ingest/`. A snapshot may hold any subset of the services: what is absent
is recorded in `AccountInventory.coverage` and, as a sentence, in `Snapshot.not_seen`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.arn import DEFAULT_PARTITION, PARTITIONS, is_account_id
from engine.errors import SnapshotError
from engine.inventory import AccountInventory, CollectionGap, Snapshot
from ingest.bedrock import load_bedrock, load_bedrock_agent
from ingest.cloudtrail import load_cloudtrail, note_unknown_selectors
from ingest.iam import load_iam
from ingest.jsonfile import EntryKind, JsonObject, SnapshotReader, inspect_entry, read_json
from ingest.lambda_functions import load_lambda
from ingest.organizations import load_organization
from ingest.s3 import load_s3

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_EXAMPLE = 'a JSON object such as {"format_version": 1, "partition": "aws"}'
ORGANIZATION_FOLDER = "organization"
FORMAT_VERSION = 1
# The manifest status of a staging folder whose collection has not finished.
INCOMPLETE = "incomplete"
# Region codes such as us-east-1, eu-central-2, us-gov-west-1 and cn-northwest-1.
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True, slots=True)
class RegionalService:
    """A service folder under `<account>/<region>/` and the loader that reads it.

    `load` returns whether the folder contained the data that counts as coverage.
    `consequence` completes the not-seen sentence when the service is absent.
    """

    folder: str
    title: str
    consequence: str
    load: Callable[[SnapshotReader, Path, AccountInventory, str], bool]


# The regional services, loaded in this order for each region folder. No loader reads
# another's records, so the order only fixes the order of log lines.
REGIONAL_SERVICES: tuple[RegionalService, ...] = (
    RegionalService("lambda", "Lambda", "function roles and resource-based policies not analysed", load_lambda),
    RegionalService(
        "bedrock-agent",
        "Bedrock agent",
        "agents, aliases and knowledge bases not analysed",
        load_bedrock_agent,
    ),
    RegionalService("bedrock", "Bedrock guardrail", "guardrails not analysed", load_bedrock),
    RegionalService(
        "cloudtrail",
        "CloudTrail",
        "whether agent and Lambda activity is logged not analysed",
        load_cloudtrail,
    ),
)


def load_snapshot(path: str | Path) -> Snapshot:
    """Read the snapshot folder at `path` into a Snapshot.

    Raise SnapshotError naming the file and field at fault when a file is not JSON,
    lacks a required field or has the wrong shape, or when `path` is not a snapshot.
    """
    root = Path(path)
    entry = inspect_entry(root)
    if entry.kind is not EntryKind.FOLDER:
        problems = {EntryKind.ABSENT: "does not exist", EntryKind.FILE: "is a file, not a folder"}
        raise SnapshotError(
            str(root),
            f"snapshot folder {problems.get(entry.kind, entry.problem)}; pass the folder that holds the "
            "account folders and manifest.json",
        )

    partition, collected_at, gaps = _read_manifest(root)
    reader = SnapshotReader(root=root, partition=partition)
    account_dirs, organization_dir = _top_level_folders(reader)
    if not account_dirs and organization_dir is None:
        raise SnapshotError(
            str(root),
            "the folder holds no account folder (named by a 12-digit account id) and no "
            "organization folder; point deputygraph at the snapshot root",
        )

    snapshot = Snapshot(path=str(root), partition=partition, collected_at=collected_at, gaps=gaps)
    for account_dir in account_dirs:
        snapshot.accounts[account_dir.name] = _load_account(reader, account_dir)
    if organization_dir is not None:
        snapshot.organization = load_organization(reader, organization_dir)
    else:
        reader.not_seen.append("no organization data: SCPs and RCPs not analysed")
    snapshot.not_seen.extend(reader.not_seen)

    logger.info(
        "loaded snapshot %s: %d accounts, organization %s, %d gaps",
        root,
        len(snapshot.accounts),
        "present" if snapshot.organization else "absent",
        len(snapshot.not_seen),
    )
    return snapshot


DOCUMENT_SUFFIXES = frozenset({".md", ".txt", ".rst"})


def _read_manifest(root: Path) -> tuple[str, str | None, tuple[CollectionGap, ...]]:
    """Return the partition, collection time and collection gaps from manifest.json, or the defaults."""
    path = root / MANIFEST
    if inspect_entry(path).kind is EntryKind.ABSENT:
        return DEFAULT_PARTITION, None, ()
    manifest = JsonObject.top_level(read_json(root, path, MANIFEST_EXAMPLE), MANIFEST)

    status = manifest.optional_str("status")
    if status == INCOMPLETE:
        raise manifest.error(
            "status",
            "the collection that wrote this folder did not finish, so files may be missing; run deputy collect again",
        )

    version = manifest.optional_int("format_version")
    if version is not None and version != FORMAT_VERSION:
        raise manifest.error(
            "format_version",
            f"format version {version} is not supported; this deputygraph reads format {FORMAT_VERSION}",
        )

    partition = manifest.optional_str("partition") or DEFAULT_PARTITION
    if partition not in PARTITIONS:
        raise manifest.error(
            "partition",
            f"unknown partition {partition!r}; expected one of {', '.join(sorted(PARTITIONS))}",
        )

    collected_at = manifest.optional_str("collected_at")
    if collected_at is not None:
        try:
            datetime.fromisoformat(collected_at)
        except ValueError as error:
            raise manifest.error(
                "collected_at",
                f"{collected_at!r} is not an ISO-8601 time; write it like 2025-01-31T12:00:00Z",
            ) from error
    return partition, collected_at, _read_gaps(manifest)


def _read_gaps(manifest: JsonObject) -> tuple[CollectionGap, ...]:
    """Read the `gaps` that deputy collect records: calls that failed, so their data is unknown."""
    gaps = []
    for item in manifest.optional_objects("gaps"):
        account = item.optional_str("account")
        if account is not None and not is_account_id(account):
            raise item.error("account", f"{account!r} is not a 12-digit account id; use null for the organization")
        gaps.append(
            CollectionGap(
                service=item.require_str("service"),
                operation=item.require_str("operation"),
                subject=item.require_str("subject"),
                error_code=item.require_str("error_code"),
                cause=item.require_str("cause"),
                account=account,
                region=item.optional_str("region"),
                resource=item.optional_str("resource"),
            )
        )
    if gaps:
        logger.warning("%s records %d collection gaps; results that depend on them are marked", MANIFEST, len(gaps))
    return tuple(gaps)


def _top_level_folders(reader: SnapshotReader) -> tuple[list[Path], Path | None]:
    account_dirs = []
    organization_dir = None
    for entry in reader.list_folder(reader.root):
        if entry.name == MANIFEST:
            continue
        if is_account_id(entry.name) and reader.folder_exists(entry):
            account_dirs.append(entry)
        elif entry.name == ORGANIZATION_FOLDER and reader.folder_exists(entry):
            organization_dir = entry
        elif entry.is_file() and entry.suffix.lower() in DOCUMENT_SUFFIXES:
            # A snapshot may carry its own README or NOTICE; those are for people.
            logger.debug("skipping %s: a document, not AWS output", reader.label(entry))
        else:
            logger.warning(
                "ignoring %s: not manifest.json, an account folder or the organization folder",
                reader.label(entry),
            )
    return account_dirs, organization_dir


def _load_account(reader: SnapshotReader, account_dir: Path) -> AccountInventory:
    inventory = AccountInventory(account_id=account_dir.name)
    iam_dir = account_dir / "iam"
    if reader.folder_exists(iam_dir) and load_iam(reader, iam_dir, inventory):
        inventory.coverage.add("iam")
    s3_dir = account_dir / "s3"
    if reader.folder_exists(s3_dir) and load_s3(reader, s3_dir, inventory):
        inventory.coverage.add("s3")

    regions = []
    for entry in reader.list_folder(account_dir):
        if entry.name in ("iam", "s3"):
            continue
        if _REGION_NAME.match(entry.name) and reader.folder_exists(entry):
            regions.append(entry.name)
            _load_region(reader, entry, inventory)
        else:
            logger.warning(
                "ignoring %s: not iam/, s3/ or a region folder such as us-east-1",
                reader.label(entry),
            )

    note_unknown_selectors(reader, inventory)
    _note_account_gaps(reader, inventory, regions)
    return inventory


def _load_region(reader: SnapshotReader, region_dir: Path, inventory: AccountInventory) -> None:
    region = region_dir.name
    for service in REGIONAL_SERVICES:
        folder = region_dir / service.folder
        if reader.folder_exists(folder) and service.load(reader, folder, inventory, region):
            inventory.coverage.add(f"{service.folder}:{region}")
    known = {service.folder for service in REGIONAL_SERVICES}
    for path in reader.unknown_entries(region_dir, known):
        logger.warning("ignoring %s: not a service folder deputygraph reads", reader.label(path))


def _note_account_gaps(reader: SnapshotReader, inventory: AccountInventory, regions: list[str]) -> None:
    account = inventory.account_id
    if "iam" not in inventory.coverage:
        reader.not_seen.append(
            f"no IAM data for account {account}: users, groups, roles and their policies not analysed"
        )
    if "s3" not in inventory.coverage:
        reader.not_seen.append(f"no S3 data for account {account}: bucket policies and tags not analysed")
    for service in REGIONAL_SERVICES:
        missing = [region for region in regions if f"{service.folder}:{region}" not in inventory.coverage]
        if len(missing) == len(regions):
            reader.not_seen.append(f"no {service.title} data for account {account}: {service.consequence}")
        elif missing:
            reader.not_seen.append(
                f"no {service.title} data for account {account} in {', '.join(missing)}: {service.consequence}"
            )
