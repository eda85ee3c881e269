"""Graph building on small literal snapshots: assume edges across accounts, services and outsiders."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.graph import DeputyGraph, build_graph
from engine.inventory import (
    AccountInventory,
    ActionGroup,
    Agent,
    AgentAlias,
    AgentKnowledgeBase,
    AgentVersion,
    Bucket,
    DataSource,
    InlinePolicy,
    KnowledgeBase,
    LambdaFunction,
    Organization,
    OrgPolicy,
    Role,
    Snapshot,
    User,
)
from engine.model import Label, Rel
from engine.paths import blast_radius, reach_from

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


def test_qualified_executor_arn_reaches_function() -> None:
    # The ActionGroupExecutor reference allows `function:NAME:QUALIFIER`; the path runs through the function.
    snapshot = agent_snapshot(bedrock_may_invoke())
    agent = next(iter(snapshot.accounts[A].agents.values()))
    version = agent.versions["1"]
    qualified = replace(version.action_groups[0], lambda_arn=f"arn:aws:lambda:us-east-1:{A}:function:fn:prod")
    snapshot.accounts[A].agents[agent.arn] = replace(
        agent, versions={"1": replace(version, action_groups=(qualified,))}
    )
    assert reached(snapshot) == {f"vpc-api:{A}:us-east-1:ec2:CreateVpc"}


def test_missing_function_is_noted() -> None:
    snapshot = agent_snapshot(bedrock_may_invoke())
    del snapshot.accounts[A].functions[f"arn:aws:lambda:us-east-1:{A}:function:fn"]
    deputy = build_graph(snapshot)
    assert any("does not hold" in note and "function:fn" in note for note in deputy.notes)


def test_scp_reading_principal_arn_is_not_cached() -> None:
    # Two roles with the same policy differ only in the SCP condition on aws:PrincipalArn.
    snapshot = Snapshot(path="test")
    statement = {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}
    for name in ("aa-app", "zz-admin"):
        add(snapshot, role(A, name, trust({"Service": "ec2.amazonaws.com"}), statement))
    snapshot.accounts[A].coverage.add("lambda:us-east-1")
    full = OrgPolicy(
        "p-full",
        "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
        "FullAWSAccess",
        "SERVICE_CONTROL_POLICY",
        policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        True,
        ("r-root", A),
    )
    deny = OrgPolicy(
        "p-deny",
        "arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-deny",
        "ec2-admins-only",
        "SERVICE_CONTROL_POLICY",
        policy(
            {
                "Effect": "Deny",
                "Action": "ec2:*",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/zz-admin"}},
            }
        ),
        False,
        ("r-root",),
    )
    snapshot.organization = Organization(
        "o-x", "999999999999", ("r-root",), (A, "999999999999"), {A: "r-root"}, (full, deny)
    )
    deputy = build_graph(snapshot)
    callers = {
        source.rsplit("/", 1)[-1] for source, target, rel in deputy.graph.edges(keys=True) if rel == Rel.CAN_CALL
    }
    assert callers == {"zz-admin"}


def test_knowledge_base_needs_retrieve_permission() -> None:
    # Bedrock User Guide, "Create a service role for Amazon Bedrock Agents": the agent's execution role
    # needs permission to query its knowledge bases, so a role that may not retrieve gives no path.
    snapshot = agent_snapshot(None)
    kb_arn = f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/KB00000001"
    bucket_arn = "arn:aws:s3:::payroll-docs"
    snapshot.accounts[A].knowledge_bases[kb_arn] = KnowledgeBase(
        kb_arn, "KB00000001", "docs", A, "us-east-1", None, (DataSource("DS1", "docs", "KB00000001", bucket_arn),)
    )
    agent = next(iter(snapshot.accounts[A].agents.values()))
    version = replace(agent.versions["1"], knowledge_bases=(AgentKnowledgeBase("KB00000001", True),))
    snapshot.accounts[A].agents[agent.arn] = replace(agent, versions={"1": version})
    assert reached(snapshot) == set()
    exec_role = snapshot.accounts[A].roles[f"arn:aws:iam::{A}:role/agent-role"]
    retrieve = InlinePolicy("kb", policy({"Effect": "Allow", "Action": "bedrock:Retrieve", "Resource": kb_arn}))
    snapshot.accounts[A].roles[exec_role.arn] = replace(exec_role, inline_policies=(retrieve,))
    assert reached(snapshot) == {bucket_arn}


def test_bucket_policy_naming_role_session() -> None:
    # ELEMENTS (Principal, "Role sessions"): a policy may name one session of a role; whoever assumes
    # the role chooses the session name, so the role reaches the bucket under that name.
    snapshot = Snapshot(path="test")
    worker = role(A, "worker", trust({"Service": "ec2.amazonaws.com"}))
    add(snapshot, worker)
    session = f"arn:aws:sts::{A}:assumed-role/worker/nightly"
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": session},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::jobs/*",
    }
    snapshot.accounts[A].buckets["arn:aws:s3:::jobs"] = Bucket("jobs", "arn:aws:s3:::jobs", A, policy=policy(statement))
    deputy = build_graph(snapshot)
    data = deputy.graph.get_edge_data(worker.arn, "arn:aws:s3:::jobs", key=str(Rel.CAN_READ))
    assert data is not None
    assert "'nightly'" in data["note"]


def test_paused_alias_routes_nowhere() -> None:
    # AgentAliasSummary (Bedrock API reference): REJECT_INVOCATIONS means the alias is paused.
    snapshot = agent_snapshot(bedrock_may_invoke())
    agent = next(iter(snapshot.accounts[A].agents.values()))
    paused = replace(agent.aliases[0], invocation_state="REJECT_INVOCATIONS")
    snapshot.accounts[A].agents[agent.arn] = replace(agent, aliases=(paused,))
    assert reached(snapshot) == set()


def test_unknown_routing_reaches_every_version_conditionally() -> None:
    snapshot = agent_snapshot(bedrock_may_invoke())
    agent = next(iter(snapshot.accounts[A].agents.values()))
    unknown = replace(agent.aliases[0], versions=(), routing_known=False)
    snapshot.accounts[A].agents[agent.arn] = replace(agent, aliases=(unknown,))
    deputy = build_graph(snapshot)
    reaches = [r for r in blast_radius(deputy, f"arn:aws:iam::{A}:user/erin") if r.confused_deputy]
    assert {r.target for r in reaches} == {f"vpc-api:{A}:us-east-1:ec2:CreateVpc"}
    assert all(r.conditional for r in reaches)


def test_shorter_lambda_path_does_not_hide_agent_path() -> None:
    # erin may also invoke fn directly, which reaches ec2:CreateVpc in 3 steps, while the
    # agent needs 6. She still could not call ec2:CreateVpc herself, so the agent path is
    # the confused deputy that the blast radius shows.
    snapshot = agent_snapshot(bedrock_may_invoke())
    erin = snapshot.accounts[A].users[f"arn:aws:iam::{A}:user/erin"]
    direct_invoke = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}
    snapshot.accounts[A].users[erin.arn] = replace(
        erin, inline_policies=(*erin.inline_policies, InlinePolicy("invoke", policy(direct_invoke)))
    )
    deputy = build_graph(snapshot)
    (reach,) = [r for r in blast_radius(deputy, erin.arn) if r.target == f"vpc-api:{A}:us-east-1:ec2:CreateVpc"]
    assert reach.confused_deputy
    assert reach.kind == "agent-action-group"
    assert [step.rel for step in reach.steps] == [
        Rel.CAN_INVOKE_AGENT,
        Rel.ROUTES_TO,
        Rel.HAS_ACTION_GROUP,
        Rel.CALLS_FUNCTION,
        Rel.HAS_EXECUTION_ROLE,
        Rel.CAN_CALL,
    ]
    shortest = {r.target: r for r in reach_from(deputy, erin.arn)}[reach.target]
    assert shortest.kind == "lambda-function"
    assert len(shortest.steps) == 3


def test_edge_lists_conditional_actions() -> None:
    # PutObject is allowed outright and DeleteObject only with MFA, so the write edge is
    # unconditional and names DeleteObject with its condition.
    snapshot = Snapshot(path="test")
    writer = user(
        A,
        "frank",
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::jobs/*"},
        {
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::jobs/*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
    )
    add(snapshot, writer)
    snapshot.accounts[A].buckets["arn:aws:s3:::jobs"] = Bucket("jobs", "arn:aws:s3:::jobs", A)
    data = build_graph(snapshot).graph.get_edge_data(writer.arn, "arn:aws:s3:::jobs", key=str(Rel.CAN_WRITE))
    assert data is not None
    assert data["actions"] == ["s3:PutObject", "s3:DeleteObject"]
    assert data["conditional"] is False
    assert data["conditional_actions"] == ["s3:DeleteObject"]
    assert data["reason"].endswith("; s3:DeleteObject only if Bool aws:MultiFactorAuthPresent = true")


def test_missing_execution_role_is_noted() -> None:
    # The function's role is not in the snapshot, so no path goes on from it. A note names
    # the role, so that fewer paths are not read as less reach.
    snapshot = agent_snapshot(bedrock_may_invoke())
    del snapshot.accounts[A].roles[f"arn:aws:iam::{A}:role/fn-role"]
    deputy = build_graph(snapshot)
    assert reached(snapshot) == set()
    assert (
        f"execution role arn:aws:iam::{A}:role/fn-role of Lambda function fn is not in the snapshot: "
        "what that role reaches is not analysed"
    ) in deputy.notes
    assert not any("execution role" in note for note in build_graph(agent_snapshot(bedrock_may_invoke())).notes)
