"""Every AWS API call the collector makes, with the IAM action that authorizes it.

`docs/collector-policy.json` grants exactly these actions, and a test checks each call
recorded during a collection against that policy. botocore names operations in
PascalCase, and the IAM action usually has the same name under the service's action
prefix. `ACTIONS` lists the calls where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

# botocore service name -> IAM action prefix, where they differ.
ACTION_PREFIXES = {"bedrock-agent": "bedrock"}

# (botocore service name, operation) -> IAM action, where the action is not PREFIX:Operation.
# The S3 and STS rows follow the Service Authorization Reference pages of S3 and STS.
ACTIONS: dict[tuple[str, str], str | None] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    # GetCallerIdentity needs no permission: AWS documents that no IAM policy can deny it.
    ("sts", "GetCallerIdentity"): None,
}

# The calls the collector makes, by service; tests check that every recorded call is listed.
CALLS: dict[str, tuple[str, ...]] = {
    "sts": ("GetCallerIdentity", "AssumeRole"),
    "ec2": ("DescribeRegions",),
    "iam": (
        "GetAccountAuthorizationDetails",
        "GetPolicy",
        "GetPolicyVersion",
        "GenerateServiceLastAccessedDetails",
        "GetServiceLastAccessedDetails",
    ),
    "s3": ("ListBuckets", "GetBucketPolicy", "GetBucketTagging", "GetPublicAccessBlock"),
    "lambda": ("ListFunctions", "GetPolicy"),
    "bedrock-agent": (
        "ListAgents",
        "GetAgent",
        "ListAgentAliases",
        "GetAgentVersion",
        "ListAgentActionGroups",
        "GetAgentActionGroup",
        "ListAgentKnowledgeBases",
        "ListKnowledgeBases",
        "GetKnowledgeBase",
        "ListDataSources",
        "GetDataSource",
    ),
    "bedrock": ("ListGuardrails", "GetGuardrail"),
    "organizations": (
        "DescribeOrganization",
        "ListRoots",
        "ListAccounts",
        "ListOrganizationalUnitsForParent",
        "ListParents",
        "ListPolicies",
        "DescribePolicy",
        "ListTargetsForPolicy",
    ),
    "cloudtrail": ("DescribeTrails", "GetEventSelectors", "GetTrailStatus"),
}


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One API request the collector sent, as botocore named it."""

    service: str
    operation: str
    region: str | None


def iam_action(service: str, operation: str) -> str | None:
    """Return the IAM action that authorizes one call, or None when the call needs no permission."""
    if (service, operation) in ACTIONS:
        return ACTIONS[(service, operation)]
    return f"{ACTION_PREFIXES.get(service, service)}:{operation}"


def collector_actions() -> set[str]:
    """Return every IAM action the collector may need."""
    actions = {iam_action(service, operation) for service, operations in CALLS.items() for operation in operations}
    return {action for action in actions if action is not None}
