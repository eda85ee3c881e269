"""DG010: sensitive buckets and functions whose resource-based policy limits no caller.

A role of the resource's own account whose identity-based policy allows everything
asks for `s3:GetObject` on every object of the bucket, or `lambda:InvokeFunction` on
the function, with the SCPs left out. When the resource-based policy (or its absence)
lets that request through, any principal of the account that is granted the action
by its own policies can use the resource. A function is sensitive when its execution
role reaches a sensitive target.

The title and evidence tell a resource with no resource-based policy from one whose
policy does not limit who may use it, and name the deny statements that do not apply.

Not modelled: S3 Block Public Access and access points, and VPC endpoint policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.arn import s3_objects_arn
from engine.evaluator import Decision, Evaluation
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.graph import condition_json, condition_text
from engine.paths import reach_from
from engine.policy import Statement


@dataclass(frozen=True, slots=True)
class _Kind:
    """The words a finding uses for one kind of resource, its resource-based policy and the probed use."""

    noun: str  # bucket, function
    policy: str  # bucket policy, resource-based policy
    action: str  # the action of the probe request
    verb: str  # read, invoke


BUCKET = _Kind("bucket", "bucket policy", "s3:GetObject", "read")
FUNCTION = _Kind("function", "resource-based policy", "lambda:InvokeFunction", "invoke")


def _title(kind: _Kind, name: str, has_policy: bool, decision: Decision) -> str:
    """Write the title; a decision that hangs on conditions the snapshot cannot settle is hedged."""
    if has_policy and decision is Decision.CONDITIONAL:
        return f"Sensitive {kind.noun} {name} has a {kind.policy} that may not limit who may {kind.verb} it"
    if has_policy:
        return f"Sensitive {kind.noun} {name} has a {kind.policy} that does not limit who may {kind.verb} it"
    return f"Sensitive {kind.noun} {name} has no {kind.policy} to limit who may {kind.verb} it"


def _policy_evidence(
    kind: _Kind, name: str, account: str, statements: tuple[Statement, ...] | None, evaluation: Evaluation
) -> list[Evidence]:
    """Explain why the resource-based policy, or its absence, lets any principal of the account through."""
    setting = kind.policy
    if statements is None:
        detail = (
            f"{name} has no {kind.policy}, so every principal of account {account} whose own policies allow "
            f"{kind.action} on it may {kind.verb} it"
        )
        return [Evidence(detail=detail, setting=setting)]
    # IAM User Guide, "Policy evaluation for requests within a single account": within one
    # account an Allow in either policy is enough, so only a Deny narrows who gets in.
    if evaluation.decision is Decision.CONDITIONAL and evaluation.denying:
        clauses = "; ".join(condition_text(condition_json(clause, "deny-if")) for clause in evaluation.deny_conditions)
        detail = (
            f"the {kind.policy} of {name} denies {kind.action} to a principal of account {account} whose own "
            f"policies allow it only under conditions that the snapshot cannot settle: allowed {clauses}"
        )
        conditional = [
            _statement_evidence(statement, "applies to such a request only if its conditions hold")
            for statement in evaluation.denying
        ]
        return [Evidence(detail=detail, setting=setting), *conditional]
    detail = (
        f"the {kind.policy} of {name} denies {kind.action} to no principal of account {account} whose own "
        "policies allow it; within one account an Allow in either the identity-based or the resource-based "
        f"policy is enough, so only a Deny statement limits who may {kind.verb} it"
    )
    passed = [
        _statement_evidence(statement, "does not apply to such a request")
        for statement in statements
        if not statement.is_allow
    ]
    return [Evidence(detail=detail, setting=setting), *passed]


def _statement_evidence(statement: Statement, what: str) -> Evidence:
    return Evidence(
        detail=f"deny statement {statement.ref} {what}",
        policy=statement.source.policy_id,
        statement_index=statement.index,
        sid=statement.sid,
    )


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
            statements = context.authorizer.resource_policy(objects)
            findings.append(
                Finding(
                    rule_id="DG010",
                    rule="unrestricted-sensitive-resource",
                    severity=Severity.MEDIUM,
                    title=_title(BUCKET, bucket.name, statements is not None, evaluation.decision),
                    key=bucket_arn,
                    resources=(bucket_arn,),
                    evidence=(
                        Evidence(detail=f"{bucket.name} is sensitive: {data.get('sensitivity')}"),
                        *_policy_evidence(BUCKET, bucket.name, account_id, statements, evaluation),
                    ),
                    remediation=(
                        f"Add a bucket policy statement that denies s3:* on {bucket.name} and its objects unless "
                        "aws:PrincipalArn is one of the roles that need it (ArnNotLike), so that a broad "
                        "identity-based grant elsewhere does not reach it."
                    ),
                    details={"decision": str(evaluation.decision), "has_policy": statements is not None},
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
            statements = context.authorizer.resource_policy(function_arn)
            reached_names = ", ".join(context.node_name(target) for target in reached)
            findings.append(
                Finding(
                    rule_id="DG010",
                    rule="unrestricted-sensitive-resource",
                    severity=Severity.MEDIUM,
                    title=_title(FUNCTION, function.name, statements is not None, evaluation.decision),
                    key=function_arn,
                    resources=(function_arn, function.role_arn, *reached),
                    evidence=(
                        Evidence(
                            detail=f"{function.name} runs with {context.node_name(function.role_arn)}, "
                            f"which reaches {reached_names}"
                        ),
                        *_policy_evidence(FUNCTION, function.name, account_id, statements, evaluation),
                    ),
                    remediation=(
                        f"Add a statement to the policy of {function.name} that denies lambda:InvokeFunction to every "
                        "principal except the agent (aws:SourceArn) and the roles that need it, or narrow its role."
                    ),
                    details={
                        "decision": str(evaluation.decision),
                        "has_policy": statements is not None,
                        "reaches": reached,
                    },
                )
            )
    return findings
