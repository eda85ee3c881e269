"""Graph and path answers on the bundled example, asserted as sets of exact values."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.model import Label, Rel
from engine.paths import blast_radius, invokers, reach_from
from ingest.snapshot import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
HR_ANALYST = f"arn:aws:iam::{ACCOUNT}:user/hr-analyst"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
STATE_BUCKET = "arn:aws:s3:::acme-terraform-state"
AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"
VPC_ACTIONS = {
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateRoute",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:ModifyVpcAttribute",
    "ec2:CreateInternetGateway",
    "ec2:AttachInternetGateway",
}


@pytest.fixture(scope="module")
def deputy() -> DeputyGraph:
    return build_graph(load_snapshot(EXAMPLE))


def vpc_node(action: str) -> str:
    return f"vpc-api:{ACCOUNT}:us-east-1:{action}"


def test_alias_routes_to_its_version(deputy: DeputyGraph) -> None:
    routes = {
        (source.rsplit("/", 1)[-1], target.rsplit("/", 1)[-1])
        for source, target, rel in deputy.graph.edges(keys=True)
        if rel == Rel.ROUTES_TO and source.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/")
    }
    assert routes == {("PRD4N8XK2Z", "2"), ("V1S7QJ3M0B", "1"), ("TSTALIASID", "DRAFT")}


def test_developer_reads_hr_bucket_as_confused_deputy(deputy: DeputyGraph) -> None:
    reaches = {(r.target, r.access): r for r in blast_radius(deputy, ALICE)}
    hr = reaches[(HR_BUCKET, "read")]
    assert hr.confused_deputy
    assert hr.kind == "agent-knowledge-base"
    assert not hr.conditional


def test_developer_calls_vpc_apis_through_lambda(deputy: DeputyGraph) -> None:
    reaches = {(r.target, r.access): r for r in blast_radius(deputy, ALICE)}
    called = {r.target for r in reaches.values() if r.access == "call" and r.confused_deputy}
    assert called == {vpc_node(action) for action in VPC_ACTIONS}
    path = reaches[(vpc_node("ec2:CreateVpc"), "call")]
    assert path.kind == "agent-action-group"
    assert [step.rel for step in path.steps] == [
        Rel.CAN_INVOKE_AGENT,
        Rel.ROUTES_TO,
        Rel.HAS_ACTION_GROUP,
        Rel.CALLS_FUNCTION,
        Rel.HAS_EXECUTION_ROLE,
        Rel.CAN_CALL,
    ]


def test_path_edges_carry_granting_statements(deputy: DeputyGraph) -> None:
    reaches = {(r.target, r.access): r for r in blast_radius(deputy, ALICE)}
    steps = reaches[(vpc_node("ec2:CreateVpc"), "call")].steps
    invoke = steps[0].properties
    assert invoke["actions"] == ["bedrock:InvokeAgent"]
    assert [s["policy"] for s in invoke["statements"]] == [f"arn:aws:iam::{ACCOUNT}:policy/developers-bedrock-access"]
    final = steps[-1].properties
    assert final["actions"] == ["ec2:CreateVpc"]
    assert (
        final["statements"][0]["policy"]
        == f"arn:aws:iam::{ACCOUNT}:role/infra-vpc-provisioner-role#inline:vpc-provisioning"
    )


def test_stable_alias_does_not_reach_vpc_apis(deputy: DeputyGraph) -> None:
    for reach in blast_radius(deputy, ALICE):
        if reach.access == "call":
            assert not reach.steps[0].target.endswith("/V1S7QJ3M0B")


def test_hr_analyst_direct_read_is_not_confused_deputy(deputy: DeputyGraph) -> None:
    reaches = {(r.target, r.access): r for r in blast_radius(deputy, HR_ANALYST)}
    assert not reaches[(HR_BUCKET, "read")].confused_deputy
    assert reaches[(vpc_node("ec2:CreateVpc"), "call")].confused_deputy


def test_developer_has_no_direct_reach(deputy: DeputyGraph) -> None:
    direct = reach_from(deputy, ALICE, agents=False, functions=False)
    assert {(r.target, r.access) for r in direct} == set()


def test_bucket_policy_deny_blocks_agent_role(deputy: DeputyGraph) -> None:
    targets = {r.target for r in blast_radius(deputy, ALICE, sensitive_only=False)}
    assert STATE_BUCKET not in targets


def test_mfa_trust_gives_conditional_assume(deputy: DeputyGraph) -> None:
    admin = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    edges = [
        data
        for source, target, rel, data in deputy.graph.edges(keys=True, data=True)
        if target == admin and rel == Rel.CAN_ASSUME
    ]
    assert edges
    assert all(edge["conditional"] for edge in edges)
    assert {c["key"] for edge in edges for c in edge["conditions"]} == {"aws:MultiFactorAuthPresent"}


def test_invokers_of_example(deputy: DeputyGraph) -> None:
    names = {deputy.graph.nodes[node]["name"] for node in invokers(deputy)}
    assert {"alice", "bob", "hr-analyst"} <= names
    assert all(deputy.graph.nodes[node]["label"] in (Label.USER, Label.ROLE) for node in invokers(deputy))


def test_execution_role_is_service_only(deputy: DeputyGraph) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"
    data = deputy.graph.nodes[role]
    assert data["assumable_by_principals"] is False
    assert data["trusted_services"] == ["bedrock.amazonaws.com"]


def test_agent_version_keeps_its_role(deputy: DeputyGraph) -> None:
    roles = {
        source.rsplit("/", 1)[-1]: target
        for source, target, rel in deputy.graph.edges(keys=True)
        if rel == Rel.HAS_EXECUTION_ROLE and source.startswith(f"{AGENT}#version/")
    }
    assert set(roles) == {"1", "2", "DRAFT"}
    draft = deputy.graph.nodes[f"{AGENT}#version/DRAFT"]
    assert draft["role_from_agent"] is True
