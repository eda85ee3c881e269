"""DG007 production aliases without a guardrail, and DG008 guardrails open to tampering.

DG007 marks an alias as production by the `[agents]` rules of the sensitivity file (a
name pattern or a tag) and reports it when a version it routes to has no guardrail
configuration. An alias whose routing the snapshot does not give is judged by every
version of its agent.

DG008 has two parts. For each guardrail that an agent version uses, the principals
with `CAN_MODIFY_GUARDRAIL` (update, delete or create a version) or with
`CAN_CONFIGURE_AGENT` on an agent using it (which can detach it) are findings unless
`[guardrails] admins` lists them. And for each agent execution role, the real
evaluator decides `bedrock:InvokeModel` on the agent's model: when the decision does
not depend on the `bedrock:GuardrailIdentifier` condition key, no policy enforces a
guardrail on the model calls (Amazon Bedrock User Guide, "Enforce the use of specific
guardrails in model inference requests").

Alias tags come from the snapshot's `alias-tags/<alias-id>.json` files; an alias
without one is judged by its name alone.

Not modelled: `bedrock:UpdateAgentAlias`, which can route an alias to a version
without the guardrail.
"""

from __future__ import annotations

from collections import defaultdict

from engine.evaluator import Decision
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.model import Label, Rel

GUARDRAIL_KEY = "bedrock:guardrailidentifier"


def production_aliases_without_guardrail(context: FindingContext) -> list[Finding]:
    """DG007: one finding per production alias that routes to a version without a guardrail."""
    findings: list[Finding] = []
    for agent in context.agents():
        for alias in agent.aliases:
            reason = context.sensitivity.production_reason(alias.name, alias.tags)
            if reason is None:
                continue
            routed = alias.versions if alias.routing_known else tuple(agent.versions)
            bare = [
                version for version in routed if version in agent.versions and agent.versions[version].guardrail is None
            ]
            if not bare:
                continue
            evidence = [
                Evidence(
                    detail=f"alias {agent.name}/{alias.name} counts as production: {reason}",
                    setting="[agents] production rules",
                )
            ]
            evidence += [
                Evidence(
                    detail=f"version {version} of {agent.name}, which the alias routes to, has no guardrail",
                    setting=f"{agent.arn} version {version} guardrailConfiguration",
                )
                for version in bare
            ]
            findings.append(
                Finding(
                    rule_id="DG007",
                    rule="production-alias-without-guardrail",
                    severity=Severity.HIGH,
                    title=f"Production alias {agent.name}/{alias.name} runs without a guardrail",
                    key=alias.arn,
                    resources=(alias.arn, agent.arn),
                    evidence=tuple(evidence),
                    # Amazon Bedrock User Guide, "Deploy an agent": a version is created by
                    # CreateAgentAlias, or by UpdateAgentAlias without routingConfiguration.
                    remediation=(
                        f"Attach a guardrail to {agent.name} (guardrailConfiguration in UpdateAgent) and prepare the "
                        f"agent (PrepareAgent). Then call UpdateAgentAlias on {alias.name} without "
                        "routingConfiguration, which creates a version from the prepared draft and points the alias "
                        "at it."
                    ),
                    score=float(len(bare)),
                    details={"versions_without_guardrail": bare},
                )
            )
    return findings


def guardrail_tampering(context: FindingContext) -> list[Finding]:
    """DG008: principals who can change or detach a guardrail in use, and roles whose model calls need none."""
    return _tamper_findings(context) + _enforcement_findings(context)


