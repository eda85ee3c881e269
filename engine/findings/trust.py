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

from engine.evaluator import Decision, Evaluation
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity

PROBE_AGENT_ID = "PROBEAGENT"


def _probe_agent(context: FindingContext, region: str) -> str:
    return f"arn:{context.partition}:bedrock:{region}:{context.outside_account()}:agent/{PROBE_AGENT_ID}"


def _evidence(evaluation: Evaluation, detail: str) -> tuple[Evidence, ...]:
    items = [
        Evidence(detail=detail, policy=s.source.policy_id, statement_index=s.index, sid=s.sid)
        for s in evaluation.granting
    ]
    return tuple(items) or (Evidence(detail=detail),)


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
                remediation=(
                    f"Add to the trust policy of {role.name} a Condition with StringEquals aws:SourceAccount "
                    f"{role.account} and ArnLike aws:SourceArn "
                    f"arn:{context.partition}:bedrock:REGION:{role.account}:agent/*."
                ),
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
                remediation=(
                    f"Replace the statement with `aws lambda add-permission --function-name {function.name} "
                    f"--principal bedrock.amazonaws.com --source-account {function.account} --source-arn` naming the "
                    "agent that uses it."
                ),
                details={"probe_source_arn": source, "decision": str(evaluation.decision)},
            )
        )
    return findings
