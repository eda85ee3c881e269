"""AWS Organizations: the OU tree, and the SCPs and RCPs with their targets.

Only the management account and a delegated administrator may read the tree and the
policies. The tree is walked from each root with `ListOrganizationalUnitsForParent`,
and each OU and account then gets the `ListParents` output that the snapshot stores.
Policies are listed for the policy types enabled on a root; a type that is not
enabled has no effect on any account.

Not read: tag, backup, AI opt-out and declarative policies, and delegated administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.collect.aws import Status
from ingest.collect.context import Context

POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
FOLDER = "organization"
NOT_IN_USE = "AWSOrganizationsNotInUseException"


@dataclass(frozen=True, slots=True)
class OrganizationResult:
    """The result of reading the organization: whether the caller's account is in one, and its active accounts."""

    status: Status
    organization_id: str | None = None
    management_account_id: str | None = None
    active_accounts: tuple[str, ...] = ()
    accounts_listed: bool = False


# ---- transform ----


def enabled_policy_types(roots: dict[str, Any]) -> list[str]:
    """Return the SCP and RCP types that are enabled on at least one root."""
    enabled = {
        policy_type["Type"]
        for root in roots.get("Roots", [])
        for policy_type in root.get("PolicyTypes", [])
        if policy_type.get("Status") == "ENABLED"
    }
    return [policy_type for policy_type in POLICY_TYPES if policy_type in enabled]


def active_account_ids(accounts: dict[str, Any]) -> tuple[str, ...]:
    """Return the ids of accounts whose status is ACTIVE (`State`, or the older `Status`)."""
    return tuple(
        account["Id"]
        for account in accounts.get("Accounts", [])
        if (account.get("State") or account.get("Status")) == "ACTIVE"
    )


# ---- collect: fetch, transform, write ----


def collect_organization(context: Context) -> OrganizationResult:
    """Collect `organization/` from the caller's account."""
    described = context.call(
        "organizations",
        "DescribeOrganization",
        subject="the organization: SCPs and RCPs",
        absent=(NOT_IN_USE,),
    )
    if described.status is Status.ABSENT:
        return OrganizationResult(Status.ABSENT)
    if not described.ok or described.data is None:
        return OrganizationResult(Status.FAILED)
    _write(context, "organization.json", described.data, "DescribeOrganization")
    details = described.data["Organization"]

    roots = context.paginate("organizations", "ListRoots", subject="the organization's roots and enabled policy types")
    _write(context, "roots.json", roots.data, "ListRoots")
    accounts = context.paginate("organizations", "ListAccounts", subject="the organization's member accounts")
    _write(context, "accounts.json", accounts.data, "ListAccounts")
    active = active_account_ids(accounts.data) if accounts.data is not None else ()
    context.log.count("organizations", "accounts", len(active))

    root_ids = [root["Id"] for root in (roots.data or {}).get("Roots", [])]
    member_ids = [account["Id"] for account in (accounts.data or {}).get("Accounts", [])]
    _collect_tree(context, root_ids, member_ids)

    policy_types = enabled_policy_types(roots.data) if roots.data is not None else list(POLICY_TYPES)
    listed = [_collect_policies(context, policy_type) for policy_type in policy_types]
    if all(listed):
        # Every enabled type was listed (or none is enabled), so an empty folder means "no SCPs or RCPs".
        context.writer.make_folder((FOLDER, "policies"))

    return OrganizationResult(
        Status.OK,
        organization_id=details.get("Id"),
        management_account_id=details.get("MasterAccountId"),
        active_accounts=active,
        accounts_listed=accounts.ok,
    )


def _collect_tree(context: Context, root_ids: list[str], account_ids: list[str]) -> None:
    """Write `parents/<id>.json` for every OU below the roots and every member account."""
    children: list[str] = []
    pending = list(root_ids)
    while pending:
        parent = pending.pop(0)
        units = context.paginate(
            "organizations",
            "ListOrganizationalUnitsForParent",
            subject=f"the OUs under {parent}",
            resource=parent,
            ParentId=parent,
        )
        for unit in (units.data or {}).get("OrganizationalUnits", []):
            children.append(unit["Id"])
            pending.append(unit["Id"])
    context.log.count("organizations", "OUs", len(children))

    for child in [*children, *account_ids]:
        parents = context.paginate(
            "organizations",
            "ListParents",
            subject=f"the parent of {child} in the OU tree",
            resource=child,
            ChildId=child,
        )
        _write(context, ("parents", f"{child}.json"), parents.data, "ListParents")


def _collect_policies(context: Context, policy_type: str) -> bool:
    """Collect the policies of one type; return whether they could be listed."""
    kind = "SCPs" if policy_type == "SERVICE_CONTROL_POLICY" else "RCPs"
    listing = context.paginate(
        "organizations", "ListPolicies", subject=f"the organization's {kind}", Filter=policy_type
    )
    for summary in (listing.data or {}).get("Policies", []):
        policy_id = summary["Id"]
        policy = context.call(
            "organizations",
            "DescribePolicy",
            subject=f"policy {policy_id}",
            resource=summary.get("Arn"),
            PolicyId=policy_id,
        )
        if not _write(context, ("policies", f"{policy_id}.json"), policy.data, "DescribePolicy"):
            continue
        context.log.count("organizations", kind)
        targets = context.paginate(
            "organizations",
            "ListTargetsForPolicy",
            subject=f"where policy {policy_id} is attached",
            resource=summary.get("Arn"),
            PolicyId=policy_id,
        )
        _write(context, ("policies", policy_id, "targets.json"), targets.data, "ListTargetsForPolicy")
    return listing.ok


def _write(context: Context, name: str | tuple[str, ...], data: dict[str, Any] | None, operation: str) -> bool:
    """Write one file under `organization/`, which sits beside the account folders."""
    if data is None:
        return False
    parts = (name,) if isinstance(name, str) else name
    context.writer.write((FOLDER, *parts), data)
    return True
