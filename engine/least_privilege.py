"""Least-privilege policies for agent execution roles and action-group Lambda roles.

For an agent execution role the proposal follows the Amazon Bedrock User Guide page
"Create a service role for Amazon Bedrock Agents": invoke the foundation models of the
agents that run with the role, query their knowledge bases, and apply their guardrails.
For an action-group Lambda role it keeps the function's own CloudWatch Logs, drops
statements with wildcard actions (only the function's code, which the snapshot does
not hold, shows which actions it calls), narrows S3 data actions on `*` to the buckets
that the agents' knowledge bases read, and keeps every other statement as it is.

The effect is measured, not estimated: the role's policies are replaced by the
proposal in a copy of the snapshot, the graph is built again, and the blast radius of
every invoker through every alias it can invoke is compared with the original.

Not modelled: IAM last-accessed data (the snapshot format has no file for it yet, so no
unused service is dropped on that basis), the S3 objects holding action-group OpenAPI
schemas, Provisioned Throughput, agent collaborators and KMS keys of encrypted agents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.actions import action_info, expand_action_pattern
from engine.arn import parse_arn, s3_bucket_arn, s3_objects_arn
from engine.findings.context import FindingContext
from engine.findings.permissions import DATA_SERVICES
from engine.graph import DeputyGraph, build_graph
from engine.inventory import InlinePolicy, Role, Snapshot
from engine.paths import invocable_aliases, invokers, reach_from
from engine.policy import Statement

logger = logging.getLogger(__name__)

PROPOSED_POLICY_NAME = "deputygraph-least-privilege"


@dataclass(frozen=True, slots=True)
class Impact:
    """Sensitive reach: of every invoker through agents, and of one role on its own."""

    invoker_paths: frozenset[tuple[str, str, str, str]]  # (invoker, alias, target, access)
    targets: frozenset[tuple[str, str]]  # (target, access) reached through some alias by some invoker
    role_reach: frozenset[tuple[str, str]]  # (target, access) the role reaches without agents

    def to_json(self) -> dict[str, Any]:
        return {
            "invoker_paths": len(self.invoker_paths),
            "sensitive_targets": len(self.targets),
            "role_sensitive_reach": len(self.role_reach),
        }


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed policy for one role and what replacing the role's policies with it removes."""

    role_arn: str
    role_name: str
    purpose: str
    policy: dict[str, Any]
    notes: tuple[str, ...]
    before: Impact
    after: Impact

    @property
    def removed_paths(self) -> list[tuple[str, str, str, str]]:
        return sorted(self.before.invoker_paths - self.after.invoker_paths)

    @property
    def removed_targets(self) -> list[tuple[str, str]]:
        return sorted(self.before.targets - self.after.targets)

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role_arn,
            "role_name": self.role_name,
            "purpose": self.purpose,
            "policy": self.policy,
            "notes": list(self.notes),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "removed": {
                "invoker_paths": [
                    {"invoker": invoker, "alias": alias, "target": target, "access": access}
                    for invoker, alias, target, access in self.removed_paths
                ],
                "sensitive_targets": [{"target": target, "access": access} for target, access in self.removed_targets],
                "role_sensitive_reach": [
                    {"target": target, "access": access}
                    for target, access in sorted(self.before.role_reach - self.after.role_reach)
                ],
            },
        }


