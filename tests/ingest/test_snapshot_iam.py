"""Snapshot reader: IAM principals and managed policies, including boundaries from iam/policies."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import PolicyError, SnapshotError
from engine.inventory import Group, InlinePolicy, ManagedPolicy, Role, User
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]

ACCOUNT = "111122223333"
DETAILS = f"{ACCOUNT}/iam/authorization-details.json"

READ_BUCKET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
INVOKE_AGENT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Invoke", "Effect": "Allow", "Action": "bedrock:InvokeAgent", "Resource": "*"}],
}
BEDROCK_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}
OLD_VERSION = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
}
BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["bedrock:*", "s3:GetObject"], "Resource": "*"}],
}


def authorization_details() -> dict[str, Any]:
    """One user in one group, one Bedrock service role, one customer and one AWS managed policy."""
    return {
        "UserDetailList": [
            {
                "Path": "/staff/",
                "UserName": "alice",
                "UserId": "AIDAEXAMPLEALICE0001",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/staff/alice",
                "CreateDate": "2024-02-01T09:00:00+00:00",
                "UserPolicyList": [{"PolicyName": "invoke-agent", "PolicyDocument": INVOKE_AGENT}],
                "GroupList": ["hr-analysts"],
                "AttachedManagedPolicies": [
                    {
                        "PolicyName": "ReadOnlyAccess",
                        "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    }
                ],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
                },
                "Tags": [{"Key": "team", "Value": "hr"}, {"Key": "cost-center", "Value": "42"}],
            }
        ],
        "GroupDetailList": [
            {
                "Path": "/",
                "GroupName": "hr-analysts",
                "GroupId": "AGPAEXAMPLEHRGROUP01",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/hr-analysts",
                "CreateDate": "2024-02-01T09:00:00+00:00",
                "GroupPolicyList": [{"PolicyName": "read-bucket", "PolicyDocument": READ_BUCKET}],
                "AttachedManagedPolicies": [
                    {"PolicyName": "HrData", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/HrData"}
                ],
            }
        ],
        "RoleDetailList": [
            {
                "Path": "/service-role/",
                "RoleName": "AmazonBedrockExecutionRoleForAgents_hr",
                "RoleId": "AROAEXAMPLEBEDROCK01",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr",
                "CreateDate": "2024-03-01T09:00:00+00:00",
                "AssumeRolePolicyDocument": BEDROCK_TRUST,
                "InstanceProfileList": [
                    {
                        "Path": "/",
                        "InstanceProfileName": "hr-profile",
                        "InstanceProfileId": "AIPAEXAMPLEPROFILE01",
                        "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/hr-profile",
                        "CreateDate": "2024-03-01T09:00:00+00:00",
                        "Roles": [],
                    }
                ],
                "RolePolicyList": [{"PolicyName": "read-bucket", "PolicyDocument": READ_BUCKET}],
                "AttachedManagedPolicies": [
                    {"PolicyName": "HrData", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/HrData"}
                ],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
                },
                "Tags": [{"Key": "owner", "Value": "hr-platform"}],
                "RoleLastUsed": {},
            }
        ],
        "Policies": [
            {
                "PolicyName": "HrData",
                "PolicyId": "ANPAEXAMPLEHRDATA001",
                "Arn": f"arn:aws:iam::{ACCOUNT}:policy/HrData",
                "Path": "/",
                "DefaultVersionId": "v2",
                "AttachmentCount": 2,
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": "2024-01-01T00:00:00+00:00",
                "UpdateDate": "2024-04-01T00:00:00+00:00",
                "PolicyVersionList": [
                    {
                        "Document": OLD_VERSION,
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "CreateDate": "2024-01-01T00:00:00+00:00",
                    },
                    {
                        "Document": READ_BUCKET,
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "CreateDate": "2024-04-01T00:00:00+00:00",
                    },
                ],
            },
            {
                "PolicyName": "ReadOnlyAccess",
                "PolicyId": "ANPAILL3HVNFSB6DCOWYQ",
                "Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "Path": "/",
                "DefaultVersionId": "v120",
                "AttachmentCount": 1,
                "IsAttachable": True,
                "PolicyVersionList": [{"Document": READ_ONLY, "VersionId": "v120", "IsDefaultVersion": True}],
            },
        ],
        "IsTruncated": False,
    }


def boundary_policy_file(document: Any) -> dict[str, Any]:
    return {
        "Policy": {
            "PolicyName": "DevBoundary",
            "PolicyId": "ANPAEXAMPLEBOUNDARY1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
            "Path": "/boundaries/",
            "DefaultVersionId": "v3",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 2,
            "IsAttachable": True,
        },
        "PolicyVersion": {
            "Document": document,
            "VersionId": "v3",
            "IsDefaultVersion": True,
            "CreateDate": "2024-05-01T00:00:00+00:00",
        },
    }


def test_load_snapshot_iam_alone(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot({DETAILS: authorization_details()})

    snapshot = load_snapshot(root)

    assert snapshot.partition == "aws"
    assert snapshot.collected_at is None
    assert snapshot.organization is None
    assert list(snapshot.accounts) == [ACCOUNT]
    inventory = snapshot.accounts[ACCOUNT]
    assert inventory.coverage == {"iam"}
    assert inventory.users == {
        f"arn:aws:iam::{ACCOUNT}:user/staff/alice": User(
            arn=f"arn:aws:iam::{ACCOUNT}:user/staff/alice",
            name="alice",
            user_id="AIDAEXAMPLEALICE0001",
            account=ACCOUNT,
            path="/staff/",
            tags={"team": "hr", "cost-center": "42"},
            inline_policies=(InlinePolicy(name="invoke-agent", document=INVOKE_AGENT),),
            attached_policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
            group_names=("hr-analysts",),
            permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
        )
    }
    assert inventory.groups == {
        f"arn:aws:iam::{ACCOUNT}:group/hr-analysts": Group(
            arn=f"arn:aws:iam::{ACCOUNT}:group/hr-analysts",
            name="hr-analysts",
            group_id="AGPAEXAMPLEHRGROUP01",
            account=ACCOUNT,
            path="/",
            inline_policies=(InlinePolicy(name="read-bucket", document=READ_BUCKET),),
            attached_policy_arns=(f"arn:aws:iam::{ACCOUNT}:policy/HrData",),
        )
    }
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"
    assert inventory.roles == {
        role_arn: Role(
            arn=role_arn,
            name="AmazonBedrockExecutionRoleForAgents_hr",
            role_id="AROAEXAMPLEBEDROCK01",
            account=ACCOUNT,
            trust_policy=BEDROCK_TRUST,
            path="/service-role/",
            tags={"owner": "hr-platform"},
            inline_policies=(InlinePolicy(name="read-bucket", document=READ_BUCKET),),
            attached_policy_arns=(f"arn:aws:iam::{ACCOUNT}:policy/HrData",),
            permissions_boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
            instance_profile_arns=(f"arn:aws:iam::{ACCOUNT}:instance-profile/hr-profile",),
        )
    }
    assert inventory.managed_policies == {
        f"arn:aws:iam::{ACCOUNT}:policy/HrData": ManagedPolicy(
            arn=f"arn:aws:iam::{ACCOUNT}:policy/HrData",
            name="HrData",
            path="/",
            document=READ_BUCKET,
            is_aws_managed=False,
        ),
        "arn:aws:iam::aws:policy/ReadOnlyAccess": ManagedPolicy(
            arn="arn:aws:iam::aws:policy/ReadOnlyAccess",
            name="ReadOnlyAccess",
            path="/",
            document=READ_ONLY,
            is_aws_managed=True,
        ),
    }
    assert inventory.buckets == {}
    assert inventory.agents == {}
    assert snapshot.not_seen == [
        f"no S3 data for account {ACCOUNT}: bucket policies and tags not analysed",
        f"no Lambda data for account {ACCOUNT}: function roles and resource-based policies not analysed",
        f"no Bedrock agent data for account {ACCOUNT}: agents, aliases and knowledge bases not analysed",
        f"no Bedrock guardrail data for account {ACCOUNT}: guardrails not analysed",
        f"no CloudTrail data for account {ACCOUNT}: whether agent and Lambda activity is logged not analysed",
        "no organization data: SCPs and RCPs not analysed",
    ]


def test_load_snapshot_boundary_from_policy_file(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {
            DETAILS: authorization_details(),
            f"{ACCOUNT}/iam/policies/DevBoundary.json": boundary_policy_file(BOUNDARY),
        }
    )

    inventory = load_snapshot(root).accounts[ACCOUNT]

    assert inventory.managed_policies[f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary"] == (
        ManagedPolicy(
            arn=f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary",
            name="DevBoundary",
            path="/boundaries/",
            document=BOUNDARY,
            is_aws_managed=False,
        )
    )
    assert len(inventory.managed_policies) == 3


def test_policy_file_url_encoded_document(write_snapshot: SnapshotWriter) -> None:
    encoded = urllib.parse.quote(json.dumps(BOUNDARY))
    root = write_snapshot({f"{ACCOUNT}/iam/policies/DevBoundary.json": boundary_policy_file(encoded)})

    inventory = load_snapshot(root).accounts[ACCOUNT]

    policy = inventory.managed_policies[f"arn:aws:iam::{ACCOUNT}:policy/DevBoundary"]
    assert policy.document == BOUNDARY
    assert inventory.coverage == set()


def test_policy_file_without_authorization_details(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot({f"{ACCOUNT}/iam/policies/DevBoundary.json": boundary_policy_file(BOUNDARY)})

    snapshot = load_snapshot(root)

    assert snapshot.accounts[ACCOUNT].coverage == set()
    assert snapshot.not_seen[0] == (
        f"no IAM data for account {ACCOUNT}: users, groups, roles and their policies not analysed"
    )


def test_policy_file_not_default_version(write_snapshot: SnapshotWriter) -> None:
    document = boundary_policy_file(BOUNDARY)
    document["PolicyVersion"]["VersionId"] = "v2"
    document["PolicyVersion"]["IsDefaultVersion"] = False
    root = write_snapshot({f"{ACCOUNT}/iam/policies/DevBoundary.json": document})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{ACCOUNT}/iam/policies/DevBoundary.json"
    assert caught.value.field == "PolicyVersion.VersionId"
    assert caught.value.message == (
        "the file holds version v2, but the default version is v3; save the output of "
        f"`aws iam get-policy-version --policy-arn arn:aws:iam::{ACCOUNT}:policy/DevBoundary "
        "--version-id v3` as PolicyVersion"
    )


def test_policy_file_default_flag_false(write_snapshot: SnapshotWriter) -> None:
    document = boundary_policy_file(BOUNDARY)
    document["PolicyVersion"]["IsDefaultVersion"] = False
    root = write_snapshot({f"{ACCOUNT}/iam/policies/DevBoundary.json": document})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.field == "PolicyVersion.IsDefaultVersion"
    assert caught.value.message == (
        "the file holds a version that is not the default version; save the output of "
        f"`aws iam get-policy-version --policy-arn arn:aws:iam::{ACCOUNT}:policy/DevBoundary "
        "--version-id v3` as PolicyVersion"
    )


def test_authorization_details_string_documents(write_snapshot: SnapshotWriter) -> None:
    details = authorization_details()
    role = details["RoleDetailList"][0]
    role["AssumeRolePolicyDocument"] = urllib.parse.quote(json.dumps(BEDROCK_TRUST))
    role["RolePolicyList"][0]["PolicyDocument"] = json.dumps(READ_BUCKET)
    root = write_snapshot({DETAILS: details})

    inventory = load_snapshot(root).accounts[ACCOUNT]

    (loaded,) = inventory.roles.values()
    assert loaded.trust_policy == BEDROCK_TRUST
    assert loaded.inline_policies == (InlinePolicy(name="read-bucket", document=READ_BUCKET),)


def test_authorization_details_truncated(write_snapshot: SnapshotWriter) -> None:
    details = authorization_details()
    details["IsTruncated"] = True
    details["Marker"] = "AAEAAf"
    root = write_snapshot({DETAILS: details})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == DETAILS
    assert caught.value.field == "IsTruncated"


def test_authorization_details_foreign_account_arn(
    write_snapshot: SnapshotWriter, caplog: pytest.LogCaptureFixture
) -> None:
    details = authorization_details()
    details["UserDetailList"][0]["Arn"] = "arn:aws:iam::444455556666:user/staff/alice"
    root = write_snapshot({DETAILS: details})
    caplog.set_level(logging.WARNING)

    inventory = load_snapshot(root).accounts[ACCOUNT]

    user = inventory.users["arn:aws:iam::444455556666:user/staff/alice"]
    assert user.account == "444455556666"
    assert [record.getMessage() for record in caplog.records] == [
        f"{DETAILS} contains 1 entries whose ARN names an account other than {ACCOUNT} "
        "(first: arn:aws:iam::444455556666:user/staff/alice); they are kept under the account "
        "their ARN names"
    ]


def test_authorization_details_invalid_policy(write_snapshot: SnapshotWriter) -> None:
    details = authorization_details()
    details["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}],
    }
    root = write_snapshot({DETAILS: details})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == DETAILS
    assert caught.value.field == "RoleDetailList[0].RolePolicyList[0].PolicyDocument"
    assert "Effect must be" in caught.value.message
    assert isinstance(caught.value.__cause__, PolicyError)


def test_authorization_details_two_default_versions(write_snapshot: SnapshotWriter) -> None:
    details = authorization_details()
    details["Policies"][0]["PolicyVersionList"][0]["IsDefaultVersion"] = True
    root = write_snapshot({DETAILS: details})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.field == "Policies[0].PolicyVersionList"
    assert "found 2" in caught.value.message


def test_authorization_details_partition_mismatch(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(
        {"manifest.json": {"format_version": 1, "partition": "aws-cn"}, DETAILS: authorization_details()}
    )

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.field == "UserDetailList[0].Arn"
    assert "partition 'aws' but the snapshot partition is 'aws-cn'" in caught.value.message


@pytest.mark.parametrize(
    ("entries", "arn", "field", "message"),
    [
        (
            "UserDetailList",
            f"arn:aws:iam::{ACCOUNT}:user/staff/bob",
            "UserDetailList[0].Arn",
            f"'arn:aws:iam::{ACCOUNT}:user/staff/bob' is not the ARN of user 'alice' "
            "(expected arn:aws:iam::ACCOUNT:user/staff/alice)",
        ),
        (
            "UserDetailList",
            f"arn:aws:iam::{ACCOUNT}:role/staff/alice",
            "UserDetailList[0].Arn",
            f"'arn:aws:iam::{ACCOUNT}:role/staff/alice' is not the ARN of user 'alice'",
        ),
        (
            "GroupDetailList",
            f"arn:aws:iam::{ACCOUNT}:user/hr-analysts",
            "GroupDetailList[0].Arn",
            f"'arn:aws:iam::{ACCOUNT}:user/hr-analysts' is not the ARN of group 'hr-analysts'",
        ),
        (
            "GroupDetailList",
            f"arn:aws:sts::{ACCOUNT}:group/hr-analysts",
            "GroupDetailList[0].Arn",
            f"'arn:aws:sts::{ACCOUNT}:group/hr-analysts' is not the ARN of group 'hr-analysts'",
        ),
        (
            "RoleDetailList",
            f"arn:aws:iam::{ACCOUNT}:role/AmazonBedrockExecutionRoleForAgents_hr",
            "RoleDetailList[0].Arn",
            f"'arn:aws:iam::{ACCOUNT}:role/AmazonBedrockExecutionRoleForAgents_hr' is not the ARN of role "
            "'AmazonBedrockExecutionRoleForAgents_hr' (expected "
            "arn:aws:iam::ACCOUNT:role/service-role/AmazonBedrockExecutionRoleForAgents_hr)",
        ),
    ],
)
def test_authorization_details_arn_of_other_principal(
    write_snapshot: SnapshotWriter, entries: str, arn: str, field: str, message: str
) -> None:
    details = authorization_details()
    details[entries][0]["Arn"] = arn
    root = write_snapshot({DETAILS: details})

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == DETAILS
    assert caught.value.field == field
    assert caught.value.message.startswith(message)


def test_authorization_details_arn_without_path(write_snapshot: SnapshotWriter) -> None:
    details = authorization_details()
    del details["RoleDetailList"][0]["Path"]
    root = write_snapshot({DETAILS: details})

    inventory = load_snapshot(root).accounts[ACCOUNT]

    assert list(inventory.roles) == [f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"]
