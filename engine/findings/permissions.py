"""DG001 wildcard permissions and DG002 shared execution roles.

DG001 reads the identity-based statements of every agent execution role and every
action-group Lambda role. A statement is a finding when it allows every action (`*`),
every action of a service (`s3:*`), everything but some actions (`NotAction`), or a
data action on every resource. Data actions are the Read and Write actions, as the
Service Authorization Reference classes them, of services that hold customer data
(`DATA_SERVICES`), when the action has a resource type that the statement could name.

Not modelled: statements of permissions boundaries and SCPs, which only limit, and
wildcards inside resource ARNs (`arn:aws:s3:::acme-*`), which may be intended.
"""

from __future__ import annotations

from collections import defaultdict

from engine.actions import action_info, expand_action_pattern
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.model import Label
from engine.policy import Statement

# Services whose Read and Write actions touch the data they store.
DATA_SERVICES = frozenset(
    {
        "s3",
        "s3-object-lambda",
        "dynamodb",
        "rds-data",
        "secretsmanager",
        "ssm",
        "kms",
        "sqs",
        "sns",
        "kinesis",
        "firehose",
        "glue",
        "athena",
        "redshift-data",
        "es",
        "aoss",
        "bedrock",
        "lambda",
    }
)


def _wildcard_actions(statement: Statement) -> list[str]:
    if statement.not_actions is not None:
        return [f"NotAction {', '.join(statement.not_actions)}"]
    return [pattern for pattern in statement.actions or () if pattern == "*" or pattern.endswith(":*")]


def _data_actions_on_any_resource(statement: Statement) -> list[str]:
    """Data actions the statement allows on `*` (or through NotResource) that could name a resource."""
    if statement.resources is not None and "*" not in statement.resources:
        return []
    found: list[str] = []
    for pattern in statement.actions or ():
        if pattern == "*" or pattern.endswith(":*"):
            continue
        names = expand_action_pattern(pattern) if "*" in pattern or "?" in pattern else (pattern,)
        for name in names:
            info = action_info(name)
            if info is None or not info.resource_types:
                continue
            if info.access_level in ("Read", "Write") and name.partition(":")[0].lower() in DATA_SERVICES:
                found.append(info.name)
    return sorted(set(found))


def _role_purposes(context: FindingContext) -> dict[str, list[str]]:
    """Role ARN -> what it runs: agents and action-group functions."""
    purposes: dict[str, list[str]] = defaultdict(list)
    for role_arn, uses in context.agent_roles.items():
        names = sorted({use.agent.name for use in uses})
        purposes[role_arn].append(f"execution role of agent{'s' if len(names) > 1 else ''} {', '.join(names)}")
    for role_arn, functions in context.lambda_roles.items():
        names = sorted(context.node_name(arn) for arn in functions)
        purposes[role_arn].append(f"execution role of action-group Lambda function {', '.join(names)}")
    return dict(sorted(purposes.items()))


def wildcard_permissions(context: FindingContext) -> list[Finding]:
    """DG001: one finding per statement of an agent or action-group Lambda role that uses wildcards."""
    findings: list[Finding] = []
    for role_arn, purposes in _role_purposes(context).items():
        if context.authorizer.role(role_arn) is None:
            continue
        for statement in context.authorizer.identity_statements(role_arn):
            if not statement.is_allow:
                continue
            wildcards = _wildcard_actions(statement)
            data_actions = _data_actions_on_any_resource(statement)
            if not wildcards and not data_actions:
                continue
            findings.append(
                _wildcard_finding(
                    context, role_arn, purposes, statement, wildcards=wildcards, data_actions=data_actions
                )
            )
    return findings


