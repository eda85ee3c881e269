"""Least-privilege policies for agent execution roles and action-group Lambda roles.

For an agent execution role the proposal follows the Amazon Bedrock User Guide page
"Create a service role for Amazon Bedrock Agents": invoke the foundation models of the
agents that run with the role, query their knowledge bases, and apply their guardrails.
For an action-group Lambda role it keeps the function's own CloudWatch Logs and drops
statements with wildcard actions, because only the function's code, which the snapshot
does not hold, shows which actions it calls. It narrows S3 data actions on `*` to the
buckets that the agents' knowledge bases read and keeps every other statement as it is.

The effect is measured, not estimated: the role's policies are replaced by the
proposal in a copy of the snapshot, the role's permission edges are evaluated again
(`engine.graph.rebuild_principal`), and the blast radius of every invoker through every
alias it can invoke is compared with the original.

Where the snapshot holds a Lambda role's IAM last-accessed report, a statement whose
services the report lists as never used in its tracking period is dropped.

Not modelled: the S3 objects holding action-group OpenAPI schemas, Provisioned
Throughput, agent collaborators and KMS keys of encrypted agents.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.actions import action_info, expand_action_pattern
from engine.arn import parse_arn, s3_bucket_arn, s3_objects_arn
from engine.findings.context import FindingContext
from engine.findings.permissions import DATA_SERVICES
from engine.graph import DeputyGraph, rebuild_principal
from engine.inventory import InlinePolicy, Role, ServiceLastAccessed, Snapshot
from engine.paths import invocable_aliases, invokers, reach_from
from engine.policy import Statement

logger = logging.getLogger(__name__)

PROPOSED_POLICY_NAME = "deputygraph-least-privilege"


@dataclass(frozen=True, slots=True)
class Impact:
    """Counts of sensitive reach: invoker paths through agents, their targets, and one role's own reach."""

    invoker_paths: int  # (invoker, alias, target, access) tuples
    targets: int  # distinct (target, access) reached through some alias by some invoker
    role_reach: int  # (target, access) the role reaches without agents

    def to_json(self) -> dict[str, Any]:
        return {
            "invoker_paths": self.invoker_paths,
            "sensitive_targets": self.targets,
            "role_sensitive_reach": self.role_reach,
        }


Path4 = tuple[str, str, str, str]  # (invoker, alias, target, access)
Pair = tuple[str, str]  # (target, access)


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
    removed_paths: tuple[Path4, ...]
    removed_targets: tuple[Pair, ...]
    removed_role_reach: tuple[Pair, ...]

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
                    {"target": target, "access": access} for target, access in self.removed_role_reach
                ],
            },
        }


class _Reach:
    """The sensitive reach of one graph: per alias, per invoker, and of single roles, each computed once."""

    def __init__(self, deputy: DeputyGraph) -> None:
        self.deputy = deputy
        self._alias: dict[str, frozenset[Pair]] = {}
        self.invocable: dict[str, tuple[str, ...]] = {
            invoker: tuple(reach.target for reach in invocable_aliases(deputy, invoker)) for invoker in invokers(deputy)
        }

    def alias(self, alias: str) -> frozenset[Pair]:
        if alias not in self._alias:
            graph = self.deputy.graph
            self._alias[alias] = frozenset(
                (reach.target, reach.access)
                for reach in reach_from(self.deputy, alias)
                if graph.nodes[reach.target].get("sensitive")
            )
        return self._alias[alias]

    def seed(self, alias: str, reach: frozenset[Pair]) -> None:
        self._alias[alias] = reach

    def role(self, role_arn: str) -> frozenset[Pair]:
        graph = self.deputy.graph
        return frozenset(
            (reach.target, reach.access)
            for reach in reach_from(self.deputy, role_arn, agents=False, functions=False)
            if graph.nodes[reach.target].get("sensitive")
        )

    def paths_of(self, invoker: str) -> set[Path4]:
        return {
            (invoker, alias, target, access)
            for alias in self.invocable.get(invoker, ())
            for target, access in self.alias(alias)
        }


def _downstream(deputy: DeputyGraph, start: str) -> set[str]:
    """Return every node that some chain of edges leads to from `start`, a superset of what a walk reaches."""
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in deputy.graph.successors(node):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _compare(before: _Reach, after: _Reach, affected: set[str]) -> tuple[set[Path4], set[Path4]]:
    """The invoker paths that the change removes and adds.

    Only aliases from which the changed role can be reached may reach something else
    afterwards. Every other alias keeps its reach, so the comparison covers the affected
    aliases and the invokers whose invocable aliases changed.
    """
    removed: set[Path4] = set()
    added: set[Path4] = set()
    for invoker in sorted(set(before.invocable) | set(after.invocable)):
        old_aliases = before.invocable.get(invoker, ())
        new_aliases = after.invocable.get(invoker, ())
        if old_aliases != new_aliases:
            old, new = before.paths_of(invoker), after.paths_of(invoker)
            removed |= old - new
            added |= new - old
            continue
        for alias in old_aliases:
            if alias not in affected:
                continue
            old_reach, new_reach = before.alias(alias), after.alias(alias)
            removed |= {(invoker, alias, target, access) for target, access in old_reach - new_reach}
            added |= {(invoker, alias, target, access) for target, access in new_reach - old_reach}
    return removed, added


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


