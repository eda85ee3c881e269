"""DG009: Bedrock may act for another account's agent (cross-service confused deputy).

The real evaluator decides two requests that Bedrock would send on behalf of an agent
in an account outside the snapshot and its organization, with `aws:SourceArn` and
`aws:SourceAccount` set to that agent: `sts:AssumeRole` on each agent execution role
(its trust policy decides) and `lambda:InvokeFunction` on each function with a
resource-based policy. When either is not denied, any account's agent could use the
role or the function, as the IAM User Guide page "The confused deputy problem"
describes.

Not modelled: knowledge base roles, and the `aws:SourceOrgID` and `aws:SourceOrgPaths`
keys, which the probe leaves absent.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.evaluator import Decision, Evaluation
from engine.findings.context import AgentUse, FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.inventory import LambdaFunction

PROBE_AGENT_ID = "PROBEAGENT"


def _probe_agent(context: FindingContext, region: str) -> str:
    return f"arn:{context.partition}:bedrock:{region}:{context.outside_account()}:agent/{PROBE_AGENT_ID}"


def _evidence(evaluation: Evaluation, detail: str) -> tuple[Evidence, ...]:
    items = [
        Evidence(detail=detail, policy=s.source.policy_id, statement_index=s.index, sid=s.sid)
        for s in evaluation.granting
    ]
    return tuple(items) or (Evidence(detail=detail),)


def _trust_remediation(context: FindingContext, role_name: str, account: str, uses: Sequence[AgentUse]) -> str:
    agent_arns = sorted({use.agent.arn for use in uses})
    account_wide = sorted({f"arn:{context.partition}:bedrock:{use.agent.region}:{account}:agent/*" for use in uses})
    return (
        f"Add to the trust policy of {role_name} a Condition with StringEquals aws:SourceAccount {account} "
        f"and ArnLike aws:SourceArn {', '.join(agent_arns)} (the agents that run with the role; "
        f"{', '.join(account_wide)} would admit every agent of the account there)."
    )


def _function_remediation(context: FindingContext, function: LambdaFunction, evaluation: Evaluation) -> str:
    """Spell out the Lambda CLI commands that swap the open statements for one per agent.

    `aws lambda add-permission` takes one --source-arn, so each agent that calls the
    function gets its own statement. Statements without a Sid cannot be removed by
    `remove-permission` and are named for a manual policy edit instead.
    """
    base = f"aws lambda {{verb}} --region {function.region} --function-name {function.name}"
    steps: list[str] = []
    unnamed: list[str] = []
    for statement in evaluation.granting:
        if statement.sid:
            steps.append(f"`{base.format(verb='remove-permission')} --statement-id {statement.sid}`")
        else:
            unnamed.append(f"statement {statement.index}")
    agents = sorted(
        {use.agent.arn: use.agent for use in context.action_group_functions.get(function.arn, [])}.values(),
        key=lambda agent: agent.arn,
    )
    for agent in agents:
        statement_id = f"bedrock-agent-{agent.agent_id}"
        steps.append(
            f"`{base.format(verb='add-permission')} --statement-id {statement_id} --action lambda:InvokeFunction "
            f"--principal bedrock.amazonaws.com --source-account {function.account} --source-arn {agent.arn}`"
        )
    text = "Run " + ", then ".join(steps) + "." if steps else ""
    if unnamed:
        text += (
            f" The resource-based policy of {function.name} has {', '.join(unnamed)} without a Sid, which "
            "remove-permission cannot name: rewrite that policy without it."
        )
    if not agents:
        text += f" No agent in the snapshot calls {function.name}, so no statement for Bedrock needs to stay."
    return text.strip()


def cross_service_confused_deputy(context: FindingContext) -> list[Finding]:
    """DG009: agent roles and functions that Bedrock would use for an agent of any account."""
    authorizer = context.authorizer
    bedrock = authorizer.service_principal("bedrock")
    findings: list[Finding] = []
    for role_arn, uses in context.agent_roles.items():
        role = authorizer.role(role_arn)
        if role is None:
            continue
        source = _probe_agent(context, uses[0].agent.region)
        evaluation = authorizer.decide(
            bedrock, "sts:AssumeRole", role_arn, resource_account=role.account, source_arn=source
        )
        if evaluation.decision is Decision.DENY:
            continue
        detail = (
            f"the trust policy of {role.name} lets {bedrock.arn} assume it for {source} ({evaluation.decision}): "
            "no aws:SourceAccount or aws:SourceArn condition limits it to this account's agents"
        )
        findings.append(
            Finding(
                rule_id="DG009",
                rule="cross-service-confused-deputy",
                severity=Severity.HIGH,
                title=f"Agent execution role {role.name} trusts Bedrock without a source condition",
                key=f"role|{role_arn}",
                resources=(role_arn,),
                evidence=_evidence(evaluation, detail),
                remediation=_trust_remediation(context, role.name, role.account, uses),
                details={"probe_source_arn": source, "decision": str(evaluation.decision)},
            )
        )
    for function_arn, function in sorted(context.functions().items()):
        if function.policy is None:
            continue
        source = _probe_agent(context, function.region)
        evaluation = authorizer.decide(
            bedrock, "lambda:InvokeFunction", function_arn, resource_account=function.account, source_arn=source
        )
        if evaluation.decision is Decision.DENY:
            continue
        detail = (
            f"the resource-based policy of {function.name} lets {bedrock.arn} invoke it for {source} "
            f"({evaluation.decision}): no source condition limits it to this account's agents"
        )
        findings.append(
            Finding(
                rule_id="DG009",
                rule="cross-service-confused-deputy",
                severity=Severity.HIGH,
                title=f"Lambda function {function.name} lets Bedrock invoke it for any account's agent",
                key=f"function|{function_arn}",
                resources=(function_arn, function.role_arn),
                evidence=_evidence(evaluation, detail),
                remediation=_function_remediation(context, function, evaluation),
                details={"probe_source_arn": source, "decision": str(evaluation.decision)},
            )
        )
    return findings
