"""DG003 confused-deputy paths and DG004 principals that can reconfigure an agent.

DG003 takes the paths of `engine.paths.blast_radius` that the path engine flags as
confused deputies and groups them by target and access, so that one finding lists
every invoker of one resource. The VPC provisioning APIs of one account and region are
one target. The path engine keeps one shortest path per invoker and target, so the
finding walks on from every alias that each invoker can invoke. It lists every alias
and agent that leads to the target, and the statements along the shortest path through
each agent. Findings are ranked by the target's sensitivity rule and the number of
invokers.

DG004 looks for principals that could make an agent act with more than they hold:
`bedrock:UpdateAgent` and the other configuration actions (`CAN_CONFIGURE_AGENT`),
optionally with `iam:PassRole` of another role that Bedrock may assume
(`CAN_PASS_ROLE`), or `lambda:UpdateFunctionCode` on an action-group function. The
gain is what the agent's roles, the passable roles or the function's role reach that
the principal does not reach on its own; a principal that gains nothing (an
administrator) is no finding.

Not modelled: principals that reach the configuration permission only by assuming a
role are reported as that role; `lambda:UpdateFunctionConfiguration` and layer changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from engine.evaluator import Decision
from engine.findings import path_cuts
from engine.findings.context import FindingContext
from engine.findings.model import AttackPath, Evidence, Finding, PathEdge, PathNode, Severity
from engine.inventory import Role, User
from engine.model import Label, Rel
from engine.paths import Reach, blast_radius, invocable_aliases, invokers, reach_from

# Agents whose shortest path a DG003 finding spells out step by step; the others are named.
MAX_AGENT_PATHS = 5


def _sensitivity_weight(data: dict[str, Any]) -> int:
    reason = str(data.get("sensitivity") or "")
    if reason.startswith("tag "):
        return 3
    return 2 if reason else 1


def attack_path(context: FindingContext, reach: Reach) -> AttackPath:
    """The nodes and edges of one path, named for people."""
    graph = context.deputy.graph
    nodes = tuple(
        PathNode(arn=node, label=str(graph.nodes[node]["label"]), name=context.node_name(node)) for node in reach.nodes
    )
    edges = tuple(
        PathEdge(source=step.source, target=step.target, rel=str(step.rel), reason=str(step.properties.get("reason")))
        for step in reach.steps
    )
    return AttackPath(nodes=nodes, edges=edges)


def path_evidence(context: FindingContext, reach: Reach) -> list[Evidence]:
    """One evidence item per granting statement along a path, and one per configuration step."""
    evidence: list[Evidence] = []
    for step in reach.steps:
        step_text = f"{context.node_name(step.source)} -[{step.rel}]-> {context.node_name(step.target)}"
        statements = step.properties.get("statements") or []
        if not statements:
            # A structure step (ROUTES_TO, HAS_ACTION_GROUP) is neither a statement nor a setting.
            evidence.append(Evidence(detail=f"{step_text}: {step.properties.get('reason')}"))
        for statement in statements:
            evidence.append(
                Evidence(
                    detail=f"{step_text}: {step.properties.get('reason')}",
                    policy=statement["policy"],
                    statement_index=statement["statement_index"],
                    sid=statement.get("sid"),
                )
            )
    return evidence


def _target_group(context: FindingContext, target: str) -> str:
    data = context.deputy.graph.nodes[target]
    if data["label"] == Label.VPC_API:
        return f"vpc-api:{data.get('account')}:{data.get('region')}"
    return target


def _best(reaches: list[Reach]) -> Reach:
    return min(reaches, key=lambda r: (r.weak, r.conditional, len(r.steps), r.principal, r.target))


def _names(names: list[str]) -> str:
    """Join names as a sentence does: `a`, `a and b`, `a, b and c`."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