def measure(deputy: DeputyGraph, role_arn: str) -> Impact:
    """Compute the sensitive reach of every invoker through every alias, and of one role."""
    graph = deputy.graph
    alias_reach: dict[str, set[tuple[str, str]]] = {}
    paths: set[tuple[str, str, str, str]] = set()
    for invoker in invokers(deputy):
        for alias in invocable_aliases(deputy, invoker):
            if alias.target not in alias_reach:
                alias_reach[alias.target] = {
                    (reach.target, reach.access)
                    for reach in reach_from(deputy, alias.target)
                    if graph.nodes[reach.target].get("sensitive")
                }
            paths |= {(invoker, alias.target, target, access) for target, access in alias_reach[alias.target]}
    role_reach = {
        (reach.target, reach.access)
        for reach in reach_from(deputy, role_arn, agents=False, functions=False)
        if graph.nodes[reach.target].get("sensitive")
    }
    return Impact(
        invoker_paths=frozenset(paths),
        targets=frozenset((target, access) for _, _, target, access in paths),
        role_reach=frozenset(role_reach),
    )


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def agent_role_policy(context: FindingContext, role_arn: str) -> tuple[dict[str, Any], list[str]]:
    """Build the policy an agent execution role needs for the agents that run with it, with notes."""
    partition = context.partition
    models: set[str] = set()
    knowledge_bases: set[str] = set()
    guardrails: set[str] = set()
    for use in context.agent_roles.get(role_arn, []):
        agent = use.agent
        versions = [v for v in agent.versions.values() if v.role_arn == role_arn]
        for model in (
            agent.foundation_model if agent.role_arn == role_arn else None,
            *(v.foundation_model for v in versions),
        ):
            if model:
                models.add(
                    model
                    if model.startswith("arn:")
                    else f"arn:{partition}:bedrock:{agent.region}::foundation-model/{model}"
                )
        for version in versions:
            for association in version.knowledge_bases:
                if association.enabled:
                    knowledge_bases.add(
                        f"arn:{partition}:bedrock:{agent.region}:{agent.account}:knowledge-base/{association.knowledge_base_id}"
                    )
            guardrail = version.guardrail
            if guardrail is not None:
                arn = guardrail.identifier
                if not arn.startswith("arn:"):
                    arn = f"arn:{partition}:bedrock:{agent.region}:{agent.account}:guardrail/{arn}"
                guardrails.add(arn)

    statements = []
    notes = []
    if models:
        statements.append(
            _statement(
                "InvokeAgentModels", ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], sorted(models)
            )
        )
    else:
        notes.append("no foundation model is recorded for these agents, so no model permission is proposed")
    if knowledge_bases:
        statements.append(
            _statement(
                "QueryKnowledgeBases", ["bedrock:Retrieve", "bedrock:RetrieveAndGenerate"], sorted(knowledge_bases)
            )
        )
    if guardrails:
        statements.append(_statement("ApplyGuardrails", ["bedrock:ApplyGuardrail"], sorted(guardrails)))
    notes.append(
        "add s3:GetObject on the objects holding action-group OpenAPI schemas, which the snapshot does not record"
    )
    return {"Version": "2012-10-17", "Statement": statements}, notes


def _knowledge_base_buckets(context: FindingContext, function_arns: list[str]) -> list[str]:
    """Buckets that the knowledge bases of the agents calling these functions ingest."""
    buckets: set[str] = set()
    kb_by_id = {
        (kb.account, kb.region, kb.knowledge_base_id): kb
        for account in context.deputy.snapshot.accounts.values()
        for kb in account.knowledge_bases.values()
    }
    for function_arn in function_arns:
        for use in context.action_group_functions.get(function_arn, []):
            for association in use.version.knowledge_bases:
                kb = kb_by_id.get((use.agent.account, use.agent.region, association.knowledge_base_id))
                for source in kb.data_sources if kb else ():
                    if source.bucket_arn:
                        buckets.add(parse_arn(source.bucket_arn).resource.split("/", 1)[0])
    return sorted(buckets)


def _is_logs_only(statement: Statement) -> bool:
    return statement.actions is not None and all(a.lower().startswith("logs:") for a in statement.actions)


