"""DG010: sensitive buckets and functions whose resource-based policy limits no caller.

A role of the resource's own account whose identity-based policy allows everything
asks for `s3:GetObject` on every object of the bucket, or `lambda:InvokeFunction` on
the function, with the SCPs left out. When the resource-based policy (or its absence)
lets that request through, any principal of the account that is granted the action
by its own policies can use the resource. A function is sensitive when its execution
role reaches a sensitive target.

Not modelled: S3 Block Public Access and access points, and VPC endpoint policies.
"""

from __future__ import annotations

from engine.arn import s3_objects_arn
from engine.evaluator import Decision, Evaluation
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.paths import reach_from


def _evidence(kind: str, has_policy: bool, evaluation: Evaluation, name: str, account: str) -> tuple[Evidence, ...]:
    if not has_policy:
        return (Evidence(detail=f"{kind} {name} has no resource-based policy", setting=f"{kind} policy"),)
    detail = (
        f"the {kind} policy of {name} denies nothing to a principal of account {account} that its own policies allow "
        f"({evaluation.decision})"
    )
    denies = tuple(
        Evidence(
            detail=f"deny statement {s.ref} does not apply to such a caller",
            policy=s.source.policy_id,
            statement_index=s.index,
            sid=s.sid,
        )
        for s in evaluation.denying
    )
    return (Evidence(detail=detail, setting=f"{kind} policy"), *denies)


def unrestricted_sensitive_resources(context: FindingContext) -> list[Finding]:
    """DG010: one finding per sensitive bucket or function that any principal of its account may use."""
    graph = context.deputy.graph
    findings: list[Finding] = []
    for account_id, inventory in sorted(context.deputy.snapshot.accounts.items()):
        probe = context.probe_role(account_id)
        for bucket_arn, bucket in sorted(inventory.buckets.items()):
            data = graph.nodes.get(bucket_arn, {})
            if not data.get("sensitive"):
                continue
            objects = s3_objects_arn(bucket.name, context.partition)
            evaluation = context.probe(
                probe, "s3:GetObject", objects, resource_account=account_id, resource_is_set=True, scps=False
            )
            if evaluation.decision is Decision.DENY:
                continue
            findings.append(
                Finding(
                    rule_id="DG010",
                    rule="unrestricted-sensitive-resource",
                    severity=Severity.MEDIUM,
                    title=f"Sensitive bucket {bucket.name} has no bucket policy limiting who may read it",
                    key=bucket_arn,
                    resources=(bucket_arn,),
                    evidence=(
                        Evidence(detail=f"{bucket.name} is sensitive: {data.get('sensitivity')}"),
                        *_evidence("bucket", bucket.policy is not None, evaluation, bucket.name, account_id),
                    ),
                    remediation=(
                        f"Add a bucket policy statement that denies s3:* on {bucket.name} and its objects unless "
                        "aws:PrincipalArn is one of the roles that need it (ArnNotLike), so that a broad "
                        "identity-based grant elsewhere does not reach it."
                    ),
                    details={"decision": str(evaluation.decision)},
                )
            )
        for function_arn, function in sorted(inventory.functions.items()):
            reached = sorted(
                {
                    r.target
                    for r in reach_from(context.deputy, function.role_arn, agents=False, functions=False)
                    if graph.nodes[r.target].get("sensitive")
                }
            )
            if not reached:
                continue
            evaluation = context.probe(
                probe, "lambda:InvokeFunction", function_arn, resource_account=account_id, scps=False
            )
            if evaluation.decision is Decision.DENY:
                continue
            shown = ", ".join(context.node_name(target) for target in reached[:5])
            findings.append(
                Finding(
                    rule_id="DG010",
                    rule="unrestricted-sensitive-resource",
                    severity=Severity.MEDIUM,
                    title=f"Sensitive function {function.name} has no resource-based policy limiting who may invoke it",
                    key=function_arn,
                    resources=(function_arn, function.role_arn, *reached),
                    evidence=(
                        Evidence(
                            detail=f"{function.name} runs with {context.node_name(function.role_arn)}, "
                            f"which reaches {shown}"
                        ),
                        *_evidence("function", function.policy is not None, evaluation, function.name, account_id),
                    ),
                    remediation=(
                        f"Add a statement to the policy of {function.name} that denies lambda:InvokeFunction to every "
                        "principal except the agent (aws:SourceArn) and the roles that need it, or narrow its role."
                    ),
                    details={"decision": str(evaluation.decision), "reaches": reached},
                )
            )
    return findings
