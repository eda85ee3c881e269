"""IAM: the account authorization details, and the boundary policies they leave out.

`GetAccountAuthorizationDetails` returns every user, group and role with its inline and
attached policies, and every managed policy attached to one of them. A managed policy
used only as a permissions boundary is attached to nothing, so the call omits it. Such
policies are read with `GetPolicy` and `GetPolicyVersion` into `iam/policies/<name>.json`.

Service last-accessed data comes from one `GenerateServiceLastAccessedDetails` job per
user and role, read with `GetServiceLastAccessedDetails` once the job has finished, into
`iam/service-last-accessed/users/<name>.json` and `.../roles/<name>.json`. The roles'
reports feed the least-privilege proposals of `deputy report`. When the caller may not
start such jobs, one gap records that and no further job is tried.
"""

from __future__ import annotations

from typing import Any

from ingest.collect.aws import CollectionCancelled, Status
from ingest.collect.context import Context

DETAILS_SUBJECT = "users, groups, roles and their policies"
LAST_ACCESSED_FOLDER = "service-last-accessed"
# Seconds between two reads of an unfinished last-accessed job, and the reads allowed per job.
POLL_SECONDS = 2.0
MAX_POLLS = 30


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


def fetch_last_accessed(context: Context, arn: str, job_id: str, *, poll_seconds: float) -> dict[str, Any] | None:
    """Wait for one last-accessed job and return its report with every page merged, or None after a gap.

    `GetServiceLastAccessedDetails` has no botocore paginator, so its `Marker` is followed here.
    """
    subject = f"the service last-accessed data of {arn}"
    report: dict[str, Any] | None = None
    for _ in range(MAX_POLLS):
        outcome = context.call("iam", "GetServiceLastAccessedDetails", subject=subject, resource=arn, JobId=job_id)
        if not outcome.ok or outcome.data is None:
            return None
        report = outcome.data
        if report.get("JobStatus") != "IN_PROGRESS":
            break
        if context.caller.stop.wait(poll_seconds):
            raise CollectionCancelled
    if report is None or report.get("JobStatus") != "COMPLETED":
        return None

    services = list(report.get("ServicesLastAccessed", []))
    while report.get("IsTruncated"):
        outcome = context.call(
            "iam",
            "GetServiceLastAccessedDetails",
            subject=subject,
            resource=arn,
            JobId=job_id,
            Marker=report["Marker"],
        )
        if not outcome.ok or outcome.data is None:
            return None
        report = outcome.data
        services += report.get("ServicesLastAccessed", [])
    merged = {key: value for key, value in report.items() if key not in ("IsTruncated", "Marker")}
    merged["ServicesLastAccessed"] = services
    return merged


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


def principals(details: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (folder, name, ARN) for every user and role in the authorization details."""
    users = [("users", user["UserName"], user["Arn"]) for user in details.get("UserDetailList", [])]
    roles = [("roles", role["RoleName"], role["Arn"]) for role in details.get("RoleDetailList", [])]
    return users + roles


# ---- collect: fetch, transform, write ----


def collect_iam(context: Context, *, poll_seconds: float = POLL_SECONDS) -> None:
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

    collect_last_accessed(context, principals(details.data), poll_seconds=poll_seconds)


def collect_last_accessed(context: Context, targets: list[tuple[str, str, str]], *, poll_seconds: float) -> None:
    """Start a last-accessed job for every user and role, then write each finished report."""
    jobs: list[tuple[str, str, str, str]] = []
    for index, (folder, name, arn) in enumerate(targets):
        # A refused first job means that the caller may start none, so one gap stands for all of them.
        subject = (
            "the service last-accessed data of every user and role"
            if index == 0
            else f"the service last-accessed data of {arn}"
        )
        started = context.call("iam", "GenerateServiceLastAccessedDetails", subject=subject, resource=arn, Arn=arn)
        if index == 0 and started.status is Status.FAILED:
            return
        if started.ok and started.data is not None:
            jobs.append((folder, name, arn, started.data["JobId"]))

    for folder, name, arn, job_id in jobs:
        report = fetch_last_accessed(context, arn, job_id, poll_seconds=poll_seconds)
        if context.write(
            ("iam", LAST_ACCESSED_FOLDER, folder, f"{name}.json"),
            report,
            service="iam",
            operation="GetServiceLastAccessedDetails",
        ):
            context.log.count("iam", "last-accessed reports")
