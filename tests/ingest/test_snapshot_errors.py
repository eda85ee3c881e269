"""Snapshot reader: bad input in every file kind is rejected with the file and field named.

The cases are invalid JSON, a missing field, a wrong shape, a path that is not a regular
file, JSON beyond Python's decoder limits, ARNs and ids that name the wrong resource, and
invalid policy conditions.

Most cases start from one complete, valid snapshot, break one file and check that
SnapshotError names that file and the field, both as attributes and in its message.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import PolicyError, SnapshotError
from ingest.jsonfile import Entry, EntryKind, inspect_entry
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


@pytest.mark.parametrize(("file", "path", "field"), MISSING)
def test_null_field_names_file_and_field(write_snapshot: SnapshotWriter, file: str, path: JsonPath, field: str) -> None:
    files = valid_snapshot()
    _parent(files[file], path)[path[-1]] = None

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field == field
    assert str(error) == (
        f"{file}: field {field!r}: required field is null; the AWS CLI always gives it a value, "
        "so save its full, unmodified output"
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


# ---- paths that exist but are not regular files ----


def _write_all_but(write_snapshot: SnapshotWriter, file: str) -> tuple[Path, Path]:
    """Write the valid snapshot without `file`, and return the root and the path of `file`."""
    files = valid_snapshot()
    del files[file]
    root = write_snapshot(files)
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    return root, path


def _make_directory(path: Path) -> None:
    path.mkdir()


def _make_broken_link(path: Path) -> None:
    path.symlink_to(path.parent / "no-such-file.json")


def _make_link_loop(path: Path) -> None:
    path.symlink_to(path)


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


NOT_REGULAR: list[tuple[Callable[[Path], None], str]] = [
    (_make_directory, "is a directory, not a JSON file; replace it with "),
    (_make_broken_link, "is a symbolic link to a path that does not exist, not a JSON file; replace it with "),
    (_make_link_loop, "is a symbolic link loop, not a JSON file; replace it with "),
    (_make_fifo, "is a named pipe (FIFO), not a JSON file; replace it with "),
]


@pytest.mark.parametrize(("make", "problem"), NOT_REGULAR, ids=["directory", "broken-link", "link-loop", "fifo"])
@pytest.mark.parametrize("file", FILES)
def test_non_regular_file_names_file(
    write_snapshot: SnapshotWriter, file: str, make: Callable[[Path], None], problem: str
) -> None:
    root, path = _write_all_but(write_snapshot, file)
    make(path)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == file
    assert caught.value.field is None
    assert caught.value.message.startswith(problem)
    if file == "manifest.json":
        assert caught.value.message.endswith('a JSON object such as {"format_version": 1, "partition": "aws"}')
    else:
        assert "the output of `aws " in caught.value.message


@pytest.mark.parametrize("file", FILES)
def test_symlink_to_file_loads(write_snapshot: SnapshotWriter, file: str) -> None:
    root, path = _write_all_but(write_snapshot, file)
    target = root.parent / "elsewhere" / Path(file).name
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(valid_snapshot()[file]), encoding="utf-8")
    path.symlink_to(target)

    snapshot = load_snapshot(root)

    assert snapshot.not_seen == []


def test_fifo_in_listed_folder_rejected(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(valid_snapshot())
    os.mkfifo(root / A / "iam" / "notes")

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{A}/iam/notes"
    assert caught.value.message.startswith("is a named pipe (FIFO); replace it with the file or folder")


@pytest.mark.parametrize(
    "folder",
    [
        f"{A}/iam",
        f"{A}/s3/hr-docs",
        f"{A}/{R}/lambda",
        f"{A}/{R}/lambda/lookup",
        f"{AGENT}/versions",
        f"{A}/{R}/cloudtrail/main",
        "organization/parents",
        "organization/policies/p-denyall01",
    ],
)
def test_file_instead_of_folder_names_folder(write_snapshot: SnapshotWriter, folder: str) -> None:
    files = {name: value for name, value in valid_snapshot().items() if not name.startswith(f"{folder}/")}
    files[folder] = "not a folder"

    error = _load_error(write_snapshot, files)

    assert error.path == folder
    assert error.message == (
        "is a regular file, not a folder; replace it with the folder that docs/snapshot-format.md describes"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_unreadable_folder_names_folder(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(valid_snapshot())
    folder = root / A / "s3" / "hr-docs"
    folder.chmod(0)
    try:
        with pytest.raises(SnapshotError) as caught:
            load_snapshot(root)
    finally:
        folder.chmod(0o755)

    assert caught.value.path == f"{A}/s3/hr-docs"


def test_snapshot_root_link_loop(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    root.symlink_to(root)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.message.startswith("snapshot folder is a symbolic link loop; ")


# ---- JSON that Python's decoder cannot hold ----

# Python's limit on digits in int(), 4300 unless PYTHONINTMAXSTRDIGITS changes it.
MAX_DIGITS = sys.get_int_max_str_digits()


@pytest.mark.parametrize("file", FILES)
def test_deeply_nested_json_names_file(write_snapshot: SnapshotWriter, file: str) -> None:
    files = valid_snapshot()
    files[file] = "[" * 200_000

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.message.startswith("invalid JSON (values nested more deeply than Python's recursion limit")


@pytest.mark.skipif(MAX_DIGITS == 0, reason="PYTHONINTMAXSTRDIGITS=0 lifts the limit")
@pytest.mark.parametrize("file", FILES)
def test_long_integer_names_file(write_snapshot: SnapshotWriter, file: str) -> None:
    files = valid_snapshot()
    files[file] = '{"value": ' + "1" * (MAX_DIGITS + 1) + "}"

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.message.startswith(f"invalid JSON (a number has more than {MAX_DIGITS} digits")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 200_000, "(values nested more deeply"),
        ('{"Version": ' + "1" * (MAX_DIGITS + 1) + "}", f"(a number has more than {MAX_DIGITS} digits"),
        ("%5B" * 200_000, "(values nested more deeply"),
    ],
    ids=["nested", "long-integer", "url-encoded-nested"],
)
def test_policy_string_beyond_decoder_limits(write_snapshot: SnapshotWriter, text: str, reason: str) -> None:
    files = valid_snapshot()
    files[f"{A}/s3/hr-docs/policy.json"] = {"Policy": text}

    error = _load_error(write_snapshot, files)

    assert error.path == f"{A}/s3/hr-docs/policy.json"
    assert error.field == "Policy"
    assert error.message.startswith("policy document is neither JSON nor URL-encoded JSON, and decoding it failed ")
    assert reason in error.message


def test_policy_nested_below_decoder_limit(write_snapshot: SnapshotWriter) -> None:
    files = valid_snapshot()
    depth = 900
    files[f"{A}/s3/hr-docs/policy.json"] = {
        "Policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
        + "[" * depth
        + "]" * depth
        + ', "Resource": "*"}]}'
    }

    error = _load_error(write_snapshot, files)

    assert error.field == "Policy"
    assert error.message.startswith("invalid policy document: ")


# ---- values of the right type that name the wrong thing ----

ACTION_GROUP = f"{AGENT}/versions/1/action-groups/AGLOOKUP01.json"
DATA_SOURCE = f"{KB}/data-sources/DSHRDOCS01.json"
BUCKET_ARN = ("dataSource", "dataSourceConfiguration", "s3Configuration", "bucketArn")

# (file, path of the field, the value, the dotted field name, the start of the message)
INVALID_VALUES: list[tuple[str, JsonPath, Any, str, str]] = [
    (
        f"{A}/{R}/lambda/functions.json",
        ("Functions", 0, "Role"),
        "lookup-role",
        "Functions[0].Role",
        "'lookup-role' is not an ARN",
    ),
    (
        f"{A}/{R}/lambda/functions.json",
        ("Functions", 0, "Role"),
        f"arn:aws:iam::{A}:user/lookup-role",
        "Functions[0].Role",
        f"'arn:aws:iam::{A}:user/lookup-role' is not an IAM role ARN",
    ),
    (
        f"{A}/{R}/lambda/functions.json",
        ("Functions", 0, "Role"),
        f"arn:aws:lambda:{R}:{A}:function:lookup",
        "Functions[0].Role",
        f"'arn:aws:lambda:{R}:{A}:function:lookup' is not an IAM role ARN",
    ),
    (
        f"{A}/{R}/lambda/functions.json",
        ("Functions", 0, "FunctionArn"),
        f"arn:aws:lambda:{R}:{A}:function:other",
        "Functions[0].FunctionArn",
        f"'arn:aws:lambda:{R}:{A}:function:other' is not the ARN of function 'lookup'",
    ),
    (
        f"{AGENT}/agent.json",
        ("agent", "agentResourceRoleArn"),
        "agent-role",
        "agent.agentResourceRoleArn",
        "'agent-role' is not an ARN",
    ),
    (
        f"{AGENT}/agent.json",
        ("agent", "agentResourceRoleArn"),
        f"arn:aws:iam::{A}:policy/agent-role",
        "agent.agentResourceRoleArn",
        f"'arn:aws:iam::{A}:policy/agent-role' is not an IAM role ARN",
    ),
    (
        f"{AGENT}/agent.json",
        ("agent", "agentArn"),
        f"arn:aws:bedrock:{R}:{A}:agent/OTHER12345",
        "agent.agentArn",
        f"'arn:aws:bedrock:{R}:{A}:agent/OTHER12345' is not the ARN of agent/AGENT12345",
    ),
    (
        f"{AGENT}/versions/1/agent-version.json",
        ("agentVersion", "agentResourceRoleArn"),
        "agent-role",
        "agentVersion.agentResourceRoleArn",
        "'agent-role' is not an ARN",
    ),
    (
        f"{AGENT}/versions/1/agent-version.json",
        ("agentVersion", "agentResourceRoleArn"),
        f"arn:aws:iam::{A}:role/",
        "agentVersion.agentResourceRoleArn",
        f"'arn:aws:iam::{A}:role/' is not an IAM role ARN",
    ),
    (
        f"{AGENT}/versions/1/agent-version.json",
        ("agentVersion", "agentId"),
        "OTHER12345",
        "agentVersion.agentId",
        "the file describes a version of agent OTHER12345 but is in the folder of agent AGENT12345",
    ),
    (
        ACTION_GROUP,
        ("agentActionGroup", "actionGroupExecutor", "lambda"),
        "lookup",
        "agentActionGroup.actionGroupExecutor.lambda",
        "'lookup' is not an ARN",
    ),
    (
        ACTION_GROUP,
        ("agentActionGroup", "actionGroupExecutor", "lambda"),
        f"arn:aws:lambda:{R}:{A}:layer:lookup",
        "agentActionGroup.actionGroupExecutor.lambda",
        f"'arn:aws:lambda:{R}:{A}:layer:lookup' is not a Lambda function ARN",
    ),
    (
        ACTION_GROUP,
        ("agentActionGroup", "actionGroupExecutor", "lambda"),
        f"arn:aws:lambda:{R}:{A}:function:",
        "agentActionGroup.actionGroupExecutor.lambda",
        f"'arn:aws:lambda:{R}:{A}:function:' is not a Lambda function ARN",
    ),
    (
        ACTION_GROUP,
        ("agentActionGroup", "actionGroupExecutor", "lambda"),
        f"arn:aws:lambda:{R}:{A}:function:lookup:1:2",
        "agentActionGroup.actionGroupExecutor.lambda",
        f"'arn:aws:lambda:{R}:{A}:function:lookup:1:2' is not a Lambda function ARN",
    ),
    (
        ACTION_GROUP,
        ("agentActionGroup", "actionGroupExecutor", "lambda"),
        f"arn:aws:iam::{A}:role/lookup",
        "agentActionGroup.actionGroupExecutor.lambda",
        f"'arn:aws:iam::{A}:role/lookup' is not a Lambda function ARN",
    ),
    (
        f"{KB}/knowledge-base.json",
        ("knowledgeBase", "roleArn"),
        "kb-role",
        "knowledgeBase.roleArn",
        "'kb-role' is not an ARN",
    ),
    (
        f"{KB}/knowledge-base.json",
        ("knowledgeBase", "roleArn"),
        "arn:aws:s3:::hr-docs",
        "knowledgeBase.roleArn",
        "'arn:aws:s3:::hr-docs' is not an IAM role ARN",
    ),
    (
        f"{KB}/knowledge-base.json",
        ("knowledgeBase", "knowledgeBaseArn"),
        f"arn:aws:bedrock:{R}:{A}:knowledge-base/KBOTHER001",
        "knowledgeBase.knowledgeBaseArn",
        f"'arn:aws:bedrock:{R}:{A}:knowledge-base/KBOTHER001' is not the ARN of knowledge-base/KBHRDOCS01",
    ),
    (DATA_SOURCE, BUCKET_ARN, "hr-docs", ".".join(BUCKET_ARN), "'hr-docs' is not an ARN"),
    (DATA_SOURCE, BUCKET_ARN, "arn:aws:s3:::", ".".join(BUCKET_ARN), "'arn:aws:s3:::' is not an S3 bucket ARN"),
    (
        DATA_SOURCE,
        BUCKET_ARN,
        "arn:aws:s3:::hr-docs/docs/*",
        ".".join(BUCKET_ARN),
        "'arn:aws:s3:::hr-docs/docs/*' is not an S3 bucket ARN",
    ),
    (
        DATA_SOURCE,
        BUCKET_ARN,
        f"arn:aws:s3:{R}:{A}:hr-docs",
        ".".join(BUCKET_ARN),
        f"'arn:aws:s3:{R}:{A}:hr-docs' is not an S3 bucket ARN",
    ),
    (
        f"{A}/{R}/bedrock/guardrails/gr1.json",
        ("guardrailArn",),
        f"arn:aws:bedrock:{R}:{A}:guardrail/gr2",
        "guardrailArn",
        f"'arn:aws:bedrock:{R}:{A}:guardrail/gr2' is not the ARN of guardrail/gr1",
    ),
    (
        f"{A}/iam/authorization-details.json",
        ("RoleDetailList", 0, "Arn"),
        f"arn:aws:iam::{A}:role/other-role",
        "RoleDetailList[0].Arn",
        f"'arn:aws:iam::{A}:role/other-role' is not the ARN of role 'agent-role'",
    ),
    (
        f"{A}/iam/authorization-details.json",
        ("RoleDetailList", 0, "Arn"),
        f"arn:aws:iam::{A}:user/agent-role",
        "RoleDetailList[0].Arn",
        f"'arn:aws:iam::{A}:user/agent-role' is not the ARN of role 'agent-role'",
    ),
    (
        f"{A}/iam/authorization-details.json",
        ("RoleDetailList", 0, "Arn"),
        f"arn:aws:iam::{A}:role/service-role/agent-role",
        "RoleDetailList[0].Arn",
        f"'arn:aws:iam::{A}:role/service-role/agent-role' is not the ARN of role 'agent-role' "
        "(expected arn:aws:iam::ACCOUNT:role/agent-role)",
    ),
    (
        "organization/organization.json",
        ("Organization", "MasterAccountId"),
        "99998888777",
        "Organization.MasterAccountId",
        "'99998888777' is not an AWS account id (12 digits)",
    ),
    (
        "organization/organization.json",
        ("Organization", "MasterAccountId"),
        "management",
        "Organization.MasterAccountId",
        "'management' is not an AWS account id (12 digits)",
    ),
    (
        "organization/accounts.json",
        ("Accounts", 0, "Id"),
        "hr",
        "Accounts[0].Id",
        "'hr' is not an AWS account id (12 digits)",
    ),
]


@pytest.mark.parametrize(("file", "path", "value", "field", "message"), INVALID_VALUES)
def test_invalid_value_names_file_and_field(  # noqa: PLR0917 (one argument per column of the table)
    write_snapshot: SnapshotWriter, file: str, path: JsonPath, value: Any, field: str, message: str
) -> None:
    files = valid_snapshot()
    _parent(files[file], path)[path[-1]] = value

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field == field
    assert error.message.startswith(message)


# ---- condition syntax in every policy the loader reads ----


def _set_condition(document: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    statements = document["Statement"]
    statement = statements[0] if isinstance(statements, list) else statements
    statement["Condition"] = condition
    return document


def _set_policy_condition(files: dict[str, Any], file: str, path: JsonPath, condition: dict[str, Any]) -> None:
    parent = _parent(files[file], path)
    value = parent[path[-1]]
    if isinstance(value, str):
        parent[path[-1]] = json.dumps(_set_condition(json.loads(value), condition))
    else:
        # valid_snapshot() shares ALLOW_ALL between files, so change a copy.
        parent[path[-1]] = _set_condition(copy.deepcopy(value), condition)


# (file, path of the policy document, its dotted field name)
POLICY_FIELDS: list[tuple[str, JsonPath, str]] = [
    (
        f"{A}/iam/authorization-details.json",
        ("RoleDetailList", 0, "AssumeRolePolicyDocument"),
        "RoleDetailList[0].AssumeRolePolicyDocument",
    ),
    (f"{A}/iam/policies/Boundary.json", ("PolicyVersion", "Document"), "PolicyVersion.Document"),
    (f"{A}/s3/hr-docs/policy.json", ("Policy",), "Policy"),
    (f"{A}/{R}/lambda/lookup/policy.json", ("Policy",), "Policy"),
    ("organization/policies/p-denyall01.json", ("Policy", "Content"), "Policy.Content"),
]
INVALID_CONDITIONS: list[tuple[dict[str, Any], str]] = [
    ({"StringEqualz": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, "unknown condition operator 'StringEqualz'"),
    ({"Bool": {"aws:SecureTransport": "maybe"}}, "condition Bool on key 'aws:SecureTransport' has value 'maybe'"),
    ({"NumericLessThan": {"s3:max-keys": "ten"}}, "condition NumericLessThan on key 's3:max-keys' has value 'ten'"),
    ({"Null": {"aws:TokenIssueTime": "yes"}}, "condition Null on key 'aws:TokenIssueTime' has value 'yes'"),
    ({"ForAnyValue:Null": {"aws:TagKeys": "true"}}, "invalid condition operator 'ForAnyValue:Null'"),
]


@pytest.mark.parametrize(("condition", "message"), INVALID_CONDITIONS)
@pytest.mark.parametrize("policy", POLICY_FIELDS, ids=[case[2] for case in POLICY_FIELDS])
def test_invalid_condition_names_file_and_field(
    write_snapshot: SnapshotWriter, policy: tuple[str, JsonPath, str], condition: dict[str, Any], message: str
) -> None:
    file, path, field = policy
    files = valid_snapshot()
    _set_policy_condition(files, file, path, condition)

    error = _load_error(write_snapshot, files)

    assert error.path == file
    assert error.field == field
    assert error.message.startswith("invalid policy document: ")
    assert "#0" in error.message
    assert ": Condition: " in error.message
    assert message in error.message
    assert isinstance(error.__cause__, PolicyError)


def test_condition_with_variable_loads(write_snapshot: SnapshotWriter) -> None:
    files = valid_snapshot()
    condition = {
        "Bool": {"aws:SecureTransport": "${aws:RequestTag/secure}"},
        "StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"},
    }
    _set_policy_condition(files, f"{A}/s3/hr-docs/policy.json", ("Policy",), condition)

    snapshot = load_snapshot(write_snapshot(files))

    bucket = snapshot.accounts[A].buckets["arn:aws:s3:::hr-docs"]
    assert bucket.policy is not None
    assert bucket.policy["Statement"][0]["Condition"] == condition


def test_inspect_entry_kinds(tmp_path: Path) -> None:
    (tmp_path / "file.json").write_text("{}", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "file.json")
    (tmp_path / "broken.json").symlink_to(tmp_path / "gone.json")
    (tmp_path / "loop.json").symlink_to(tmp_path / "loop.json")
    os.mkfifo(tmp_path / "pipe.json")

    assert inspect_entry(tmp_path / "file.json").kind is EntryKind.FILE
    assert inspect_entry(tmp_path / "link.json").kind is EntryKind.FILE
    assert inspect_entry(tmp_path / "folder").kind is EntryKind.FOLDER
    assert inspect_entry(tmp_path / "absent.json").kind is EntryKind.ABSENT
    assert inspect_entry(tmp_path / "broken.json") == Entry(
        EntryKind.OTHER, "is a symbolic link to a path that does not exist"
    )
    assert inspect_entry(tmp_path / "loop.json") == Entry(EntryKind.OTHER, "is a symbolic link loop")
    assert inspect_entry(tmp_path / "pipe.json") == Entry(EntryKind.OTHER, "is a named pipe (FIFO)")
    below_file = inspect_entry(tmp_path / "file.json" / "policy.json")
    assert below_file.kind is EntryKind.OTHER
    assert below_file.problem == "cannot be reached because a folder on its path is a file"
    assert below_file.fix == "replace that file with the folder that docs/snapshot-format.md describes"
