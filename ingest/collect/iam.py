"""IAM: the account authorization details, and the boundary policies they leave out.

`GetAccountAuthorizationDetails` returns every user, group and role with its inline and
attached policies, and every managed policy attached to one of them. A managed policy
used only as a permissions boundary is attached to nothing, so the call omits it. Such
policies are read with `GetPolicy` and `GetPolicyVersion` into `iam/policies/<name>.json`.

Not read: service last-accessed data (`GenerateServiceLastAccessedDetails`), because the
analysis does not use it yet.
"""

from __future__ import annotations

from typing import Any

from ingest.collect.context import Context

DETAILS_SUBJECT = "users, groups, roles and their policies"


# ---- fetch ----


def fetch_boundary_policy(context: Context, arn: str) -> dict[str, Any] | None:
    """Return `{"Policy": ..., "PolicyVersion": ...}` for one managed policy, or None after a gap."""
    subject = f"permissions boundary policy {arn}"
    policy = context.call("iam", "GetPolicy", subject=subject, resource=arn, PolicyArn=arn)
    if not policy.ok or policy.data is None:
        return None
    details = policy.data["Policy"]
    version = context.call(
        "iam",
        "GetPolicyVersion",
        subject=subject,
        resource=arn,
        PolicyArn=arn,
        VersionId=details["DefaultVersionId"],
    )
    if not version.ok or version.data is None:
        return None
    return {"Policy": details, "PolicyVersion": version.data["PolicyVersion"]}


# ---- transform ----


def omitted_boundaries(details: dict[str, Any]) -> list[str]:
    """Return the ARNs of boundary policies that users and roles name but the details leave out."""
    listed = {policy["Arn"] for policy in details.get("Policies", [])}
    named = {
        entry["PermissionsBoundary"]["PermissionsBoundaryArn"]
        for key in ("UserDetailList", "RoleDetailList")
        for entry in details.get(key, [])
        if entry.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    }
    return sorted(named - listed)


# ---- collect: fetch, transform, write ----


def collect_iam(context: Context) -> None:
    """Collect `iam/` of one account."""
    details = context.paginate("iam", "GetAccountAuthorizationDetails", subject=DETAILS_SUBJECT)
    if not details.ok or details.data is None:
        return
    context.write(
        ("iam", "authorization-details.json"),
        details.data,
        service="iam",
        operation="GetAccountAuthorizationDetails",
    )
    for key, kind in (
        ("UserDetailList", "users"),
        ("GroupDetailList", "groups"),
        ("RoleDetailList", "roles"),
        ("Policies", "managed policies"),
    ):
        context.log.count("iam", kind, len(details.data.get(key, [])))

    for arn in omitted_boundaries(details.data):
        policy = fetch_boundary_policy(context, arn)
        if policy is None:
            continue
        name = policy["Policy"]["PolicyName"]
        if context.write(("iam", "policies", f"{name}.json"), policy, service="iam", operation="GetPolicy"):
            context.log.count("iam", "boundary policies")