class _AliasPaths:
    """The agent aliases through which an invoker's confused-deputy paths go, one path per alias.

    What a walk reaches beyond an alias does not depend on who invoked it, so each alias
    is walked once (`reach_from` from the alias node), and the walk is joined to each
    invoker's own path to the alias (`invocable_aliases`).
    """

    def __init__(self, context: FindingContext) -> None:
        self.deputy = context.deputy
        self._beyond: dict[str, dict[tuple[str, str], Reach]] = {}
        self._invocable: dict[str, list[Reach]] = {}

    def first_alias(self, reach: Reach) -> str | None:
        graph = self.deputy.graph
        return next((node for node in reach.nodes if graph.nodes[node]["label"] == Label.AGENT_ALIAS), None)

    def paths(self, reach: Reach) -> dict[str, Reach]:
        """Map each alias through which the invoker reaches the target as a confused deputy to one path.

        An alias whose way to the target holds only under conditions does not count when the
        invoker also has a conditional direct path, as in `blast_radius`.
        """
        principal = reach.principal
        if principal not in self._invocable:
            self._invocable[principal] = invocable_aliases(self.deputy, principal)
        found: dict[str, Reach] = {}
        # NOTE: the path to an alias is the invoker's shortest one. When the direct path is
        # conditional, an alias reached unconditionally only by a longer path is left out.
        for invoke in self._invocable[principal]:
            beyond = self._walk_beyond(invoke.target).get((reach.target, reach.access))
            if beyond is None:
                continue
            conditional = invoke.conditional or beyond.conditional
            if reach.direct_conditional and conditional:
                continue
            steps = (*invoke.steps, *beyond.steps)
            found[invoke.target] = replace(reach, steps=steps, weak=beyond.weak, conditional=conditional)
        # The engine's own path may invoke its first alias from a Lambda function's role,
        # which invocable_aliases does not follow, so that alias is always kept.
        first = self.first_alias(reach)
        if first is not None and first not in found:
            found[first] = reach
        return found

    def _walk_beyond(self, alias: str) -> dict[tuple[str, str], Reach]:
        if alias not in self._beyond:
            self._beyond[alias] = {(r.target, r.access): r for r in reach_from(self.deputy, alias)}
        return self._beyond[alias]


def confused_deputies(context: FindingContext) -> list[Finding]:
    """DG003: one finding per sensitive target (or VPC API group) and access, over every invoker."""
    deputy = context.deputy
    groups: dict[tuple[str, str], list[Reach]] = defaultdict(list)
    radii = context.blast_radii
    for principal in invokers(deputy) if radii is None else sorted(radii):
        for reach in blast_radius(deputy, principal) if radii is None else radii[principal]:
            if reach.confused_deputy:
                groups[(_target_group(context, reach.target), reach.access)].append(reach)
    alias_paths = _AliasPaths(context)
    findings = []
    for (group, access), reaches in sorted(groups.items()):
        findings.append(_confused_finding(context, alias_paths, group, access, reaches))
    return findings


