"""Snapshot reader: the folder walk, the manifest, several accounts, coverage and not-seen gaps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]

HR_ACCOUNT = "111122223333"
DATA_ACCOUNT = "444455556666"


def iam_details(account: str, role_name: str) -> dict[str, Any]:
    """Authorization details holding one role that Lambda may assume."""
    return {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": role_name,
                "RoleId": f"AROA{account}",
                "Arn": f"arn:aws:iam::{account}:role/{role_name}",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
        "Policies": [],
        "IsTruncated": False,
    }


def function_list(account: str, region: str, name: str) -> dict[str, Any]:
    return {
        "Functions": [
            {
                "FunctionName": name,
                "FunctionArn": f"arn:aws:lambda:{region}:{account}:function:{name}",
                "Runtime": "python3.12",
                "Role": f"arn:aws:iam::{account}:role/{name}-role",
                "Handler": "app.handler",
            }
        ]
    }


def test_load_snapshot_multi_account(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {
            "manifest.json": {
                "format_version": 1,
                "collected_at": "2025-01-31T12:00:00Z",
                "partition": "aws",
            },
            f"{HR_ACCOUNT}/iam/authorization-details.json": iam_details(HR_ACCOUNT, "hr-lookup"),
            f"{HR_ACCOUNT}/s3/buckets.json": {"Buckets": [], "Owner": {"ID": "abc"}},
            f"{HR_ACCOUNT}/us-east-1/lambda/functions.json": function_list(HR_ACCOUNT, "us-east-1", "hr-lookup"),
            f"{HR_ACCOUNT}/eu-west-1/cloudtrail/trails.json": {"trailList": []},
            f"{DATA_ACCOUNT}/iam/authorization-details.json": iam_details(DATA_ACCOUNT, "data-export"),
        }
    )

    snapshot = load_snapshot(root)

    assert snapshot.path == str(root)
    assert snapshot.collected_at == "2025-01-31T12:00:00Z"
    assert list(snapshot.accounts) == [HR_ACCOUNT, DATA_ACCOUNT]
    hr = snapshot.accounts[HR_ACCOUNT]
    data = snapshot.accounts[DATA_ACCOUNT]
    assert hr.coverage == {"iam", "s3", "lambda:us-east-1", "cloudtrail:eu-west-1"}
    assert data.coverage == {"iam"}
    assert list(hr.roles) == [f"arn:aws:iam::{HR_ACCOUNT}:role/hr-lookup"]
    assert list(data.roles) == [f"arn:aws:iam::{DATA_ACCOUNT}:role/data-export"]
    assert hr.roles[f"arn:aws:iam::{HR_ACCOUNT}:role/hr-lookup"].account == HR_ACCOUNT
    assert list(hr.functions) == [f"arn:aws:lambda:us-east-1:{HR_ACCOUNT}:function:hr-lookup"]
    assert snapshot.not_seen == [
        f"no Lambda data for account {HR_ACCOUNT} in eu-west-1: "
        "function roles and resource-based policies not analysed",
        f"no Bedrock agent data for account {HR_ACCOUNT}: agents, aliases and knowledge bases not analysed",
        f"no Bedrock guardrail data for account {HR_ACCOUNT}: guardrails not analysed",
        f"no CloudTrail data for account {HR_ACCOUNT} in us-east-1: "
        "whether agent and Lambda activity is logged not analysed",
        f"no S3 data for account {DATA_ACCOUNT}: bucket policies and tags not analysed",
        f"no Lambda data for account {DATA_ACCOUNT}: function roles and resource-based policies not analysed",
        f"no Bedrock agent data for account {DATA_ACCOUNT}: agents, aliases and knowledge bases not analysed",
        f"no Bedrock guardrail data for account {DATA_ACCOUNT}: guardrails not analysed",
        f"no CloudTrail data for account {DATA_ACCOUNT}: whether agent and Lambda activity is logged not analysed",
        "no organization data: SCPs and RCPs not analysed",
    ]


def test_load_snapshot_partition_from_manifest(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {
            "manifest.json": {"format_version": 1, "partition": "aws-cn"},
            f"{HR_ACCOUNT}/s3/buckets.json": {"Buckets": [{"Name": "hr-docs", "BucketRegion": "cn-north-1"}]},
        }
    )

    snapshot = load_snapshot(root)

    assert snapshot.partition == "aws-cn"
    assert list(snapshot.accounts[HR_ACCOUNT].buckets) == ["arn:aws-cn:s3:::hr-docs"]


def test_load_snapshot_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(missing)

    assert caught.value.path == str(missing)
    assert "does not exist" in caught.value.message


def test_load_snapshot_path_is_file(tmp_path: Path) -> None:
    file = tmp_path / "snapshot.json"
    file.write_text("{}", encoding="utf-8")

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(str(file))

    assert caught.value.path == str(file)
    assert "is a file, not a folder" in caught.value.message


def test_load_snapshot_no_account_folder(write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture) -> None:
    root = write_snapshot({"manifest.json": {"format_version": 1}, "notes/readme.json": {}, "12345/x.json": {}})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == str(root)
    assert "no account folder" in caught.value.message
    assert "ignoring 12345: not manifest.json" in caplog.text


def test_load_snapshot_organization_only(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {"organization/organization.json": {"Organization": {"Id": "o-a1b2c3d4e5", "MasterAccountId": "999988887777"}}}
    )

    snapshot = load_snapshot(root)

    assert snapshot.accounts == {}
    assert snapshot.organization is not None
    assert snapshot.organization.organization_id == "o-a1b2c3d4e5"


def test_load_snapshot_unknown_entries_warned(write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture) -> None:
    root = write_snapshot(
        {
            "README.md": "notes",
            "notes.json": {},
            f"{HR_ACCOUNT}/iam/authorization-details.json": iam_details(HR_ACCOUNT, "hr-lookup"),
            f"{HR_ACCOUNT}/iam/credential-report.csv": "user,arn",
            f"{HR_ACCOUNT}/ec2/instances.json": {},
            f"{HR_ACCOUNT}/us-east-1/sqs/queues.json": {},
        }
    )
    caplog.set_level(logging.WARNING)

    snapshot = load_snapshot(root)

    assert snapshot.accounts[HR_ACCOUNT].coverage == {"iam"}
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings == [
        "ignoring notes.json: not manifest.json, an account folder or the organization folder",
        f"ignoring {HR_ACCOUNT}/iam/credential-report.csv: not a file deputygraph reads",
        f"ignoring {HR_ACCOUNT}/ec2: not iam/, s3/ or a region folder such as us-east-1",
        f"ignoring {HR_ACCOUNT}/us-east-1/sqs: not a service folder deputygraph reads",
    ]


@pytest.mark.parametrize(
    ("manifest", "field", "message"),
    [
        ({"format_version": 2}, "format_version", "format version 2 is not supported"),
        ({"partition": "aws-mars"}, "partition", "unknown partition 'aws-mars'"),
        ({"collected_at": "last Tuesday"}, "collected_at", "is not an ISO-8601 time"),
        ({"format_version": "1"}, "format_version", "expected an integer, got a string"),
    ],
)
def test_manifest_invalid_value(
    write_snapshot: SnapshotWriter, manifest: dict[str, Any], field: str, message: str
) -> None:
    root = write_snapshot(
        {
            "manifest.json": manifest,
            f"{HR_ACCOUNT}/iam/authorization-details.json": iam_details(HR_ACCOUNT, "r"),
        }
    )

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == "manifest.json"
    assert caught.value.field == field
    assert message in caught.value.message
