"""Snapshot reader: the organization tree with SCPs and RCPs, and CloudTrail trails."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from engine.inventory import Organization, OrgPolicy, Trail
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]

ORG_ID = "o-a1b2c3d4e5"
MANAGEMENT = "999988887777"
WORKLOADS_OU = "ou-r00t-wrkld001"
ROOT_ID = "r-r00t"

DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}
FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ORG_ONLY_RCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnforceOrgIdentities",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:*", "sts:AssumeRole"],
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG_ID},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    ],
}


def describe_policy(policy_id: str, name: str, policy_type: str, content: Any, *, aws_managed: bool) -> dict[str, Any]:
    type_path = policy_type.lower()
    arn = (
        f"arn:aws:organizations::aws:policy/{type_path}/{policy_id}"
        if aws_managed
        else f"arn:aws:organizations::{MANAGEMENT}:policy/{ORG_ID}/{type_path}/{policy_id}"
    )
    return {
        "Policy": {
            "PolicySummary": {
                "Id": policy_id,
                "Arn": arn,
                "Name": name,
                "Description": name,
                "Type": policy_type,
                "AwsManaged": aws_managed,
            },
            "Content": content if isinstance(content, str) else json.dumps(content),
        }
    }


def targets(*ids: str) -> dict[str, Any]:
    return {
        "Targets": [
            {
                "TargetId": target_id,
                "Arn": f"arn:aws:organizations::{MANAGEMENT}:target/{target_id}",
                "Name": target_id,
                "Type": "ACCOUNT" if target_id.isdigit() else "ORGANIZATIONAL_UNIT",
            }
            for target_id in ids
        ]
    }


def parents(parent_id: str, parent_type: str) -> dict[str, Any]:
    return {"Parents": [{"Id": parent_id, "Type": parent_type}]}


def organization_files() -> dict[str, Any]:
    return {
        "organization/organization.json": {
            "Organization": {
                "Id": ORG_ID,
                "Arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{ORG_ID}",
                "FeatureSet": "ALL",
                "MasterAccountArn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{MANAGEMENT}",
                "MasterAccountId": MANAGEMENT,
                "MasterAccountEmail": "aws-root@example.com",
                "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
            }
        },
        "organization/roots.json": {
            "Roots": [
                {
                    "Id": ROOT_ID,
                    "Arn": f"arn:aws:organizations::{MANAGEMENT}:root/{ORG_ID}/{ROOT_ID}",
                    "Name": "Root",
                    "PolicyTypes": [
                        {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"},
                        {"Type": "RESOURCE_CONTROL_POLICY", "Status": "ENABLED"},
                        {"Type": "TAG_POLICY", "Status": "PENDING_ENABLE"},
                    ],
                }
            ]
        },
        "organization/accounts.json": {
            "Accounts": [
                {
                    "Id": account,
                    "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{account}",
                    "Email": f"{account}@example.com",
                    "Name": name,
                    "Status": "ACTIVE",
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": "2023-01-01T00:00:00+00:00",
                }
                for account, name in (
                    (MANAGEMENT, "management"),
                    ("111122223333", "hr"),
                    ("444455556666", "data"),
                )
            ]
        },
        "organization/parents/111122223333.json": parents(WORKLOADS_OU, "ORGANIZATIONAL_UNIT"),
        "organization/parents/444455556666.json": parents(WORKLOADS_OU, "ORGANIZATIONAL_UNIT"),
        f"organization/parents/{MANAGEMENT}.json": parents(ROOT_ID, "ROOT"),
        f"organization/parents/{WORKLOADS_OU}.json": parents(ROOT_ID, "ROOT"),
        "organization/policies/p-FullAWSAccess.json": describe_policy(
            "p-FullAWSAccess",
            "FullAWSAccess",
            "SERVICE_CONTROL_POLICY",
            FULL_ACCESS,
            aws_managed=True,
        ),
        "organization/policies/p-FullAWSAccess/targets.json": targets(
            ROOT_ID, WORKLOADS_OU, MANAGEMENT, "111122223333", "444455556666"
        ),
        "organization/policies/p-denyleave1.json": describe_policy(
            "p-denyleave1", "DenyLeave", "SERVICE_CONTROL_POLICY", DENY_LEAVE, aws_managed=False
        ),
        "organization/policies/p-denyleave1/targets.json": targets(WORKLOADS_OU),
        "organization/policies/p-orgonlyrcp.json": describe_policy(
            "p-orgonlyrcp", "OrgOnly", "RESOURCE_CONTROL_POLICY", ORG_ONLY_RCP, aws_managed=False
        ),
        "organization/policies/p-orgonlyrcp/targets.json": targets("111122223333"),
        "organization/policies/p-tagpolicy1.json": describe_policy(
            "p-tagpolicy1",
            "CostCenterTags",
            "TAG_POLICY",
            '{"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}}',
            aws_managed=False,
        ),
    }


def test_load_snapshot_organization(write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture) -> None:
    root = write_snapshot(organization_files())
    caplog.set_level(logging.WARNING)

    snapshot = load_snapshot(root)

    assert snapshot.organization == Organization(
        organization_id=ORG_ID,
        management_account_id=MANAGEMENT,
        root_ids=(ROOT_ID,),
        account_ids=(MANAGEMENT, "111122223333", "444455556666"),
        parents={
            "111122223333": WORKLOADS_OU,
            "444455556666": WORKLOADS_OU,
            MANAGEMENT: ROOT_ID,
            WORKLOADS_OU: ROOT_ID,
        },
        policies=(
            OrgPolicy(
                policy_id="p-FullAWSAccess",
                arn="arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
                name="FullAWSAccess",
                policy_type="SERVICE_CONTROL_POLICY",
                document=FULL_ACCESS,
                aws_managed=True,
                target_ids=(ROOT_ID, WORKLOADS_OU, MANAGEMENT, "111122223333", "444455556666"),
            ),
            OrgPolicy(
                policy_id="p-denyleave1",
                arn=f"arn:aws:organizations::{MANAGEMENT}:policy/{ORG_ID}/service_control_policy/p-denyleave1",
                name="DenyLeave",
                policy_type="SERVICE_CONTROL_POLICY",
                document=DENY_LEAVE,
                aws_managed=False,
                target_ids=(WORKLOADS_OU,),
            ),
            OrgPolicy(
                policy_id="p-orgonlyrcp",
                arn=f"arn:aws:organizations::{MANAGEMENT}:policy/{ORG_ID}/resource_control_policy/p-orgonlyrcp",
                name="OrgOnly",
                policy_type="RESOURCE_CONTROL_POLICY",
                document=ORG_ONLY_RCP,
                aws_managed=False,
                target_ids=("111122223333",),
            ),
        ),
        enabled_policy_types=frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}),
    )
    assert snapshot.not_seen == []
    assert [record.getMessage() for record in caplog.records] == [
        "ignoring organization/policies/p-tagpolicy1.json: only service control and resource "
        "control policies are analysed"
    ]


def test_load_snapshot_organization_partial(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    for name in list(files):
        if name.startswith(("organization/parents/", "organization/accounts.json")):
            del files[name]
    del files["organization/policies/p-denyleave1/targets.json"]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    assert snapshot.organization is not None
    assert snapshot.organization.parents == {}
    assert snapshot.organization.account_ids == (MANAGEMENT,)
    assert snapshot.organization.policies[1].target_ids == ()
    assert snapshot.not_seen == [
        "no organization/accounts.json: the member accounts are taken from organization.json and the parents files",
        "no organization/parents: the OU tree is unknown, so policies attached to OUs and roots reach no account",
        "no targets.json for organization policy p-denyleave1: where it is attached is "
        "unknown, so it is applied nowhere",
    ]


def test_organization_parents_two_entries(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    files["organization/parents/111122223333.json"]["Parents"].append({"Id": ROOT_ID, "Type": "ROOT"})
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == "organization/parents/111122223333.json"
    assert caught.value.field == "Parents"
    assert "expected exactly one parent, found 2" in caught.value.message


ACCOUNT = "111122223333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail"
LOCAL_ARN = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/hr-data-events"
DATA_SELECTORS = [
    {
        "Name": "Log Lambda invocations",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]},
        ],
    }
]


def trail_list() -> dict[str, Any]:
    return {
        "trailList": [
            {
                "Name": "org-trail",
                "S3BucketName": "org-cloudtrail-logs",
                "IncludeGlobalServiceEvents": True,
                "IsMultiRegionTrail": True,
                "HomeRegion": "us-east-1",
                "TrailARN": TRAIL_ARN,
                "LogFileValidationEnabled": True,
                "HasCustomEventSelectors": False,
                "HasInsightSelectors": False,
                "IsOrganizationTrail": True,
            },
            {
                "Name": "hr-data-events",
                "S3BucketName": "hr-trail-logs",
                "IsMultiRegionTrail": False,
                "HomeRegion": "eu-west-1",
                "TrailARN": LOCAL_ARN,
                "HasCustomEventSelectors": True,
            },
        ]
    }


def test_load_snapshot_trails(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {
            f"{ACCOUNT}/eu-west-1/cloudtrail/trails.json": trail_list(),
            f"{ACCOUNT}/eu-west-1/cloudtrail/hr-data-events/event-selectors.json": {
                "TrailARN": LOCAL_ARN,
                "AdvancedEventSelectors": DATA_SELECTORS,
            },
            f"{ACCOUNT}/us-east-1/cloudtrail/trails.json": {"trailList": trail_list()["trailList"][:1]},
            f"{ACCOUNT}/us-east-1/cloudtrail/org-trail/event-selectors.json": {
                "TrailARN": TRAIL_ARN,
                "EventSelectors": [
                    {
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": True,
                        "DataResources": [],
                        "ExcludeManagementEventSources": [],
                    }
                ],
            },
        }
    )

    snapshot = load_snapshot(root)

    inventory = snapshot.accounts[ACCOUNT]
    assert inventory.coverage == {"cloudtrail:eu-west-1", "cloudtrail:us-east-1"}
    assert inventory.trails == {
        TRAIL_ARN: Trail(
            arn=TRAIL_ARN,
            name="org-trail",
            account=MANAGEMENT,
            home_region="us-east-1",
            is_multi_region=True,
            is_organization_trail=True,
            event_selectors=(
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "DataResources": [],
                    "ExcludeManagementEventSources": [],
                },
            ),
            advanced_event_selectors=(),
            selectors_known=True,
        ),
        LOCAL_ARN: Trail(
            arn=LOCAL_ARN,
            name="hr-data-events",
            account=ACCOUNT,
            home_region="eu-west-1",
            is_multi_region=False,
            is_organization_trail=False,
            event_selectors=(),
            advanced_event_selectors=tuple(DATA_SELECTORS),
            selectors_known=True,
        ),
    }
    assert not any("event-selectors" in gap for gap in snapshot.not_seen)


def test_load_snapshot_trail_without_selectors(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot({f"{ACCOUNT}/eu-west-1/cloudtrail/trails.json": trail_list()})

    snapshot = load_snapshot(root)

    trails = snapshot.accounts[ACCOUNT].trails
    assert trails[TRAIL_ARN].selectors_known is False
    assert trails[LOCAL_ARN].selectors_known is False
    assert snapshot.not_seen[:2] == [
        f"no event-selectors.json for trail org-trail seen from account {ACCOUNT}: whether it "
        "logs data events is unknown",
        f"no event-selectors.json for trail hr-data-events seen from account {ACCOUNT}: whether "
        "it logs data events is unknown",
    ]


def test_event_selectors_of_other_trail(write_snapshot: SnapshotWriter) -> None:
    path = f"{ACCOUNT}/eu-west-1/cloudtrail/hr-data-events/event-selectors.json"
    root = write_snapshot(
        {
            f"{ACCOUNT}/eu-west-1/cloudtrail/trails.json": trail_list(),
            path: {"TrailARN": TRAIL_ARN, "EventSelectors": []},
        }
    )

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == path
    assert caught.value.field == "TrailARN"


def test_members_from_parents_without_accounts_file(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    del files["organization/accounts.json"]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    assert snapshot.organization is not None
    assert snapshot.organization.account_ids == (MANAGEMENT, "111122223333", "444455556666")
    assert snapshot.not_seen == [
        "no organization/accounts.json: the member accounts are taken from organization.json and the parents files"
    ]


def test_accounts_file_lists_members(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    files["organization/parents/777788889999.json"] = parents(WORKLOADS_OU, "ORGANIZATIONAL_UNIT")
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    assert snapshot.organization is not None
    assert snapshot.organization.account_ids == (MANAGEMENT, "111122223333", "444455556666")
    assert snapshot.organization.parents["777788889999"] == WORKLOADS_OU


def test_parents_cycle_names_file(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    files["organization/parents/ou-r00t-inner001.json"] = parents(WORKLOADS_OU, "ORGANIZATIONAL_UNIT")
    files[f"organization/parents/{WORKLOADS_OU}.json"] = parents("ou-r00t-inner001", "ORGANIZATIONAL_UNIT")
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == "organization/parents/ou-r00t-inner001.json"
    assert caught.value.field == "Parents[0].Id"
    assert caught.value.message.startswith(
        f"the parent chain loops ({WORKLOADS_OU} -> ou-r00t-inner001 -> {WORKLOADS_OU}); every chain must end at a root"
    )


def test_parents_self_loop_names_file(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    files[f"organization/parents/{WORKLOADS_OU}.json"] = parents(WORKLOADS_OU, "ORGANIZATIONAL_UNIT")
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"organization/parents/{WORKLOADS_OU}.json"
    assert f"({WORKLOADS_OU} -> {WORKLOADS_OU})" in caught.value.message


def test_policy_id_differs_from_file_name(write_snapshot: SnapshotWriter) -> None:
    files = organization_files()
    files["organization/policies/p-denyleave1.json"]["Policy"]["PolicySummary"]["Id"] = "p-other0001"
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == "organization/policies/p-denyleave1.json"
    assert caught.value.field == "Policy.PolicySummary.Id"
    assert caught.value.message == (
        "the file describes policy p-other0001 but is named p-denyleave1.json; rename it to p-other0001.json"
    )


def test_targets_folder_without_policy_file(write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture) -> None:
    files = organization_files()
    del files["organization/policies/p-denyleave1.json"]
    root = write_snapshot(files)
    caplog.set_level(logging.WARNING)

    snapshot = load_snapshot(root)

    assert snapshot.organization is not None
    assert [policy.policy_id for policy in snapshot.organization.policies] == ["p-FullAWSAccess", "p-orgonlyrcp"]
    assert (
        "ignoring organization/policies/p-denyleave1: organization/policies/p-denyleave1.json is missing, "
        "so these targets belong to no policy"
    ) in [record.getMessage() for record in caplog.records]


def test_event_selectors_of_other_trail_message(write_snapshot: SnapshotWriter) -> None:
    path = f"{ACCOUNT}/eu-west-1/cloudtrail/hr-data-events/event-selectors.json"
    root = write_snapshot(
        {
            f"{ACCOUNT}/eu-west-1/cloudtrail/trails.json": trail_list(),
            path: {"TrailARN": TRAIL_ARN, "EventSelectors": []},
        }
    )

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.message == (
        f"the selectors belong to {TRAIL_ARN}, not to {LOCAL_ARN}, whose folder the file is in; "
        "move it to cloudtrail/org-trail/event-selectors.json"
    )