def _confused_finding(
    context: FindingContext, alias_paths: _AliasPaths, group: str, access: str, reaches: list[Reach]
) -> Finding:
    graph = context.deputy.graph
    best = _best(reaches)
    principals = sorted({reach.principal for reach in reaches})
    targets = sorted({reach.target for reach in reaches})

    # Every alias of every invoker, with the shortest path through each agent.
    invoker_aliases: dict[str, set[str]] = defaultdict(set)
    agent_paths: dict[str, Reach] = {}
    for reach in reaches:
        for alias, path in alias_paths.paths(reach).items():
            invoker_aliases[reach.principal].add(alias)
            agent = str(graph.nodes[alias].get("agent"))
            current = agent_paths.get(agent)
            if current is None or _best([path, current]) is path:
                agent_paths[agent] = path
    aliases = sorted({alias for found in invoker_aliases.values() for alias in found})
    agents = sorted(agent_paths)
    best_agent = graph.nodes[alias_paths.first_alias(best) or aliases[0]].get("agent")
    agent_paths[str(best_agent)] = best

    strong = any(not reach.weak for reach in reaches)
    unconditional = any(not reach.conditional for reach in reaches)
    if strong and unconditional:
        severity = Severity.CRITICAL
    elif strong or unconditional:
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    weight = max(_sensitivity_weight(graph.nodes[target]) for target in targets)
    target_data = graph.nodes[best.target]
    if target_data["label"] == Label.VPC_API:
        what = f"the VPC APIs of account {target_data.get('account')} in {target_data.get('region')}"
        actions = ", ".join(context.node_name(target) for target in targets)
        target_text = f"{what} ({actions})"
    else:
        what = f"{context.node_name(best.target)} ({target_data['label']})"
        target_text = what
    names = ", ".join(context.node_name(principal) for principal in principals)
    evidence = [
        Evidence(
            detail=f"{_plural(len(principals), 'invoker')} ({names}) can {access} {target_text} through "
            f"{_plural(len(aliases), 'alias', 'aliases')} of {_plural(len(agents), 'agent')} but not with their own "
            f"permissions; sensitive because {target_data.get('sensitivity')}"
        ),
        *_alias_evidence(context, invoker_aliases),
        *_agent_path_evidence(context, agent_paths, first=str(best_agent)),
    ]
    listed = [agent_paths[agent] for agent in _agent_order(context, agent_paths, first=str(best_agent))]
    kinds = sorted({reach.kind for reach in (*reaches, *listed)})
    return Finding(
        rule_id="DG003",
        rule="confused-deputy",
        severity=severity,
        title=f"{_plural(len(principals), 'invoker')} can {access} {what} through an agent",
        key=f"{group}|{access}",
        resources=(*targets, *aliases, *principals),
        evidence=tuple(evidence),
        remediation=path_cuts.remediation(context, listed),
        score=float(weight * len(principals)),
        path=attack_path(context, best),
        details={
            "invokers": principals,
            "targets": targets,
            "aliases": aliases,
            "agents": agents,
            "invoker_aliases": {invoker: sorted(found) for invoker, found in sorted(invoker_aliases.items())},
            "access": access,
            "kinds": kinds,
            "weak_only": not strong,
            "conditional_only": not unconditional,
        },
    )


def _alias_evidence(context: FindingContext, invoker_aliases: dict[str, set[str]]) -> list[Evidence]:
    """Write one sentence per set of aliases, naming the invokers that reach the target through exactly those."""
    invokers_of: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for invoker, aliases in sorted(invoker_aliases.items()):
        names = tuple(sorted(context.node_name(alias) for alias in aliases))
        invokers_of[names].append(context.node_name(invoker))
    evidence = []
    for alias_names, invoker_names in sorted(invokers_of.items(), key=lambda item: item[1]):
        verb = "reaches" if len(invoker_names) == 1 else "reach"
        evidence.append(Evidence(detail=f"{_names(invoker_names)} {verb} it through {', '.join(alias_names)}"))
    return evidence


def _agent_order(context: FindingContext, agent_paths: dict[str, Reach], *, first: str) -> list[str]:
    """Pick the agents whose shortest path the evidence spells out: the finding's own first, then by name."""
    order = [first, *sorted((agent for agent in agent_paths if agent != first), key=context.node_name)]
    return order[:MAX_AGENT_PATHS]


def _agent_path_evidence(context: FindingContext, agent_paths: dict[str, Reach], *, first: str) -> list[Evidence]:
    """List the steps and statements of the shortest path through each agent, the finding's own path first."""
    order = [first, *sorted((agent for agent in agent_paths if agent != first), key=context.node_name)]
    evidence: list[Evidence] = []
    for agent in _agent_order(context, agent_paths, first=first):
        path = agent_paths[agent]
        agent_name, invoker_name = context.node_name(agent), context.node_name(path.principal)
        evidence.append(Evidence(detail=f"shortest path through agent {agent_name}, for {invoker_name}:"))
        evidence += path_evidence(context, path)
    hidden = order[MAX_AGENT_PATHS:]
    if hidden:
        evidence.append(
            Evidence(
                detail=f"{_plural(len(hidden), 'more agent')} lead to the target: "
                f"{', '.join(context.node_name(agent) for agent in hidden)}; GET /v1/confused-deputy-paths?agent=ARN "
                "or `deputy paths INVOKER TARGET` shows their paths"
            )
        )
    return evidence


