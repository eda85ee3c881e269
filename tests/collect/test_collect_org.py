"""`--org`: read the organization from the management account and collect every member through a role.

moto's server contains an organization whose management account is ACCOUNT, with one
member account created by `CreateAccount` and moved into an OU. moto's AssumeRole
accepts a role in any account, so the collector enters the member as it would in AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from engine.errors import UsageError
from ingest.collect.runner import Collector, CollectSettings
from ingest.snapshot import load_snapshot
from tests.collect.collect_support import (
    ACCOUNT,
    READER_ROLE,
    REGION,
    FaultProxy,
    StubbingFactory,
    account_session,
    no_guardrails,
)
from tests.collect.example_environment import stub_iam
from tests.collect.test_collect_faults import LAMBDA_ROLE, build_small, zip_package


def build_organization(moto_url: str) -> tuple[str, str]:
    """Create the organization, a member account in an OU, and one function in the member; return their ids."""
    organizations = account_session(ACCOUNT, moto_url).client("organizations", endpoint_url=moto_url)
    organizations.create_organization(FeatureSet="ALL")
    root_id = organizations.list_roots()["Roots"][0]["Id"]
    organizations.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    unit_id = organizations.create_organizational_unit(ParentId=root_id, Name="Workloads")["OrganizationalUnit"]["Id"]
    status = organizations.create_account(Email="workloads@example.com", AccountName="workloads")
    member = status["CreateAccountStatus"]["AccountId"]
    organizations.move_account(AccountId=member, SourceParentId=root_id, DestinationParentId=unit_id)
    organizations.enable_policy_type(RootId=root_id, PolicyType="RESOURCE_CONTROL_POLICY")
    content = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    rcp = organizations.create_policy(
        Content=json.dumps(content), Description="TLS only", Name="RequireTls", Type="RESOURCE_CONTROL_POLICY"
    )
    organizations.attach_policy(PolicyId=rcp["Policy"]["PolicySummary"]["Id"], TargetId=unit_id)

    member_session = account_session(member, moto_url)
    trust = {"Version": "2012-10-17", "Statement": []}
    member_session.client("iam", endpoint_url=moto_url).create_role(
        RoleName="hr-policy-lookup-role", AssumeRolePolicyDocument=json.dumps(trust)
    )
    member_session.client("lambda", endpoint_url=moto_url).create_function(
        FunctionName="member-function",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{member}:role/hr-policy-lookup-role",
        Handler="app.handler",
        Code={"ZipFile": zip_package()},
    )
    return member, unit_id


def iam_for_management_only() -> Any:
    """Serve the example's IAM to the first account's client, and no principals to the others."""
    clients = 0

    def setup(stubber: Stubber, region: str) -> None:
        nonlocal clients
        clients += 1
        if clients == 1:
            stub_iam(stubber, region)
            return
        empty = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
            "IsTruncated": False,
        }
        stubber.add_response("get_account_authorization_details", empty, {})

    return setup


def org_factory(moto_url: str, proxy: FaultProxy) -> StubbingFactory:
    return StubbingFactory(
        account_session(ACCOUNT, moto_url),
        endpoint_url=proxy.url,
        stubs={"iam": iam_for_management_only(), "bedrock": no_guardrails},
    )


def test_org_collects_every_member(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    member, unit_id = build_organization(moto_url)
    out = tmp_path / "snapshot"
    settings = CollectSettings(out=out, regions=(REGION,), org=True, member_role=READER_ROLE, poll_seconds=0.0)
    result = Collector(settings, org_factory(moto_url, proxy)).run()

    accounts = {entry["account_id"]: entry for entry in result.manifest["accounts"]}
    assert set(accounts) == {ACCOUNT, member}
    assert accounts[ACCOUNT]["access"] == "caller"
    assert accounts[member]["access"] == "assumed-role"
    assert accounts[member]["role_arn"] == f"arn:aws:iam::{member}:role/{READER_ROLE}"
    assert accounts[member]["status"] == "collected"
    assert result.manifest["organization"]["management_account_id"] == ACCOUNT
    assert result.manifest["gaps"] == []

    functions = json.loads((out / member / REGION / "lambda" / "functions.json").read_text())
    assert [function["FunctionArn"] for function in functions["Functions"]] == [
        f"arn:aws:lambda:{REGION}:{member}:function:member-function"
    ]
    own = json.loads((out / ACCOUNT / REGION / "lambda" / "functions.json").read_text())
    assert [function["Role"] for function in own["Functions"]] == [LAMBDA_ROLE]

    snapshot = load_snapshot(out)
    assert snapshot.organization is not None
    assert snapshot.organization.management_account_id == ACCOUNT
    assert set(snapshot.organization.account_ids) == {ACCOUNT, member}
    assert snapshot.organization.parents[member] == unit_id
    policies = {policy.name: policy for policy in snapshot.organization.policies}
    assert set(policies) == {"FullAWSAccess", "RCPFullAWSAccess", "RequireTls"}
    assert policies["RequireTls"].policy_type == "RESOURCE_CONTROL_POLICY"
    assert policies["RequireTls"].target_ids == (unit_id,)
    assert policies["FullAWSAccess"].policy_type == "SERVICE_CONTROL_POLICY"
    assert set(snapshot.accounts) == {ACCOUNT, member}


def test_org_accounts_must_be_members(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    build_organization(moto_url)
    out = tmp_path / "snapshot"
    settings = CollectSettings(
        out=out, regions=(REGION,), org=True, member_role=READER_ROLE, accounts=("999999999999",)
    )
    with pytest.raises(UsageError, match="--accounts 999999999999: not an active account of organization"):
        Collector(settings, org_factory(moto_url, proxy)).run()
    assert list(tmp_path.iterdir()) == []


def test_org_outside_organization_rejected(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    settings = CollectSettings(out=tmp_path / "snapshot", regions=(REGION,), org=True, member_role=READER_ROLE)
    with pytest.raises(UsageError, match="cannot list the organization's accounts"):
        Collector(settings, org_factory(moto_url, proxy)).run()
    assert list(tmp_path.iterdir()) == []
