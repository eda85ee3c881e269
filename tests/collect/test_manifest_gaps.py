"""Reading the collection gaps of manifest.json, and marking the results that depend on them.

Uses a copy of the bundled example with gaps written into its manifest, as `deputy
collect` writes them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from api.cli import run
from engine.errors import SnapshotError
from engine.graph import build_graph
from ingest.snapshot import load_snapshot
from queries import embedded

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
BUCKET_POLICY_GAP = {
    "account": ACCOUNT,
    "region": None,
    "service": "s3",
    "operation": "GetBucketPolicy",
    "action": "s3:GetBucketPolicy",
    "resource": HR_BUCKET,
    "cause": "access-denied",
    "error_code": "AccessDenied",
    "message": "User: arn:aws:sts::111122223333:assumed-role/reader/collect is not authorized",
    "subject": "the bucket policy of bucket acme-hr-policies",
}
ORGANIZATION_GAP = {
    "account": None,
    "region": None,
    "service": "organizations",
    "operation": "ListPolicies",
    "action": "organizations:ListPolicies",
    "resource": None,
    "cause": "scp",
    "error_code": "AccessDeniedException",
    "message": "with an explicit deny in a service control policy",
    "subject": "the organization's SCPs",
}


def example_with_manifest(tmp_path: Path, manifest: dict[str, Any]) -> Path:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def manifest_with(*gaps: dict[str, Any]) -> dict[str, Any]:
    return {"format_version": 1, "status": "complete", "partition": "aws", "gaps": list(gaps)}


def test_loader_reads_gaps(tmp_path: Path) -> None:
    snapshot = load_snapshot(example_with_manifest(tmp_path, manifest_with(BUCKET_POLICY_GAP)))
    assert len(snapshot.gaps) == 1
    gap = snapshot.gaps[0]
    assert (gap.account, gap.region, gap.resource, gap.cause) == (ACCOUNT, None, HR_BUCKET, "access-denied")
    assert gap.sentence() == (
        "not analysed: the bucket policy of bucket acme-hr-policies in account 111122223333: "
        "GetBucketPolicy failed with AccessDenied"
    )


def test_loader_rejects_incomplete_collection(tmp_path: Path) -> None:
    root = example_with_manifest(tmp_path, {"format_version": 1, "status": "incomplete"})
    with pytest.raises(SnapshotError, match="did not finish"):
        load_snapshot(root)


def test_loader_rejects_gap_with_bad_account(tmp_path: Path) -> None:
    root = example_with_manifest(tmp_path, manifest_with({**BUCKET_POLICY_GAP, "account": "1111"}))
    with pytest.raises(SnapshotError, match=r"gaps\[0\]\.account"):
        load_snapshot(root)


def test_bucket_gap_marks_only_paths_to_bucket(tmp_path: Path) -> None:
    deputy = build_graph(load_snapshot(example_with_manifest(tmp_path, manifest_with(BUCKET_POLICY_GAP))))
    result = embedded.analyze(deputy)
    assert result["collection_gaps"] == [
        "not analysed: the bucket policy of bucket acme-hr-policies in account 111122223333: "
        "GetBucketPolicy failed with AccessDenied"
    ]
    marked = {(path["to"], tuple(path["depends_on_gaps"])) for path in result["confused_deputy_paths"]}
    to_bucket = {entry for entry in marked if entry[0] == HR_BUCKET}
    elsewhere = {entry for entry in marked if entry[0] != HR_BUCKET}
    assert to_bucket == {(HR_BUCKET, (0,))}
    assert elsewhere
    assert all(depends == () for _, depends in elsewhere)


def test_organization_gap_marks_every_path(tmp_path: Path) -> None:
    deputy = build_graph(load_snapshot(example_with_manifest(tmp_path, manifest_with(ORGANIZATION_GAP))))
    result = embedded.analyze(deputy)
    assert result["confused_deputy_paths"]
    assert all(path["depends_on_gaps"] == [0] for path in result["confused_deputy_paths"])
    blast_radius = [path for entry in result["invokers"] for path in entry["blast_radius"]]
    assert all(path["depends_on_gaps"] == [0] for path in blast_radius)


def test_gap_without_resource_marks_its_region(tmp_path: Path) -> None:
    lambda_gap = {
        **BUCKET_POLICY_GAP,
        "region": "us-east-1",
        "service": "lambda",
        "operation": "ListFunctions",
        "action": "lambda:ListFunctions",
        "resource": None,
        "subject": "Lambda functions",
    }
    other_region = {**lambda_gap, "region": "eu-west-1"}
    deputy = build_graph(load_snapshot(example_with_manifest(tmp_path, manifest_with(lambda_gap, other_region))))
    result = embedded.analyze(deputy)
    # Every confused-deputy path runs through the agents in us-east-1, none through eu-west-1.
    assert {tuple(path["depends_on_gaps"]) for path in result["confused_deputy_paths"]} == {(0,)}


def test_analyze_prints_gaps_and_marks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = example_with_manifest(tmp_path, manifest_with(BUCKET_POLICY_GAP))
    assert run(["analyze", str(root)]) == 0
    output = capsys.readouterr().out
    assert (
        "  #1: not analysed: the bucket policy of bucket acme-hr-policies in account 111122223333: "
        "GetBucketPolicy failed with AccessDenied"
    ) in output
    assert (
        "read acme-hr-policies (S3Bucket)  [agent-knowledge-base]  CONFUSED DEPUTY, depends on collection gaps #1"
        in (output)
    )
