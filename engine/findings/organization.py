"""DG005: no SCP restricts Bedrock to approved regions and accounts.

Each account is probed with the real evaluator: a role of the account whose own policy
allows everything requests `bedrock:InvokeAgent` and `bedrock:CreateAgent` in a region
that is not approved, with `aws:RequestedRegion` set to that region. Only the SCPs of
the organization tree decide such a request, so an allow means that no SCP blocks
Bedrock there. When `[bedrock] approved_accounts` is set, accounts outside the list
are probed in an approved region too. The probe region is an example of a request
that would be allowed, not a region where the snapshot saw activity.

A snapshot without `organization/` data gives no finding, because no SCP being known is
not the same as no SCP existing. The snapshot's "not analysed" notes say that SCPs were
not analysed. When `deputy collect` recorded gaps in Organizations calls, an SCP it could not
read may still deny the request, so the finding is low and names the gaps
(`details.depends_on_gaps` holds their indexes, as paths do in `deputy analyze`).

Not modelled: region restrictions in permissions boundaries or identity-based
policies, which can be changed inside the account, and declarative policies.
"""

from __future__ import annotations

import logging

from engine.evaluator import Decision, Evaluation
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.inventory import Organization

logger = logging.getLogger(__name__)

# Regions probed as "not approved", in this order; the first one that the
# configuration does not approve is used.
PROBE_REGIONS = ("ap-southeast-2", "sa-east-1", "eu-north-1", "af-south-1", "ca-central-1", "us-west-1")
DECISION_WORDS = {Decision.ALLOW: "allowed", Decision.CONDITIONAL: "allowed under conditions", Decision.DENY: "denied"}
PROBED_ACTIONS = (("bedrock:InvokeAgent", "agent-alias/*"), ("bedrock:CreateAgent", "agent/*"))


def _approved_regions(context: FindingContext, account: str) -> list[str]:
    if context.sensitivity.approved_regions:
        return list(context.sensitivity.approved_regions)
    inventory = context.deputy.snapshot.accounts.get(account)
    agents = inventory.agents.values() if inventory else ()
    return sorted({agent.region for agent in agents}) or ["us-east-1"]


def _probe(context: FindingContext, account: str, region: str) -> list[tuple[str, Evaluation]]:
    """Evaluate each probed Bedrock action for a role of one account in one region."""
    principal = context.probe_role(account)
    results = []
    for action, resource in PROBED_ACTIONS:
        arn = f"arn:{context.partition}:bedrock:{region}:{account}:{resource}"
        evaluation = context.probe(
            principal,
            action,
            arn,
            resource_account=account,
            resource_is_set=True,
            resource_policy=False,
            given={"aws:RequestedRegion": (region,)},
        )
        results.append((action, evaluation))
    return results


def _why_no_scp(organization: Organization, account: str) -> str:
    if account == organization.management_account_id:
        return "SCPs do not apply to the management account"
    if account not in organization.account_ids:
        return "the account is not a member of the organization in the snapshot"
    return "the SCPs along the account's organization path allow the request"


def _organization_gaps(context: FindingContext) -> list[int]:
    """Return the indexes of the collection gaps in Organizations calls, which may hide an SCP."""
    return [index for index, gap in enumerate(context.deputy.snapshot.gaps) if gap.service == "organizations"]


def bedrock_scp(context: FindingContext) -> list[Finding]:
    """DG005: accounts where Bedrock agents can be used or created outside approved regions or accounts."""
    organization = context.deputy.snapshot.organization
    if organization is None:
        # Without organization data no SCP is known, which is not the same as none existing.
        # The snapshot's "not analysed" notes already state that SCPs were not analysed.
        logger.info("DG005: skipped, because the snapshot has no organization data")
        return []
    findings: list[Finding] = []
    gaps = _organization_gaps(context)
    approved_accounts = set(context.sensitivity.approved_accounts)
    accounts = set(context.deputy.snapshot.accounts)
    if approved_accounts:
        accounts |= set(organization.account_ids)
    for account in sorted(accounts):
        approved = _approved_regions(context, account)
        if approved_accounts and account not in approved_accounts:
            region = approved[0]
            where = f"in {region}"
            scope = f"stops Bedrock agents in account {account}, which [bedrock] approved_accounts does not list"
        else:
            region = next((r for r in PROBE_REGIONS if r not in approved), "")
            if not region:
                continue
            # The region is only an example request. The snapshot records no activity there.
            where = f"in a region outside the approved list, for example {region},"
            scope = f"limits Bedrock agents in account {account} to the approved regions ({', '.join(approved)})"
        allowed = [(action, e) for action, e in _probe(context, account, region) if e.decision is not Decision.DENY]
        if not allowed:
            continue
        evidence = [
            Evidence(
                detail=f"{action} {where} would be {DECISION_WORDS[evaluation.decision]} for a role of account "
                f"{account} that may do anything: {_why_no_scp(organization, account)}",
                setting="service control policies",
            )
            for action, evaluation in allowed
        ]
        for _, evaluation in allowed:
            for statement in evaluation.permitting:
                evidence.append(
                    Evidence(
                        detail=f"SCP statement {statement.ref} allows the request",
                        policy=statement.source.policy_id,
                        statement_index=statement.index,
                        sid=statement.sid,
                    )
                )
        evidence += [
            Evidence(
                detail="an SCP that deputy collect could not read may still deny the request: "
                f"{context.deputy.snapshot.gaps[index].sentence()}",
                setting="service control policies",
            )
            for index in gaps
        ]
        findings.append(
            Finding(
                rule_id="DG005",
                rule="bedrock-scp-missing",
                severity=Severity.LOW if gaps else Severity.MEDIUM,
                title=f"No SCP {'that the snapshot holds ' if gaps else ''}{scope}",
                key=f"{account}|{region}",
                resources=(f"arn:{context.partition}:iam::{account}:root",),
                evidence=tuple(dict.fromkeys(evidence)),
                remediation=(
                    "Attach an SCP that denies bedrock:* when aws:RequestedRegion is not one of the approved regions "
                    "(AWS Organizations User Guide, SCP example 'Deny access to AWS based on the requested AWS "
                    "Region'), and one that denies bedrock:* in accounts not approved for Bedrock."
                ),
                score=float(len(allowed)),
                details={
                    "account": account,
                    "probed_region": region,
                    "approved_regions": approved,
                    "depends_on_gaps": gaps,
                },
            )
        )
    return findings