class _Reach:
    """Sensitive (target, access) pairs reached without agents, computed once per node."""

    def __init__(self, context: FindingContext) -> None:
        self.context = context
        self._direct: dict[str, set[tuple[str, str]]] = {}
        self._through: dict[str, set[tuple[str, str]]] = {}

    def direct(self, node: str) -> set[tuple[str, str]]:
        if node not in self._direct:
            graph = self.context.deputy.graph
            self._direct[node] = {
                (reach.target, reach.access)
                # Escalation edges are left out: changing an agent or its Lambda code is itself
                # one, and the finding names what it gains over the principal's other access.
                for reach in reach_from(self.context.deputy, node, agents=False, functions=False, escalation=False)
                if graph.nodes[reach.target].get("sensitive")
            }
        return self._direct[node]

    def through(self, node: str) -> set[tuple[str, str]]:
        """What a node such as an alias or a role reaches, sensitive targets only."""
        if node not in self._through:
            graph = self.context.deputy.graph
            self._through[node] = {
                (reach.target, reach.access)
                for reach in reach_from(self.context.deputy, node)
                if graph.nodes[reach.target].get("sensitive")
            }
        return self._through[node]


def agent_reconfiguration(context: FindingContext) -> list[Finding]:
    """DG004: principals that can change an agent or its Lambda code and so gain its reach."""
    reach = _Reach(context)
    findings = _configure_findings(context, reach)
    findings += _function_code_findings(context, reach)
    return findings


def _configure_findings(context: FindingContext, reach: _Reach) -> list[Finding]:
    graph = context.deputy.graph
    findings: list[Finding] = []
    edges = sorted(
        (source, target, data)
        for source, target, rel, data in graph.edges(keys=True, data=True)
        if rel == Rel.CAN_CONFIGURE_AGENT and graph.nodes[source]["label"] != Label.ESCALATED_PRINCIPAL
    )
    aliases_of: dict[str, list[str]] = {}
    for node, node_data in graph.nodes(data=True):
        if node_data["label"] == Label.AGENT_ALIAS:
            aliases_of.setdefault(node_data.get("agent"), []).append(node)
    # What taking over an agent gives, the same for every principal that may configure it.
    agent_reach: dict[str, set[tuple[str, str]]] = {}
    pass_edges_of: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for principal, agent_arn, data in edges:
        if agent_arn not in agent_reach:
            roles = {
                role
                for version, _, rel in graph.in_edges(agent_arn, keys=True)
                if rel == Rel.VERSION_OF
                for _, role, rel2 in graph.out_edges(version, keys=True)
                if rel2 == Rel.HAS_EXECUTION_ROLE
            }
            reached: set[tuple[str, str]] = set()
            for node in [*aliases_of.get(agent_arn, []), *sorted(roles)]:
                reached |= reach.through(node)
            agent_reach[agent_arn] = reached
        gained = set(agent_reach[agent_arn])
        if principal not in pass_edges_of:
            pass_edges_of[principal] = sorted(
                (target, edge)
                for _, target, rel, edge in graph.out_edges(principal, keys=True, data=True)
                if rel == Rel.CAN_PASS_ROLE
            )
        pass_edges = pass_edges_of[principal]
        for role, _ in pass_edges:
            gained |= reach.through(role)
        gained -= reach.direct(principal)
        if not gained:
            continue
        evidence = [
            Evidence(
                detail=f"{context.node_name(principal)} may change agent {context.node_name(agent_arn)}: "
                f"{data['reason']}",
                policy=statement["policy"],
                statement_index=statement["statement_index"],
                sid=statement.get("sid"),
            )
            for statement in data.get("statements", [])
        ]
        for role, edge in pass_edges:
            evidence += [
                Evidence(
                    detail=f"{context.node_name(principal)} may pass {context.node_name(role)} to Bedrock: "
                    f"{edge['reason']}",
                    policy=statement["policy"],
                    statement_index=statement["statement_index"],
                    sid=statement.get("sid"),
                )
                for statement in edge.get("statements", [])
            ]
        findings.append(
            _reconfigure_finding(
                context,
                principal=principal,
                subject=agent_arn,
                how="reconfigure agent",
                permission="bedrock:UpdateAgent and the other agent configuration permissions",
                gained=gained,
                evidence=evidence,
                passable=[role for role, _ in pass_edges],
                remediation=_agent_remediation(context, principal, agent_arn, [role for role, _ in pass_edges]),
            )
        )
    return findings


