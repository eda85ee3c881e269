"""The `manifest.json` of a collected snapshot: when, from where, what, and every gap.

docs/snapshot-format.md describes each field. The reader rejects `"status": "incomplete"`,
which the staging folder carries until the collection finishes.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import botocore

from ingest.collect.gaps import CollectionLog
from ingest.collect.organizations import OrganizationResult

FORMAT_VERSION = 1


def incomplete_manifest(started: str) -> dict[str, Any]:
    """Return the manifest a staging folder carries while the collection runs."""
    return {"format_version": FORMAT_VERSION, "status": "incomplete", "collector": {"started_at": started}}


def build_manifest(
    *,
    started: str,
    finished: str,
    partition: str,
    caller_arn: str,
    requested_regions: tuple[str, ...] | None,
    accounts: list[dict[str, Any]],
    organization: OrganizationResult,
    log: CollectionLog,
) -> dict[str, Any]:
    """Return the manifest of a finished collection."""
    return {
        "format_version": FORMAT_VERSION,
        "status": "complete",
        "collected_at": finished,
        "partition": partition,
        "collector": {
            "name": "deputy collect",
            "version": _version("deputygraph"),
            "botocore": botocore.__version__,
            "started_at": started,
            "finished_at": finished,
            "caller_arn": caller_arn,
        },
        "requested_regions": list(requested_regions) if requested_regions is not None else "all",
        "accounts": accounts,
        "organization": {
            "status": organization.status.value,
            "organization_id": organization.organization_id,
            "management_account_id": organization.management_account_id,
        },
        "counts": log.counts,
        "unavailable": [entry.to_json() for entry in log.unavailable],
        "gaps": [gap.to_json() for gap in log.gaps],
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
