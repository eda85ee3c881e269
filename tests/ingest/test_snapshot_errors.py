"""Snapshot reader: for every file kind, invalid JSON, a missing field and a wrong shape are rejected.

Each case starts from one complete, valid snapshot, breaks one file and checks that
SnapshotError names that file and the field, both as attributes and in its message.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]
JsonPath = tuple[str | int, ...]

A = "111122223333"
R = "us-east-1"
AGENT = f"{A}/{R}/bedrock-agent/agents/AGENT12345"
KB = f"{A}/{R}/bedrock-agent/knowledge-bases/KBHRDOCS01"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def valid_snapshot() -> dict[str, Any]:
    """A snapshot with one file of every kind that deputygraph reads."""
    return {
        "manifest.json": {
            "format_version": 1,
            "collected_at": "2025-01-31T12:00:00Z",
            "partition": "aws",
        },
        f"{A}/iam/authorization-details.json": {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [
                {
                    "Path": "/",
                    "RoleName": "agent-role",
                    "RoleId": "AROAEXAMPLE000000001",
                    "Arn": f"arn:aws:iam::{A}:role/agent-role",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "bedrock.amazonaws.com"},
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
        },
        f"{A}/iam/policies/Boundary.json": {
            "Policy": {
                "PolicyName": "Boundary",
                "Arn": f"arn:aws:iam::{A}:policy/Boundary",
                "Path": "/",
                "DefaultVersionId": "v1",
            },
            "PolicyVersion": {"Document": ALLOW_ALL, "VersionId": "v1", "IsDefaultVersion": True},
        },
        f"{A}/s3/buckets.json": {
            "Buckets": [{"Name": "hr-docs", "BucketRegion": R}],
            "Owner": {"ID": "abc"},
        },
        f"{A}/s3/hr-docs/policy.json": {
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{A}:role/agent-role"},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::hr-docs/*",
                        }
                    ],
                }
            )
        },
        f"{A}/s3/hr-docs/tagging.json": {"TagSet": [{"Key": "owner", "Value": "hr"}]},
        f"{A}/{R}/lambda/functions.json": {
            "Functions": [
                {
                    "FunctionName": "lookup",
                    "FunctionArn": f"arn:aws:lambda:{R}:{A}:function:lookup",
                    "Runtime": "python3.12",
                    "Role": f"arn:aws:iam::{A}:role/lookup-role",
                }
            ]
        },
        f"{A}/{R}/lambda/lookup/policy.json": {
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Id": "default",
                    "Statement": [
                        {
                            "Sid": "agent",
                            "Effect": "Allow",
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Action": "lambda:InvokeFunction",
                            "Resource": f"arn:aws:lambda:{R}:{A}:function:lookup",
                        }
                    ],
                }
            ),
            "RevisionId": "rev-1",
        },
        f"{AGENT}/agent.json": {
            "agent": {
                "agentArn": f"arn:aws:bedrock:{R}:{A}:agent/AGENT12345",
                "agentId": "AGENT12345",
                "agentName": "hr",
                "agentResourceRoleArn": f"arn:aws:iam::{A}:role/agent-role",
                "agentStatus": "PREPARED",
                "agentVersion": "DRAFT",
            }
        },
        f"{AGENT}/aliases.json": {
            "agentAliasSummaries": [
                {
                    "agentAliasId": "PRODALIAS1",
                    "agentAliasName": "prod",
                    "agentAliasStatus": "PREPARED",
                    "routingConfiguration": [{"agentVersion": "1"}],
                }
            ]
        },
        f"{AGENT}/versions/1/agent-version.json": {
            "agentVersion": {
                "agentArn": f"arn:aws:bedrock:{R}:{A}:agent/AGENT12345",
                "agentId": "AGENT12345",
                "agentName": "hr",
                "agentResourceRoleArn": f"arn:aws:iam::{A}:role/agent-role",
                "agentStatus": "PREPARED",
                "version": "1",
                "guardrailConfiguration": {"guardrailIdentifier": "gr1", "guardrailVersion": "1"},
            }
        },
        f"{AGENT}/versions/1/action-groups/AGLOOKUP01.json": {
            "agentActionGroup": {
                "actionGroupId": "AGLOOKUP01",
                "actionGroupName": "lookup",
                "actionGroupState": "ENABLED",
                "agentId": "AGENT12345",
                "agentVersion": "1",
                "actionGroupExecutor": {"lambda": f"arn:aws:lambda:{R}:{A}:function:lookup"},
            }
        },
        f"{AGENT}/versions/1/knowledge-bases.json": {
            "agentKnowledgeBaseSummaries": [{"knowledgeBaseId": "KBHRDOCS01", "knowledgeBaseState": "ENABLED"}]
        },
        f"{KB}/knowledge-base.json": {
            "knowledgeBase": {
                "knowledgeBaseArn": f"arn:aws:bedrock:{R}:{A}:knowledge-base/KBHRDOCS01",
                "knowledgeBaseId": "KBHRDOCS01",
                "name": "hr-docs",
                "roleArn": f"arn:aws:iam::{A}:role/kb-role",
                "status": "ACTIVE",
            }
        },
        f"{KB}/data-sources/DSHRDOCS01.json": {
            "dataSource": {
                "dataSourceId": "DSHRDOCS01",
                "knowledgeBaseId": "KBHRDOCS01",
                "name": "docs",
                "status": "AVAILABLE",
                "dataSourceConfiguration": {
                    "type": "S3",
                    "s3Configuration": {
                        "bucketArn": "arn:aws:s3:::hr-docs",
                        "inclusionPrefixes": ["docs/"],
                    },
                },
            }
        },
        f"{A}/{R}/bedrock/guardrails/gr1.json": {
            "name": "hr-guardrail",
            "guardrailId": "gr1",
            "guardrailArn": f"arn:aws:bedrock:{R}:{A}:guardrail/gr1",
            "version": "1",
            "status": "READY",
        },
        f"{A}/{R}/cloudtrail/trails.json": {
            "trailList": [
                {
                    "Name": "main",
                    "TrailARN": f"arn:aws:cloudtrail:{R}:{A}:trail/main",
                    "HomeRegion": R,
                    "IsMultiRegionTrail": True,
                    "IsOrganizationTrail": False,
                }
            ]
        },
        f"{A}/{R}/cloudtrail/main/event-selectors.json": {
            "TrailARN": f"arn:aws:cloudtrail:{R}:{A}:trail/main",
            "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
        },
        "organization/organization.json": {"Organization": {"Id": "o-a1b2c3d4e5", "MasterAccountId": "999988887777"}},
        "organization/roots.json": {
            "Roots": [
                {
                    "Id": "r-r00t",
                    "Name": "Root",
                    "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
                }
            ]
        },
        "organization/accounts.json": {"Accounts": [{"Id": A, "Name": "hr", "Status": "ACTIVE"}]},
        f"organization/parents/{A}.json": {"Parents": [{"Id": "r-r00t", "Type": "ROOT"}]},
        "organization/policies/p-denyall01.json": {
            "Policy": {
                "PolicySummary": {
                    "Id": "p-denyall01",
                    "Arn": "arn:aws:organizations::999988887777:policy/o-a1b2c3d4e5/service_control_policy/p-denyall01",
                    "Name": "DenyAll",
                    "Type": "SERVICE_CONTROL_POLICY",
                    "AwsManaged": False,
                },
                "Content": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
                    }
                ),
            }
        },
        "organization/policies/p-denyall01/targets.json": {
            "Targets": [{"TargetId": "r-r00t", "Name": "Root", "Type": "ROOT"}]
        },
    }


# (file, path of a required field, its dotted name, path of a typed field, a wrong value, its
# dotted name). A None required path marks a file without required fields.
CASES: list[tuple[str, JsonPath | None, str | None, JsonPath, Any, str]] = [
    ("manifest.json", None, None, ("partition",), ["aws"], "partition"),
    (
        f"{A}/iam/authorization-details.json",
        ("RoleDetailList", 0, "AssumeRolePolicyDocument"),
        "RoleDetailList[0].AssumeRolePolicyDocument",
        ("RoleDetailList",),
        {},
        "RoleDetailList",
    ),
    (
        f"{A}/iam/policies/Boundary.json",
        ("PolicyVersion", "Document"),
        "PolicyVersion.Document",
        ("Policy",),
        [],
        "Policy",
    ),
    (
        f"{A}/s3/buckets.json",
        ("Buckets", 0, "Name"),
        "Buckets[0].Name",
        ("Buckets",),
        "hr-docs",
        "Buckets",
    ),
    (f"{A}/s3/hr-docs/policy.json", ("Policy",), "Policy", ("Policy",), 42, "Policy"),
    (
        f"{A}/s3/hr-docs/tagging.json",
        ("TagSet", 0, "Value"),
        "TagSet[0].Value",
        ("TagSet",),
        {"owner": "hr"},
        "TagSet",
    ),
    (
        f"{A}/{R}/lambda/functions.json",
        ("Functions", 0, "Role"),
        "Functions[0].Role",
        ("Functions", 0),
        "lookup",
        "Functions[0]",
    ),
    (f"{A}/{R}/lambda/lookup/policy.json", ("Policy",), "Policy", ("Policy",), ["x"], "Policy"),
    (
        f"{AGENT}/agent.json",
        ("agent", "agentResourceRoleArn"),
        "agent.agentResourceRoleArn",
        ("agent",),
        [],
        "agent",
    ),
    (
        f"{AGENT}/aliases.json",
        ("agentAliasSummaries", 0, "agentAliasId"),
        "agentAliasSummaries[0].agentAliasId",
        ("agentAliasSummaries", 0, "routingConfiguration"),
        {"agentVersion": "1"},
        "agentAliasSummaries[0].routingConfiguration",
    ),
    (
        f"{AGENT}/versions/1/agent-version.json",
        ("agentVersion", "agentResourceRoleArn"),
        "agentVersion.agentResourceRoleArn",
        ("agentVersion", "guardrailConfiguration"),
        "gr1",
        "agentVersion.guardrailConfiguration",
    ),
    (
        f"{AGENT}/versions/1/action-groups/AGLOOKUP01.json",
        ("agentActionGroup", "actionGroupState"),
        "agentActionGroup.actionGroupState",
        ("agentActionGroup", "actionGroupExecutor"),
        "RETURN_CONTROL",
        "agentActionGroup.actionGroupExecutor",
    ),
    (
        f"{AGENT}/versions/1/knowledge-bases.json",
        ("agentKnowledgeBaseSummaries",),
        "agentKnowledgeBaseSummaries",
        ("agentKnowledgeBaseSummaries", 0, "knowledgeBaseState"),
        True,
        "agentKnowledgeBaseSummaries[0].knowledgeBaseState",
    ),
    (
        f"{KB}/knowledge-base.json",
        ("knowledgeBase", "name"),
        "knowledgeBase.name",
        ("knowledgeBase",),
        "KBHRDOCS01",
        "knowledgeBase",
    ),
    (
        f"{KB}/data-sources/DSHRDOCS01.json",
        ("dataSource", "dataSourceConfiguration", "s3Configuration", "bucketArn"),
        "dataSource.dataSourceConfiguration.s3Configuration.bucketArn",
        ("dataSource", "dataSourceConfiguration", "s3Configuration", "inclusionPrefixes"),
        "docs/",
        "dataSource.dataSourceConfiguration.s3Configuration.inclusionPrefixes",
    ),
    (
        f"{A}/{R}/bedrock/guardrails/gr1.json",
        ("guardrailArn",),
        "guardrailArn",
        ("name",),
        ["hr-guardrail"],
        "name",
    ),
    (
        f"{A}/{R}/cloudtrail/trails.json",
        ("trailList", 0, "HomeRegion"),
        "trailList[0].HomeRegion",
        ("trailList", 0, "IsMultiRegionTrail"),
        "yes",
        "trailList[0].IsMultiRegionTrail",
    ),
    (
        f"{A}/{R}/cloudtrail/main/event-selectors.json",
        ("TrailARN",),
        "TrailARN",
        ("EventSelectors",),
        {},
        "EventSelectors",
    ),
    (
        "organization/organization.json",
        ("Organization", "MasterAccountId"),
        "Organization.MasterAccountId",
        ("Organization",),
        [],
        "Organization",
    ),
    (
        "organization/roots.json",
        ("Roots", 0, "Id"),
        "Roots[0].Id",
        ("Roots", 0, "PolicyTypes"),
        "SERVICE_CONTROL_POLICY",
        "Roots[0].PolicyTypes",
    ),
    (
        "organization/accounts.json",
        ("Accounts", 0, "Id"),
        "Accounts[0].Id",
        ("Accounts",),
        {},
        "Accounts",
    ),
    (
        f"organization/parents/{A}.json",
        ("Parents", 0, "Id"),
        "Parents[0].Id",
        ("Parents",),
        {"Id": "r-r00t"},
        "Parents",
    ),
    (
        "organization/policies/p-denyall01.json",
        ("Policy", "Content"),
        "Policy.Content",
        ("Policy", "PolicySummary", "AwsManaged"),
        "false",
        "Policy.PolicySummary.AwsManaged",
    ),
    (
        "organization/policies/p-denyall01/targets.json",
        ("Targets", 0, "TargetId"),
        "Targets[0].TargetId",
        ("Targets", 0),
        "r-r00t",
        "Targets[0]",
    ),
]
FILES = [case[0] for case in CASES]
MISSING = [(case[0], case[1], case[2]) for case in CASES if case[1] is not None]
WRONG_SHAPE = [(case[0], case[3], case[4], case[5]) for case in CASES]


def _parent(document: Any, path: JsonPath) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _load_error(write_snapshot: SnapshotWriter, files: dict[str, Any]) -> SnapshotError:
    root = write_snapshot(files)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)
    return caught.value


def test_valid_snapshot_loads(write_snapshot: SnapshotWriter) -> None:
    snapshot = load_snapshot(write_snapshot(valid_snapshot()))

    inventory = snapshot.accounts[A]
    assert inventory.coverage == {
        "iam",
        "s3",
        f"lambda:{R}",
        f"bedrock-agent:{R}",
        f"bedrock:{R}",
        f"cloudtrail:{R}",
    }
    assert snapshot.organization is not None
    assert snapshot.not_seen == []


def test_cases_cover_every_file(write_snapshot: SnapshotWriter) -> None:
    assert sorted(FILES) == sorted(valid_snapshot())


@pytest.mark.parametrize("file", FILES)
def test_invalid_json_names_file(write_snapshot: SnapshotWriter, file: str) -> None:
    files = valid_snapshot()
    files[file] = '{\n  "broken": ,\n}\n'

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field is None
    assert str(error).startswith(f"{file}: invalid JSON at line 2 column 13")


@pytest.mark.parametrize("file", FILES)
def test_top_level_list_names_file(write_snapshot: SnapshotWriter, file: str) -> None:
    files = valid_snapshot()
    files[file] = [files[file]]

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert str(error).startswith(f"{file}: expected a JSON object at the top level, got a list")


@pytest.mark.parametrize(("file", "path", "field"), MISSING)
def test_missing_field_names_file_and_field(
    write_snapshot: SnapshotWriter, file: str, path: JsonPath, field: str
) -> None:
    files = valid_snapshot()
    del _parent(files[file], path)[path[-1]]

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field == field
    assert str(error) == (
        f"{file}: field {field!r}: required field is missing; save the full, unmodified output of the AWS CLI call"
    )


@pytest.mark.parametrize(("file", "path", "value", "field"), WRONG_SHAPE)
def test_wrong_shape_names_file_and_field(
    write_snapshot: SnapshotWriter, file: str, path: JsonPath, value: Any, field: str
) -> None:
    files = valid_snapshot()
    _parent(files[file], path)[path[-1]] = copy.deepcopy(value)

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field == field
    assert str(error).startswith(f"{file}: field {field!r}: expected ")
    assert "(docs/snapshot-format.md gives the shape of each file)" in str(error)