def _agent_remediation(context: FindingContext, principal: str, agent: str, passable: list[str]) -> str:
    name = context.node_name(principal)
    text = (
        f"Remove bedrock:UpdateAgent and the other agent configuration permissions on {context.node_name(agent)} "
        f"from {name}, or limit their Resource to agents whose roles reach nothing {name} may not reach itself."
    )
    if passable:
        roles = ", ".join(context.node_name(role) for role in passable)
        text += (
            f" Also limit iam:PassRole of {name} to the roles it needs, with an iam:PassedToService condition, "
            f"because it may now pass {roles} to Bedrock."
        )
    return text


def _function_code_findings(context: FindingContext, reach: _Reach) -> list[Finding]:
    authorizer = context.authorizer
    functions = context.functions()
    findings: list[Finding] = []
    principals: list[User | Role] = [*authorizer.users(), *authorizer.roles()]
    for function_arn in context.action_group_functions:
        function = functions.get(function_arn)
        if function is None:
            continue
        role_reach = reach.through(function.role_arn)
        if not role_reach:
            continue
        for record in principals:
            statements = authorizer.identity_statements(record.arn)
            if not any(s.is_allow and s.covers_action("lambda:UpdateFunctionCode") for s in statements):
                continue
            caller = authorizer.request_principal(record.arn)
            evaluation = authorizer.decide(
                caller, "lambda:UpdateFunctionCode", function_arn, resource_account=function.account
            )
            if evaluation.decision is Decision.DENY:
                continue
            gained = role_reach - reach.direct(record.arn)
            if not gained:
                continue
            evidence = [
                Evidence(
                    detail=f"{record.name} may call lambda:UpdateFunctionCode on {function.name} "
                    f"({evaluation.decision}), so its code runs with {context.node_name(function.role_arn)}",
                    policy=statement.source.policy_id,
                    statement_index=statement.index,
                    sid=statement.sid,
                )
                for statement in evaluation.granting
            ]
            findings.append(
                _reconfigure_finding(
                    context,
                    principal=record.arn,
                    subject=function_arn,
                    how="change the code of action-group function",
                    permission="lambda:UpdateFunctionCode",
                    gained=gained,
                    evidence=evidence,
                    passable=[],
                    remediation=(
                        f"Remove lambda:UpdateFunctionCode on {function.name} from {record.name}, or limit the "
                        f"Resource of the statements named in the evidence to functions whose roles reach nothing "
                        f"{record.name} may not reach itself; {function.name} runs with "
                        f"{context.node_name(function.role_arn)}, so its code acts with that role's permissions."
                    ),
                )
            )
    return findings


def _reconfigure_finding(
    context: FindingContext,
    *,
    principal: str,
    subject: str,
    how: str,
    permission: str,
    gained: set[tuple[str, str]],
    evidence: list[Evidence],
    passable: list[str],
    remediation: str,
) -> Finding:
    targets = sorted(gained)
    shown = ", ".join(f"{access} {context.node_name(target)}" for target, access in targets[:6])
    if len(targets) > 6:
        shown += f" and {len(targets) - 6} more"
    evidence.append(Evidence(detail=f"gains access it does not hold on its own: {shown}"))
    return Finding(
        rule_id="DG004",
        rule="agent-reconfiguration",
        severity=Severity.HIGH,
        title=f"{context.node_name(principal)} can {how} {context.node_name(subject)} and gain {len(targets)} "
        f"sensitive access{'es' if len(targets) > 1 else ''}",
        key=f"{principal}|{subject}",
        resources=(principal, subject, *passable, *sorted({target for target, _ in targets})),
        evidence=tuple(evidence),
        remediation=remediation,
        score=float(len(targets)),
        details={
            "gained": [{"target": target, "access": access} for target, access in targets],
            "passable_roles": passable,
        },
    )
