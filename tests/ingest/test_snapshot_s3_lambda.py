"""Snapshot reader: S3 buckets with policies and tags, Lambda functions with resource policies."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from engine.inventory import Bucket, LambdaFunction
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]

ACCOUNT = "111122223333"
REGION = "us-east-1"

HR_BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AgentRead",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-hr-policies/*",
        }
    ],
}

# A statement as `aws lambda add-permission` writes it.
ADD_PERMISSION_POLICY = {
    "Version": "2012-10-17",
    "Id": "default",
    "Statement": [
        {
            "Sid": "bedrock-agent-invoke",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hr-policy-lookup",
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                "ArnLike": {"AWS:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/AGENT12345"},
            },
        }
    ],
}

# A full resource-based policy with two statements and a list of principals.
FULL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AnyBedrockAgent",
            "Effect": "Allow",
            "Principal": {"Service": ["bedrock.amazonaws.com"]},
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:infra-provisioner",
        },
        {
            "Sid": "OpsAccount",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
            "Action": ["lambda:InvokeFunction", "lambda:GetFunction"],
            "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:infra-provisioner",
        },
    ],
}


def s3_files() -> dict[str, Any]:
    return {
        f"{ACCOUNT}/s3/buckets.json": {
            "Buckets": [
                {
                    "Name": "acme-hr-policies",
                    "CreationDate": "2024-01-10T08:00:00+00:00",
                    "BucketRegion": "us-east-1",
                },
                {"Name": "acme-public-assets", "CreationDate": "2024-01-11T08:00:00+00:00"},
                {
                    "Name": "acme-scratch",
                    "CreationDate": "2024-01-12T08:00:00+00:00",
                    "BucketRegion": "eu-west-1",
                },
            ],
            "Owner": {"ID": "1a2b3c4d5e6f"},
            "Prefix": None,
        },
        f"{ACCOUNT}/s3/acme-hr-policies/policy.json": {"Policy": json.dumps(HR_BUCKET_POLICY)},
        f"{ACCOUNT}/s3/acme-hr-policies/tagging.json": {
            "TagSet": [
                {"Key": "data-classification", "Value": "confidential"},
                {"Key": "owner", "Value": "hr"},
            ]
        },
        f"{ACCOUNT}/s3/acme-public-assets/tagging.json": {"TagSet": []},
    }


def lambda_files() -> dict[str, Any]:
    base = f"{ACCOUNT}/{REGION}/lambda"
    return {
        f"{base}/functions.json": {
            "Functions": [
                {
                    "FunctionName": "hr-policy-lookup",
                    "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hr-policy-lookup",
                    "Runtime": "python3.12",
                    "Role": f"arn:aws:iam::{ACCOUNT}:role/hr-policy-lookup-role",
                    "Handler": "app.handler",
                    "CodeSize": 1024,
                    "Timeout": 30,
                    "MemorySize": 256,
                    "LastModified": "2024-06-01T10:00:00.000+0000",
                    "Version": "$LATEST",
                    "PackageType": "Zip",
                    "Architectures": ["arm64"],
                },
                {
                    "FunctionName": "infra-provisioner",
                    "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:infra-provisioner",
                    "Role": f"arn:aws:iam::{ACCOUNT}:role/infra-admin",
                    "PackageType": "Image",
                },
                {
                    "FunctionName": "nightly-report",
                    "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nightly-report",
                    "Runtime": "nodejs20.x",
                    "Role": f"arn:aws:iam::{ACCOUNT}:role/report-role",
                },
            ]
        },
        f"{base}/hr-policy-lookup/policy.json": {
            "Policy": json.dumps(ADD_PERMISSION_POLICY),
            "RevisionId": "4c5a2f0e-0000-4000-8000-000000000001",
        },
        f"{base}/infra-provisioner/policy.json": {
            "Policy": json.dumps(FULL_POLICY),
            "RevisionId": "4c5a2f0e-0000-4000-8000-000000000002",
        },
    }


def test_load_snapshot_buckets(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(s3_files())

    inventory = load_snapshot(root).accounts[ACCOUNT]

    assert inventory.coverage == {"s3"}
    assert inventory.buckets == {
        "arn:aws:s3:::acme-hr-policies": Bucket(
            name="acme-hr-policies",
            arn="arn:aws:s3:::acme-hr-policies",
            account=ACCOUNT,
            region="us-east-1",
            policy=HR_BUCKET_POLICY,
            tags={"data-classification": "confidential", "owner": "hr"},
            tags_known=True,
        ),
        "arn:aws:s3:::acme-public-assets": Bucket(
            name="acme-public-assets",
            arn="arn:aws:s3:::acme-public-assets",
            account=ACCOUNT,
            region=None,
            policy=None,
            tags={},
            tags_known=True,
        ),
        "arn:aws:s3:::acme-scratch": Bucket(
            name="acme-scratch",
            arn="arn:aws:s3:::acme-scratch",
            account=ACCOUNT,
            region="eu-west-1",
            policy=None,
            tags={},
            tags_known=False,
        ),
    }


def test_load_snapshot_bucket_folder_not_listed(
    write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture
) -> None:
    files = s3_files()
    files[f"{ACCOUNT}/s3/deleted-bucket/policy.json"] = {"Policy": json.dumps(HR_BUCKET_POLICY)}
    root = write_snapshot(files)
    caplog.set_level(logging.WARNING)

    inventory = load_snapshot(root).accounts[ACCOUNT]

    assert "arn:aws:s3:::deleted-bucket" not in inventory.buckets
    assert [record.getMessage() for record in caplog.records] == [
        f"ignoring {ACCOUNT}/s3/deleted-bucket: not a bucket listed in {ACCOUNT}/s3/buckets.json"
    ]


def test_load_snapshot_lambda_policies(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(lambda_files())

    inventory = load_snapshot(root).accounts[ACCOUNT]

    assert inventory.coverage == {f"lambda:{REGION}"}
    prefix = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    assert inventory.functions == {
        f"{prefix}:hr-policy-lookup": LambdaFunction(
            arn=f"{prefix}:hr-policy-lookup",
            name="hr-policy-lookup",
            account=ACCOUNT,
            region=REGION,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/hr-policy-lookup-role",
            policy=ADD_PERMISSION_POLICY,
            runtime="python3.12",
        ),
        f"{prefix}:infra-provisioner": LambdaFunction(
            arn=f"{prefix}:infra-provisioner",
            name="infra-provisioner",
            account=ACCOUNT,
            region=REGION,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/infra-admin",
            policy=FULL_POLICY,
            runtime=None,
        ),
        f"{prefix}:nightly-report": LambdaFunction(
            arn=f"{prefix}:nightly-report",
            name="nightly-report",
            account=ACCOUNT,
            region=REGION,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/report-role",
            policy=None,
            runtime="nodejs20.x",
        ),
    }


def test_lambda_function_in_wrong_region_folder(write_snapshot: SnapshotWriter) -> None:
    files = lambda_files()
    listing = files[f"{ACCOUNT}/{REGION}/lambda/functions.json"]
    listing["Functions"][2]["FunctionArn"] = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:nightly-report"
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{ACCOUNT}/{REGION}/lambda/functions.json"
    assert caught.value.field == "Functions[2].FunctionArn"
    assert "region eu-west-1" in caught.value.message


def test_lambda_policy_not_json(write_snapshot: SnapshotWriter) -> None:
    files = lambda_files()
    files[f"{ACCOUNT}/{REGION}/lambda/hr-policy-lookup/policy.json"] = {"Policy": "{'Version':"}
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{ACCOUNT}/{REGION}/lambda/hr-policy-lookup/policy.json"
    assert caught.value.field == "Policy"
    assert "neither JSON nor URL-encoded JSON" in caught.value.message
