"""Escalation paths on the real account export with iam-vulnerable deployed.

The export (tests/data/cloudsplaining-account/NOTICE.md) contains IAM only, so the target of
every path is an admin-level API: `ec2:CreateVpc`, which `privesc-high-priv-service-role`
and the other strong principals may call. Each `privesc*` principal below is listed with
the escalation edge its path starts with; the ones without an escalation of their own are
listed apart, each with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.model import ESCALATION_RELS, Rel
from engine.paths import blast_radius
from ingest.snapshot import load_snapshot

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "cloudsplaining-account"
ACCOUNT = "210987654321"
CREATE_VPC = f"vpc-api:{ACCOUNT}:*:ec2:CreateVpc"

# Technique name stem -> (first edge of the path, potential). Both the -user and the -role
# of each stem escalate this way unless the stem is in USER_ONLY or ROLE_ONLY.
ESCALATING: dict[str, tuple[Rel, bool]] = {
    "privesc1-CreateNewPolicyVersion": (Rel.CAN_CREATE_POLICY_VERSION, False),
    "privesc2-SetExistingDefaultPolicyVersion": (Rel.CAN_SET_DEFAULT_POLICY_VERSION, True),
    "privesc3-CreateEC2WithExistingInstanceProfile": (Rel.CAN_PASS_ROLE_TO_EC2, False),
    "privesc4-CreateAccessKey": (Rel.CAN_CREATE_ACCESS_KEY, False),
    "privesc5-CreateLoginProfile": (Rel.CAN_CREATE_LOGIN_PROFILE, True),
    "privesc6-UpdateLoginProfile": (Rel.CAN_UPDATE_LOGIN_PROFILE, True),
    "privesc7-AttachUserPolicy": (Rel.CAN_ATTACH_USER_POLICY, False),
    "privesc8-AttachGroupPolicy": (Rel.CAN_ATTACH_GROUP_POLICY, False),
    "privesc9-AttachRolePolicy": (Rel.CAN_ATTACH_ROLE_POLICY, False),
    "privesc10-PutUserPolicy": (Rel.CAN_PUT_USER_POLICY, False),
    "privesc11-PutGroupPolicy": (Rel.CAN_PUT_GROUP_POLICY, False),
    "privesc12-PutRolePolicy": (Rel.CAN_PUT_ROLE_POLICY, False),
    "privesc13-AddUserToGroup": (Rel.CAN_ADD_USER_TO_GROUP, False),
    "privesc14-UpdatingAssumeRolePolicy": (Rel.CAN_UPDATE_ASSUME_ROLE_POLICY, False),
    "privesc15-PassExistingRoleToNewLambdaThenInvoke": (Rel.CAN_PASS_ROLE_TO_LAMBDA, False),
    "privesc16-PassRoleToNewLambdaThenTriggerWithNewDynamo": (Rel.CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE, True),
    # The export has no Lambda data, so editing a function is an assumption here.
    "privesc17-EditExistingLambdaFunctionWithRole": (Rel.CAN_UPDATE_FUNCTION_CODE, True),
    "privesc18-PassExistingRoleToNewGlueDevEndpoint": (Rel.CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT, False),
    "privesc19-UpdateExistingGlueDevEndpoint": (Rel.CAN_UPDATE_GLUE_DEV_ENDPOINT, True),
    "privesc20-PassExistingRoleToCloudFormation": (Rel.CAN_PASS_ROLE_TO_CLOUDFORMATION, False),
    "privesc21-PassExistingRoleToNewDataPipeline": (Rel.CAN_PASS_ROLE_TO_DATA_PIPELINE, False),
    "privesc-CloudFormationUpdateStack": (Rel.CAN_UPDATE_STACK, True),
    "privesc-codeBuildCreateProjectPassRole": (Rel.CAN_PASS_ROLE_TO_CODEBUILD, False),
    "privesc-ec2InstanceConnect": (Rel.CAN_SEND_SSH_PUBLIC_KEY, True),
    "privesc-sageMakerCreateNotebookPassRole": (Rel.CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK, False),
    "privesc-sageMakerCreatePresignedNotebookURL": (Rel.CAN_OPEN_NOTEBOOK, True),
    "privesc-sageMakerCreateProcessingJobPassRole": (Rel.CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING, False),
    "privesc-sageMakerCreateTrainingJobPassRole": (Rel.CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING, False),
    "privesc-ssmSendCommand": (Rel.CAN_SEND_COMMAND, True),
    "privesc-ssmStartSession": (Rel.CAN_START_SESSION, True),
}
# A user acts as no role here, so writing a role's policy helps only the role itself.
ROLE_ONLY = {"privesc9-AttachRolePolicy", "privesc12-PutRolePolicy"}
# A role is in no group and acts as no user, so its user and group writes help only a user
# whose access keys or password the role's holder also has. The export does not record
# credentials, so the role's edge is potential. iam-vulnerable's profile for these paths is the role.
CREDENTIALS_NEEDED = {"privesc7-AttachUserPolicy", "privesc8-AttachGroupPolicy", "privesc10-PutUserPolicy"}
CREDENTIALS_NEEDED |= {"privesc11-PutGroupPolicy", "privesc13-AddUserToGroup"}

# privesc principals without an escalation edge of their own, and why.
WITHOUT_ESCALATION = {
    # Their policies write roles that no trust policy lets them assume. Trust policies are
    # in the export, so this is known, not assumed.
    "privesc9-AttachRolePolicy-user": "the user may attach policies to roles but can assume none",
    "privesc12-PutRolePolicy-user": "the user may write role policies but can assume none",
    # The AssumeRole scenario: a chain of trust policies, which CAN_ASSUME edges follow.
    "privesc-AssumeRole-start-user": "the export's starting role trusts an SSO session, not this user",
    "privesc-AssumeRole-starting-role": "reaches the ending role through two CAN_ASSUME edges",
    "privesc-AssumeRole-intermediate-role": "reaches the ending role through one CAN_ASSUME edge",
    # A target, not a source.
    "privesc-permissive-role-trust": "has no permissions; its trust policy admits the account",
}
# privesc principals that already hold admin-level permissions. They may also rewrite
# their own policies, so they have escalation edges, but their path needs none.
ALREADY_STRONG = {
    "privesc-AssumeRole-ending-role": "may do everything",
    "privesc-high-priv-service-role": "may do everything; the techniques aim at it",
    "privesc-sre-role": "may call iam:*, ec2:* and s3:*",
    "privesc-sre-user": "its group privesc-sre-group may call iam:*, ec2:* and s3:*",
}


def arn(name: str) -> str:
    kind = "role" if name.endswith("-role") else "user"
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def escalating_principals() -> list[tuple[str, Rel, bool]]:
    found = []
    for stem, (rel, potential) in ESCALATING.items():
        kinds = ("role",) if stem in ROLE_ONLY else ("user", "role")
        for kind in kinds:
            found.append((f"{stem}-{kind}", rel, potential or (kind == "role" and stem in CREDENTIALS_NEEDED)))
    return sorted(found)


@pytest.fixture(scope="module")
def deputy() -> DeputyGraph:
    return build_graph(load_snapshot(SNAPSHOT))


@pytest.fixture(scope="module")
def strict() -> DeputyGraph:
    return build_graph(load_snapshot(SNAPSHOT), potential=False)


def escalation_rels(deputy: DeputyGraph, node: str) -> set[str]:
    return {str(rel) for _, _, rel in deputy.graph.out_edges(node, keys=True) if rel in ESCALATION_RELS}


def admin_path(deputy: DeputyGraph, node: str) -> list[str] | None:
    reach = next((r for r in blast_radius(deputy, node) if r.target == CREATE_VPC), None)
    return None if reach is None else [step.rel for step in reach.steps]


def test_every_privesc_principal_is_listed(deputy: DeputyGraph) -> None:
    names = {
        data["name"]
        for _, data in deputy.graph.nodes(data=True)
        if data["label"] in ("User", "Role") and str(data["name"]).startswith("privesc")
    }
    listed = {name for name, _, _ in escalating_principals()} | set(WITHOUT_ESCALATION) | set(ALREADY_STRONG)
    assert names == listed


@pytest.mark.parametrize(("name", "rel", "potential"), escalating_principals())
def test_privesc_principal_gets_its_path(
    deputy: DeputyGraph, strict: DeputyGraph, name: str, rel: Rel, potential: bool
) -> None:
    path = admin_path(deputy, arn(name))
    assert path is not None and path[0] == rel
    assert (admin_path(strict, arn(name)) is None) is potential


# The AssumeRole scenario's path runs over trust policies alone.
ASSUME_CHAIN = {
    "privesc-AssumeRole-starting-role": [Rel.CAN_ASSUME, Rel.CAN_ASSUME, Rel.CAN_CALL],
    "privesc-AssumeRole-intermediate-role": [Rel.CAN_ASSUME, Rel.CAN_CALL],
}


@pytest.mark.parametrize("name", sorted(WITHOUT_ESCALATION))
def test_privesc_principal_without_escalation(deputy: DeputyGraph, name: str) -> None:
    assert escalation_rels(deputy, arn(name)) == set()
    assert admin_path(deputy, arn(name)) == ASSUME_CHAIN.get(name)


@pytest.mark.parametrize("name", sorted(ALREADY_STRONG))
def test_privesc_principal_already_strong(deputy: DeputyGraph, name: str) -> None:
    assert admin_path(deputy, arn(name)) == [str(Rel.CAN_CALL)]


@pytest.mark.parametrize(
    "name",
    [
        f"fn{n}-{stem}-{kind}"
        for n, stem in (
            (1, "privesc3-partial"),
            (2, "exploitableResourceConstraint"),
            (3, "exploitableConditionConstraint"),
            (4, "exploitableNotAction"),
        )
        for kind in ("user", "role")
    ],
)
def test_fn_principal_is_flagged(deputy: DeputyGraph, name: str) -> None:
    assert escalation_rels(deputy, arn(name))


@pytest.mark.parametrize(
    "name",
    [
        f"fp{n}-{stem}-{kind}"
        for n, stem in (
            (1, "allow-and-deny"),
            (2, "allow-and-deny-multiple-policies"),
            (3, "deny-iam"),
            (4, "nonExploitableResourceConstraint"),
            (5, "nonExploitableConditionConstraint"),
        )
        for kind in ("user", "role")
    ],
)
def test_fp_principal_is_not_flagged(deputy: DeputyGraph, name: str) -> None:
    assert escalation_rels(deputy, arn(name)) == set()
    assert admin_path(deputy, arn(name)) is None