def lambda_role_policy(context: FindingContext, role_arn: str) -> tuple[dict[str, Any], list[str]]:
    """Build the policy an action-group Lambda role keeps (its own logs, its narrowed statements), with notes."""
    functions = context.functions()
    function_arns = context.lambda_roles.get(role_arn, [])
    statements: list[dict[str, Any]] = []
    notes: list[str] = []
    log_groups = []
    for arn in function_arns:
        function = functions[arn]
        log_groups.append(
            f"arn:{context.partition}:logs:{function.region}:{function.account}:log-group:/aws/lambda/{function.name}"
        )
    statements.append(_statement("CreateOwnLogGroup", ["logs:CreateLogGroup"], sorted(log_groups)))
    statements.append(
        _statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], sorted(f"{g}:*" for g in log_groups))
    )

    buckets = _knowledge_base_buckets(context, function_arns)
    for statement in context.authorizer.identity_statements(role_arn):
        ref = statement.ref
        if not statement.is_allow:
            raw = statement.describe()
            statements.append(
                {k: raw[k] for k in ("Action", "NotAction", "Resource", "NotResource", "Condition") if k in raw}
                | {"Effect": "Deny"}
            )
            continue
        if _is_logs_only(statement):
            notes.append(f"{ref}: replaced by the statements for the function's own log group")
            continue
        if statement.not_actions is not None or any(a == "*" or a.endswith(":*") for a in statement.actions or ()):
            notes.append(
                f"{ref}: dropped, because it allows wildcard actions; name the actions the function's code calls"
            )
            continue
        on_any = statement.resources is None or "*" in statement.resources
        data_actions = [
            name
            for pattern in statement.actions or ()
            for name in (expand_action_pattern(pattern) if "*" in pattern else (pattern,))
            if (info := action_info(name)) is not None
            and info.access_level in ("Read", "Write")
            and name.partition(":")[0].lower() in DATA_SERVICES
        ]
        if on_any and data_actions:
            s3_actions = sorted({a for a in data_actions if a.lower().startswith("s3:")})
            if s3_actions and buckets:
                resources = [s3_bucket_arn(b, context.partition) for b in buckets] + [
                    s3_objects_arn(b, context.partition) for b in buckets
                ]
                statements.append(_statement(f"Narrowed{statement.index}", s3_actions, resources))
                notes.append(
                    f"{ref}: narrowed to the buckets that the agents' knowledge bases read ({', '.join(buckets)})"
                )
            else:
                notes.append(
                    f"{ref}: dropped, because it allows data actions on every resource and no agent bucket names them"
                )
            continue
        raw = statement.describe()
        kept: dict[str, Any] = {
            k: raw[k] for k in ("Action", "NotAction", "Resource", "NotResource", "Condition") if k in raw
        }
        statements.append({"Sid": statement.sid or f"Kept{statement.index}", "Effect": "Allow", **kept})
        notes.append(f"{ref}: kept; confirm that the function needs it")
    return {"Version": "2012-10-17", "Statement": statements}, notes


def with_role_policy(snapshot: Snapshot, role: Role, policy: dict[str, Any]) -> Snapshot:
    """A copy of the snapshot in which the role has only the proposed inline policy and its boundary."""
    account = snapshot.accounts[role.account]
    replaced = replace(role, inline_policies=(InlinePolicy(PROPOSED_POLICY_NAME, policy),), attached_policy_arns=())
    accounts = dict(snapshot.accounts)
    accounts[role.account] = replace(account, roles={**account.roles, role.arn: replaced})
    return replace(snapshot, accounts=accounts, not_seen=list(snapshot.not_seen))


def propose(deputy: DeputyGraph, *, progress: Callable[[str], None] | None = None) -> list[Proposal]:
    """A proposal for every agent execution role and action-group Lambda role, with its measured effect."""
    context = FindingContext(deputy, deputy.sensitivity)
    roles: list[tuple[str, str, Callable[[FindingContext, str], tuple[dict[str, Any], list[str]]]]] = []
    for role_arn, uses in context.agent_roles.items():
        names = sorted({use.agent.name for use in uses})
        roles.append((role_arn, f"execution role of agent {', '.join(names)}", agent_role_policy))
    for role_arn, functions in context.lambda_roles.items():
        names = sorted(context.node_name(arn) for arn in functions)
        roles.append((role_arn, f"execution role of action-group function {', '.join(names)}", lambda_role_policy))
    proposals: list[Proposal] = []
    for number, (role_arn, purpose, generate) in enumerate(roles, start=1):
        role = context.authorizer.role(role_arn)
        if role is None:
            continue
        if progress is not None:
            progress(
                f"least privilege {number}/{len(roles)}: {role.name}, rebuilding the graph with the proposed policy"
            )
        policy, notes = generate(context, role_arn)
        before = measure(deputy, role_arn)
        rebuilt = build_graph(with_role_policy(deputy.snapshot, role, policy), deputy.sensitivity)
        after = measure(rebuilt, role_arn)
        logger.info(
            "least privilege for %s: %s invoker paths before, %s after",
            role.name,
            len(before.invoker_paths),
            len(after.invoker_paths),
        )
        proposals.append(Proposal(role_arn, role.name, purpose, policy, tuple(notes), before, after))
    return proposals
