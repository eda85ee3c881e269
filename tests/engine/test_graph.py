"""Graph building on small literal snapshots: assume edges across accounts, services and outsiders."""

from __future__ import annotations

from typing import Any

from engine.graph import DeputyGraph, build_graph
from engine.inventory import (
    AccountInventory,
    ActionGroup,
    Agent,
    AgentAlias,
    AgentVersion,
    InlinePolicy,
    LambdaFunction,
    Role,
    Snapshot,
    User,
)
from engine.model import Label, Rel
from engine.paths import blast_radius

A = "111111111111"
B = "222222222222"
OUTSIDE = "333333333333"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(principal: dict[str, Any] | str, **extra: Any) -> dict[str, Any]:
    return policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra})


def add(snapshot: Snapshot, record: User | Role | LambdaFunction | Agent) -> None:
    account = snapshot.accounts.setdefault(record.account, AccountInventory(record.account))
    if isinstance(record, User):
        account.users[record.arn] = record
    elif isinstance(record, Role):
        account.roles[record.arn] = record
    elif isinstance(record, LambdaFunction):
        account.functions[record.arn] = record
    else:
        account.agents[record.arn] = record


def user(account: str, name: str, *statements: dict[str, Any]) -> User:
    inline = (InlinePolicy("p", policy(*statements)),) if statements else ()
    return User(f"arn:aws:iam::{account}:user/{name}", name, f"AIDA{name.upper()}", account, inline_policies=inline)


def role(account: str, name: str, trust_policy: dict[str, Any], *statements: dict[str, Any]) -> Role:
    inline = (InlinePolicy("p", policy(*statements)),) if statements else ()
    return Role(
        f"arn:aws:iam::{account}:role/{name}",
        name,
        f"AROA{name.upper()}",
        account,
        trust_policy,
        inline_policies=inline,
    )


def assume_edges(deputy: DeputyGraph) -> set[tuple[str, str, bool]]:
    return {
        (source, target, bool(data["conditional"]))
        for source, target, rel, data in deputy.graph.edges(keys=True, data=True)
        if rel == Rel.CAN_ASSUME
    }


def cross_account_snapshot() -> Snapshot:
    snapshot = Snapshot(path="test")
    shared = role(A, "shared", trust({"AWS": f"arn:aws:iam::{B}:root"}))
    add(snapshot, shared)
    add(snapshot, user(B, "carol", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": shared.arn}))
    add(snapshot, user(B, "dave"))
    add(snapshot, role(A, "worker", trust({"Service": "lambda.amazonaws.com"})))
    add(snapshot, role(A, "partner", trust({"AWS": f"arn:aws:iam::{OUTSIDE}:root"})))
    return snapshot


def test_cross_account_trust_needs_caller_policy() -> None:
    # "Cross-account policy evaluation logic": the trust policy and the caller's identity policy must both allow.
    edges = assume_edges(build_graph(cross_account_snapshot()))
    assert (f"arn:aws:iam::{B}:user/carol", f"arn:aws:iam::{A}:role/shared", False) in edges
    assert not any(source == f"arn:aws:iam::{B}:user/dave" for source, _, _ in edges)


def test_service_role_assumable_only_by_service() -> None:
    deputy = build_graph(cross_account_snapshot())
    worker = f"arn:aws:iam::{A}:role/worker"
    callers = {source for source, target, _ in assume_edges(deputy) if target == worker}
    assert callers == {"service:lambda.amazonaws.com"}
    assert deputy.graph.nodes[worker]["assumable_by_principals"] is False


def test_outside_account_edge_is_conditional() -> None:
    # The outside account's own policies are not in the snapshot, so its access depends on them.
    deputy = build_graph(cross_account_snapshot())
    outsider = f"arn:aws:iam::{OUTSIDE}:root"
    assert deputy.graph.nodes[outsider]["label"] == Label.EXTERNAL_ACCOUNT
    assert (outsider, f"arn:aws:iam::{A}:role/partner", True) in assume_edges(deputy)


def agent_snapshot(function_policy: dict[str, Any] | None) -> Snapshot:
    snapshot = Snapshot(path="test")
    agent_arn = f"arn:aws:bedrock:us-east-1:{A}:agent/AGENT00001"
    exec_role = role(A, "agent-role", trust({"Service": "bedrock.amazonaws.com"}))
    fn_role = role(
        A,
        "fn-role",
        trust({"Service": "lambda.amazonaws.com"}),
        {"Effect": "Allow", "Action": "ec2:CreateVpc", "Resource": "*"},
    )
    function = LambdaFunction(
        f"arn:aws:lambda:us-east-1:{A}:function:fn", "fn", A, "us-east-1", fn_role.arn, policy=function_policy
    )
    version = AgentVersion("1", exec_role.arn, action_groups=(ActionGroup("AG1", "ops", True, function.arn),))
    alias = AgentAlias("ALIAS00001", "prod", f"arn:aws:bedrock:us-east-1:{A}:agent-alias/AGENT00001/ALIAS00001", ("1",))
    agent = Agent(agent_arn, "AGENT00001", "ops-agent", A, "us-east-1", exec_role.arn, {"1": version}, (alias,))
    invoker = user(A, "erin", {"Effect": "Allow", "Action": "bedrock:InvokeAgent", "Resource": "*"})
    for record in (exec_role, fn_role, function, agent, invoker):
        add(snapshot, record)
    snapshot.accounts[A].coverage.add("lambda:us-east-1")
    return snapshot


def bedrock_may_invoke(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "bedrock.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": f"arn:aws:lambda:us-east-1:{A}:function:fn",
    }
    if condition:
        statement["Condition"] = condition
    return policy(statement)


def reached(snapshot: Snapshot) -> set[str]:
    deputy = build_graph(snapshot)
    return {reach.target for reach in blast_radius(deputy, f"arn:aws:iam::{A}:user/erin") if reach.confused_deputy}


def test_action_group_lambda_reached_when_policy_allows_bedrock() -> None:
    # Amazon Bedrock User Guide, "Permissions to create and manage an agent" (agents-permissions), section
    # "Resource-based policy to allow Amazon Bedrock to invoke an action group Lambda function": Bedrock
    # invokes the function as bedrock.amazonaws.com with AWS:SourceArn set to the agent's ARN.
    assert reached(agent_snapshot(bedrock_may_invoke())) == {f"vpc-api:{A}:us-east-1:ec2:CreateVpc"}


def test_action_group_lambda_not_reached_without_policy() -> None:
    assert reached(agent_snapshot(None)) == set()


def test_lambda_policy_for_other_agent_blocks_path() -> None:
    # The source ARN Bedrock sends is this agent's ARN, so a policy scoped to another agent does not match.
    other = {"ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{A}:agent/OTHER00001"}}
    assert reached(agent_snapshot(bedrock_may_invoke(other))) == set()


def test_lambda_policy_for_this_agent_allows_path() -> None:
    this = {"ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{A}:agent/AGENT00001"}}
    assert reached(agent_snapshot(bedrock_may_invoke(this))) == {f"vpc-api:{A}:us-east-1:ec2:CreateVpc"}