def _tamper_findings(context: FindingContext) -> list[Finding]:
    graph = context.deputy.graph
    users: dict[str, set[str]] = defaultdict(set)  # guardrail -> agents using it
    for version, guardrail, rel in graph.edges(keys=True):
        if rel == Rel.USES_GUARDRAIL:
            users[guardrail].add(str(graph.nodes[version].get("agent")))
    findings: list[Finding] = []
    for guardrail, agents in sorted(users.items()):
        holders: dict[str, list[Evidence]] = defaultdict(list)
        for source, _, rel, data in graph.in_edges(guardrail, keys=True, data=True):
            # An escalated principal (engine.escalation) stands for what a real user or role
            # could become, so it is not a holder of its own.
            if graph.nodes[source]["label"] == Label.ESCALATED_PRINCIPAL:
                continue
            if rel == Rel.CAN_MODIFY_GUARDRAIL and not context.sensitivity.is_guardrail_admin(source):
                holders[source] += _edge_evidence(
                    context, source, data, f"may change guardrail {context.node_name(guardrail)}"
                )
        for agent in sorted(agents):
            for source, _, rel, data in graph.in_edges(agent, keys=True, data=True):
                if graph.nodes[source]["label"] == Label.ESCALATED_PRINCIPAL:
                    continue
                if rel == Rel.CAN_CONFIGURE_AGENT and not context.sensitivity.is_guardrail_admin(source):
                    holders[source] += _edge_evidence(
                        context, source, data, f"may detach it from agent {context.node_name(agent)}"
                    )
        if not holders:
            continue
        principals = sorted(holders)
        names = ", ".join(context.node_name(principal) for principal in principals)
        findings.append(
            Finding(
                rule_id="DG008",
                rule="guardrail-tampering",
                severity=Severity.MEDIUM,
                title=f"Guardrail {context.node_name(guardrail)} can be changed or detached by {len(principals)} "
                f"principal{'s' if len(principals) > 1 else ''} that are not its admins",
                key=f"tamper|{guardrail}",
                resources=(guardrail, *sorted(agents), *principals),
                evidence=tuple(item for principal in principals for item in holders[principal]),
                remediation=(
                    f"Limit bedrock:UpdateGuardrail, DeleteGuardrail, CreateGuardrailVersion and UpdateAgent on "
                    f"the agents using it to the intended admins, or list them in [guardrails] admins "
                    f"({names} now hold them)."
                ),
                score=float(len(principals)),
                details={"principals": principals, "agents": sorted(agents)},
            )
        )
    return findings


def _edge_evidence(context: FindingContext, source: str, data: dict[str, object], text: str) -> list[Evidence]:
    statements = data.get("statements") or []
    assert isinstance(statements, list)
    detail = f"{context.node_name(source)} {text}: {data.get('reason')}"
    if not statements:
        return [Evidence(detail=detail)]
    return [
        Evidence(detail=detail, policy=s["policy"], statement_index=s["statement_index"], sid=s.get("sid"))
        for s in statements
    ]


def _enforcement_findings(context: FindingContext) -> list[Finding]:
    authorizer = context.authorizer
    findings: list[Finding] = []
    for role_arn, uses in context.agent_roles.items():
        role = authorizer.role(role_arn)
        if role is None:
            continue
        models = sorted(
            {
                (use.agent.region, model)
                for use in uses
                for model in (
                    use.agent.foundation_model,
                    *(version.foundation_model for version in use.agent.versions.values()),
                )
                if model
            }
        )
        principal = authorizer.request_principal(role_arn)
        unenforced = []
        for region, model in models:
            model_arn = (
                model
                if model.startswith("arn:")
                else f"arn:{context.partition}:bedrock:{region}::foundation-model/{model}"
            )
            evaluation = authorizer.decide(principal, "bedrock:InvokeModel", model_arn, resource_account=role.account)
            if evaluation.decision is Decision.DENY:
                continue
            clauses = (*evaluation.conditions, *evaluation.deny_conditions)
            if evaluation.decision is Decision.CONDITIONAL and any(c.key.lower() == GUARDRAIL_KEY for c in clauses):
                continue
            unenforced.append((model_arn, evaluation))
        if not unenforced:
            continue
        evidence = []
        for model_arn, evaluation in unenforced:
            for statement in evaluation.granting:
                evidence.append(
                    Evidence(
                        detail=f"{role.name} may call bedrock:InvokeModel on {model_arn} ({evaluation.decision}) "
                        "whatever guardrail the request names; no statement reads bedrock:GuardrailIdentifier",
                        policy=statement.source.policy_id,
                        statement_index=statement.index,
                        sid=statement.sid,
                    )
                )
        findings.append(
            Finding(
                rule_id="DG008",
                rule="guardrail-tampering",
                severity=Severity.LOW,
                title=f"No policy makes {role.name} use a guardrail on model calls",
                key=f"enforce|{role_arn}",
                resources=(role_arn, *(model for model, _ in unenforced)),
                evidence=tuple(evidence),
                remediation=(
                    "Add a statement that denies bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream unless "
                    "bedrock:GuardrailIdentifier equals the approved guardrail ARN and version, to the role or as an "
                    "SCP."
                ),
                score=float(len(unenforced)),
                details={"models": [model for model, _ in unenforced]},
            )
        )
    return findings