def _unused_services(statement: Statement, usage: ServiceLastAccessed | None) -> list[str]:
    """Return the services of the statement's actions when the last-accessed report lists all as unused."""
    if usage is None or statement.actions is None:
        return []
    services = sorted({action.partition(":")[0].lower() for action in statement.actions})
    if "*" in services or any(service not in usage.services or usage.services[service] for service in services):
        return []
    return services


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
    role = context.authorizer.role(role_arn)
    account = context.deputy.snapshot.accounts.get(role.account) if role else None
    usage = account.last_accessed.get(role_arn) if account else None
    if usage is None:
        notes.append("the snapshot has no IAM last-accessed data for this role, so no statement is dropped as unused")
    for statement in context.authorizer.identity_statements(role_arn):
        ref = statement.ref
        unused = _unused_services(statement, usage)
        if statement.is_allow and unused:
            notes.append(
                f"{ref}: dropped, because the IAM last-accessed report (job completed "
                f"{usage.job_completed if usage else 'at an unknown time'}) shows no use of {', '.join(unused)}"
            )
            continue
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
    """Return a copy of the snapshot in which the role has only the proposed inline policy and its boundary."""
    account = snapshot.accounts[role.account]
    replaced = replace(role, inline_policies=(InlinePolicy(PROPOSED_POLICY_NAME, policy),), attached_policy_arns=())
    accounts = dict(snapshot.accounts)
    accounts[role.account] = replace(account, roles={**account.roles, role.arn: replaced})
    return replace(snapshot, accounts=accounts, not_seen=list(snapshot.not_seen))


def propose(deputy: DeputyGraph, *, progress: Callable[[str], None] | None = None) -> list[Proposal]:
    """Propose a policy for every agent execution role and action-group Lambda role, and measure its effect."""
    context = FindingContext(deputy, deputy.sensitivity)
    roles: list[tuple[str, str, Callable[[FindingContext, str], tuple[dict[str, Any], list[str]]]]] = []
    for role_arn, uses in context.agent_roles.items():
        names = sorted({use.agent.name for use in uses})
        roles.append((role_arn, f"execution role of agent {', '.join(names)}", agent_role_policy))
    for role_arn, functions in context.lambda_roles.items():
        names = sorted(context.node_name(arn) for arn in functions)
        roles.append((role_arn, f"execution role of action-group function {', '.join(names)}", lambda_role_policy))

    before = _Reach(deputy)
    aliases = sorted({alias for found in before.invocable.values() for alias in found})
    downstream = {alias: _downstream(deputy, alias) for alias in aliases}
    path_counts: Counter[Pair] = Counter()
    for invoker in before.invocable:
        path_counts.update((target, access) for _, _, target, access in before.paths_of(invoker))
    total_paths = sum(path_counts.values())

    proposals: list[Proposal] = []
    for number, (role_arn, purpose, generate) in enumerate(roles, start=1):
        role = context.authorizer.role(role_arn)
        if role is None:
            continue
        if progress is not None:
            progress(f"least privilege {number}/{len(roles)}: {role.name}, evaluating the proposed policy")
        policy, notes = generate(context, role_arn)
        rebuilt = rebuild_principal(deputy, with_role_policy(deputy.snapshot, role, policy), role_arn)
        after = _Reach(rebuilt)
        affected = {alias for alias in aliases if role_arn in downstream[alias]}
        for alias in aliases:
            if alias not in affected:
                after.seed(alias, before.alias(alias))
        removed, added = _compare(before, after, affected)
        counts = path_counts.copy()
        counts.subtract((target, access) for _, _, target, access in removed)
        counts.update((target, access) for _, _, target, access in added)
        role_before, role_after = before.role(role_arn), after.role(role_arn)
        logger.info("least privilege for %s: %s invoker paths removed, %s added", role.name, len(removed), len(added))
        proposals.append(
            Proposal(
                role_arn=role_arn,
                role_name=role.name,
                purpose=purpose,
                policy=policy,
                notes=tuple(notes),
                before=Impact(total_paths, len(path_counts), len(role_before)),
                after=Impact(
                    total_paths - len(removed) + len(added),
                    sum(1 for count in counts.values() if count > 0),
                    len(role_after),
                ),
                removed_paths=tuple(sorted(removed)),
                removed_targets=tuple(sorted(pair for pair in path_counts if counts[pair] <= 0)),
                removed_role_reach=tuple(sorted(role_before - role_after)),
            )
        )
    return proposals
