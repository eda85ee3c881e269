"""DG003 confused-deputy paths and DG004 principals that can reconfigure an agent.

DG003 takes the paths of `engine.paths.blast_radius` that the path engine flags as
confused deputies and groups them by target and access, so that one finding lists
every invoker of one resource. The VPC provisioning APIs of one account and region are
one target. Findings are ranked by the target's sensitivity rule and the number of
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
from typing import Any

from engine.evaluator import Decision
from engine.findings.context import FindingContext
from engine.findings.model import AttackPath, Evidence, Finding, PathEdge, PathNode, Severity
from engine.inventory import Role, User
from engine.model import Label, Rel
from engine.paths import Reach, blast_radius, invokers, reach_from


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
            evidence.append(Evidence(detail=f"{step_text}: {step.properties.get('reason')}", setting=str(step.rel)))
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


def confused_deputies(context: FindingContext) -> list[Finding]:
    """DG003: one finding per sensitive target (or VPC API group) and access, over every invoker."""
    deputy = context.deputy
    groups: dict[tuple[str, str], list[Reach]] = defaultdict(list)
    radii = context.blast_radii
    for principal in invokers(deputy) if radii is None else sorted(radii):
        for reach in blast_radius(deputy, principal) if radii is None else radii[principal]:
            if reach.confused_deputy:
                groups[(_target_group(context, reach.target), reach.access)].append(reach)
    findings = []
    for (group, access), reaches in sorted(groups.items()):
        findings.append(_confused_finding(context, group, access, reaches))
    return findings


def _confused_finding(context: FindingContext, group: str, access: str, reaches: list[Reach]) -> Finding:
    graph = context.deputy.graph
    best = _best(reaches)
    principals = sorted({reach.principal for reach in reaches})
    targets = sorted({reach.target for reach in reaches})
    aliases = sorted(
        {node for reach in reaches for node in reach.nodes if graph.nodes[node]["label"] == Label.AGENT_ALIAS}
    )
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
    alias_names = ", ".join(context.node_name(alias) for alias in aliases)
    evidence = [
        Evidence(
            detail=f"{len(principals)} invoker{'s' if len(principals) > 1 else ''} ({names}) "
            f"can {access} {target_text} through {alias_names} but not with their own permissions; "
            f"sensitive because {target_data.get('sensitivity')}"
        ),
        *path_evidence(context, best),
    ]
    kinds = sorted({reach.kind for reach in reaches})
    return Finding(
        rule_id="DG003",
        rule="confused-deputy",
        severity=severity,
        title=f"{len(principals)} invoker{'s' if len(principals) > 1 else ''} can {access} {what} through an agent",
        key=f"{group}|{access}",
        resources=(*targets, *aliases, *principals),
        evidence=tuple(evidence),
        remediation=(
            "Remove the permission that gives the agent this reach (see the evidence for the statement), or scope who "
            "may invoke the agent's aliases with bedrock:InvokeAgent on named alias ARNs; a path of kind "
            "agent-action-group is cut by removing the action group or narrowing its Lambda function's role."
        ),
        score=float(weight * len(principals)),
        path=attack_path(context, best),
        details={
            "invokers": principals,
            "targets": targets,
            "aliases": aliases,
            "access": access,
            "kinds": kinds,
            "weak_only": not strong,
            "conditional_only": not unconditional,
        },
    )


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
            )
        )
    return findings


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
        remediation=(
            f"Remove {permission} from from {context.node_name(principal)} or limit them to agents "
            "and functions whose roles reach nothing it may not reach itself; restrict iam:PassRole to named roles "
            "with an iam:PassedToService condition."
        ),
        score=float(len(targets)),
        details={
            "gained": [{"target": target, "access": access} for target, access in targets],
            "passable_roles": passable,
        },
    )