def _wildcard_finding(
    context: FindingContext,
    role_arn: str,
    purposes: list[str],
    statement: Statement,
    *,
    wildcards: list[str],
    data_actions: list[str],
) -> Finding:
    role_name = context.node_name(role_arn)
    where = f"{statement.source.policy_id} statement {statement.index}" + (
        f" ({statement.sid})" if statement.sid else ""
    )
    parts = []
    if wildcards:
        parts.append(f"allows {', '.join(wildcards)}")
    if data_actions:
        resources = ", ".join(statement.resources) if statement.resources is not None else "NotResource"
        parts.append(f"allows the data actions {', '.join(data_actions)} on {resources}")
    detail = f"{where} {' and '.join(parts)}; the role is the {'; '.join(purposes)}"
    severity = Severity.HIGH if wildcards or any(a.startswith("s3:") for a in data_actions) else Severity.MEDIUM
    return Finding(
        rule_id="DG001",
        rule="wildcard-permissions",
        severity=severity,
        title=f"Role {role_name} allows {'wildcard actions' if wildcards else 'data actions on every resource'}",
        key=f"{role_arn}|{statement.source.policy_id}#{statement.index}",
        resources=(role_arn, statement.source.policy_id),
        evidence=(
            Evidence(
                detail=detail,
                policy=statement.source.policy_id,
                statement_index=statement.index,
                sid=statement.sid,
            ),
        ),
        remediation=(
            f"Replace the statement with one that names only the actions and resources that {role_name} needs; "
            "the least-privilege section of `deputy report` proposes such a policy and shows what it removes."
        ),
        score=float(len(wildcards) * 10 + len(data_actions)),
        details={"wildcard_actions": wildcards, "data_actions_on_any_resource": data_actions},
    )


def shared_execution_roles(context: FindingContext) -> list[Finding]:
    """DG002: a role that runs several agents, or an agent and any other workload."""
    graph = context.deputy.graph
    findings: list[Finding] = []
    for role_arn, uses in context.agent_roles.items():
        agents = sorted({use.agent.arn for use in uses})
        others: list[str] = []
        for source, _, rel in graph.in_edges(role_arn, keys=True) if role_arn in graph else ():
            label = graph.nodes[source]["label"]
            if rel == "HAS_EXECUTION_ROLE" and label in (Label.LAMBDA_FUNCTION, Label.KNOWLEDGE_BASE):
                others.append(f"{label} {context.node_name(source)}")
            elif rel == "CAN_ASSUME" and label != Label.SERVICE_PRINCIPAL:
                others.append(f"{label} {context.node_name(source)} may assume it")
        services = (
            [
                service
                for service in (graph.nodes[role_arn].get("trusted_services") or [])
                if not service.startswith("bedrock.")
            ]
            if role_arn in graph
            else []
        )
        others += [f"trusted service {service}" for service in services]
        if len(agents) < 2 and not others:
            continue
        names = [context.node_name(arn) for arn in agents]
        role_name = context.node_name(role_arn)
        versions: dict[str, list[str]] = {}
        for use in uses:
            versions.setdefault(use.agent.arn, []).append(use.version)
        evidence = [
            Evidence(
                detail=f"agent {context.node_name(agent)} runs with {role_name} "
                f"({', '.join('current settings' if v == 'current' else f'version {v}' for v in found)})",
                setting=f"{agent} agentResourceRoleArn",
            )
            for agent, found in sorted(versions.items())
        ]
        evidence += [Evidence(detail=f"{role_name} is also used by {other}") for other in sorted(set(others))]
        findings.append(
            Finding(
                rule_id="DG002",
                rule="shared-execution-role",
                severity=Severity.MEDIUM if len(agents) < 3 else Severity.HIGH,
                title=f"Execution role {role_name} is shared by {len(agents)} agent{'s' if len(agents) > 1 else ''}"
                + (" and other workloads" if others else ""),
                key=role_arn,
                resources=(role_arn, *agents),
                evidence=tuple(evidence),
                remediation=(
                    f"Give each of {', '.join(names)} its own execution role with only that agent's model, knowledge "
                    "bases and guardrail, so that one agent's access does not come with another's."
                ),
                score=float(len(agents) + len(others)),
                details={"agents": agents, "other_uses": sorted(set(others))},
            )
        )
    return findings
