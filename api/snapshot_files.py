"""The snapshot file that contains a finding's evidence, for SARIF's physical locations.

Paths follow the snapshot layout that `ingest.snapshot` reads: `ACCOUNT/iam/`,
`ACCOUNT/s3/BUCKET/`, `ACCOUNT/REGION/lambda/FUNCTION/`, `ACCOUNT/REGION/bedrock-agent/
agents/AGENT_ID/` and `ACCOUNT/REGION/cloudtrail/TRAIL/`. A path is returned only when the
file exists, and `manifest.json` when no candidate does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

FALLBACK = "manifest.json"


def _arn_parts(arn: str) -> tuple[str, str, str, str] | None:
    """Split an ARN into service, region, account and resource, or return None."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[2], parts[3], parts[4], parts[5]


def _account_dirs(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and entry.name.isdigit())


def _candidates(root: Path, arn: str) -> Iterator[str]:
    """Yield the relative paths that may contain the data behind a finding about one ARN, best first."""
    base, _, suffix = arn.partition("#")
    parts = _arn_parts(base)
    if parts is None:
        return
    service, region, account, resource = parts
    if service == "iam" or suffix.startswith("inline:"):
        yield f"{account}/iam/authorization-details.json"
    elif service == "s3":
        bucket = resource.split("/", 1)[0]
        for owner in _account_dirs(root):
            yield f"{owner}/s3/{bucket}/policy.json"
            yield f"{owner}/s3/buckets.json"
    elif service == "lambda":
        name = resource.split(":")[1] if resource.startswith("function:") else resource
        yield f"{account}/{region}/lambda/{name}/policy.json"
        yield f"{account}/{region}/lambda/functions.json"
    elif service == "bedrock" and resource.startswith(("agent/", "agent-alias/")):
        agent_id = resource.split("/")[1]
        folder = f"{account}/{region}/bedrock-agent/agents/{agent_id}"
        if resource.startswith("agent-alias/"):
            yield f"{folder}/aliases.json"
        yield f"{folder}/agent.json"
    elif service == "cloudtrail" and resource.startswith("trail/"):
        # An organization trail belongs to the management account but is listed in each member's folder.
        for owner in [account, *_account_dirs(root)]:
            yield f"{owner}/{region}/cloudtrail/{resource.split('/', 1)[1]}/event-selectors.json"


def evidence_file(root: Path, resources: Iterable[str], evidence: Iterable[Mapping[str, Any]]) -> str:
    """Return the snapshot file, relative to `root` and with `/` separators, that contains a finding's evidence.

    The policies of the evidence statements come first, then the ARNs that evidence settings
    start with (a trail's event selectors), then the finding's resources in order.
    """
    items = list(evidence)
    arns = [str(item["policy"]) for item in items if item.get("policy")]
    arns += [
        str(item["setting"]).split(" ", 1)[0] for item in items if str(item.get("setting") or "").startswith("arn:")
    ]
    arns += list(resources)
    for arn in arns:
        for candidate in _candidates(root, arn):
            if (root / candidate).is_file():
                return candidate
    return FALLBACK
