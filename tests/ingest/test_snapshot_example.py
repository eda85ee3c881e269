"""Snapshot reader: the bundled examples/shared-hr-agent snapshot loads with its real values."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.inventory import ActionGroup, AgentAlias, Snapshot
from ingest.snapshot import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
# Published get-account-authorization-details output. NOTICE.md in that folder gives its origin.
PUBLISHED_IAM = Path(__file__).resolve().parents[1] / "data" / "cloudsplaining-account"
ACCOUNT = "111122223333"
HR_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"
HELPDESK_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/M3ITHD8P5W"
AGENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"
LOOKUP = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:hr-policy-lookup"
PROVISIONER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:infra-vpc-provisioner"


@pytest.fixture(scope="module")
def example() -> Snapshot:
    return load_snapshot(EXAMPLE)


def test_example_coverage(example: Snapshot) -> None:
    assert example.partition == "aws"
    assert example.collected_at == "2024-11-05T14:30:00Z"
    assert list(example.accounts) == [ACCOUNT]
    assert example.accounts[ACCOUNT].coverage == {
        "iam",
        "s3",
        "lambda:us-east-1",
        "bedrock-agent:us-east-1",
        "bedrock:us-east-1",
        "cloudtrail:us-east-1",
    }
    assert example.not_seen == []


def test_example_hr_agent_versions(example: Snapshot) -> None:
    agent = example.accounts[ACCOUNT].agents[HR_AGENT]

    assert agent.name == "hr-policy-assistant"
    assert list(agent.versions) == ["DRAFT", "1", "2"]
    assert [version.role_arn for version in agent.versions.values()] == [AGENT_ROLE] * 3
    assert [version.role_from_agent for version in agent.versions.values()] == [
        True,
        False,
        False,
    ]
    assert agent.versions["1"].action_groups == (
        ActionGroup(action_group_id="PLK3W9R2TX", name="policy-lookup", enabled=True, lambda_arn=LOOKUP),
    )
    assert [group.lambda_arn for group in agent.versions["2"].action_groups] == [
        PROVISIONER,
        LOOKUP,
    ]
    assert [kb.knowledge_base_id for kb in agent.versions["2"].knowledge_bases] == ["HRKB4Q8Z2X"]


def test_example_alias_routing(example: Snapshot) -> None:
    accounts = example.accounts[ACCOUNT]
    prefix = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias"

    running = "ACCEPT_INVOCATIONS"
    assert accounts.agents[HR_AGENT].aliases == (
        AgentAlias(
            "PRD4N8XK2Z", "prod", f"{prefix}/Q7HRX2KD4N/PRD4N8XK2Z", ("2",), "PREPARED", invocation_state=running
        ),
        AgentAlias(
            "V1S7QJ3M0B",
            "stable-v1",
            f"{prefix}/Q7HRX2KD4N/V1S7QJ3M0B",
            ("1",),
            "PREPARED",
            invocation_state=running,
        ),
        AgentAlias(
            "TSTALIASID",
            "AgentTestAlias",
            f"{prefix}/Q7HRX2KD4N/TSTALIASID",
            ("DRAFT",),
            "PREPARED",
            invocation_state=running,
        ),
    )
    helpdesk = accounts.agents[HELPDESK_AGENT]
    assert [(alias.name, alias.versions) for alias in helpdesk.aliases] == [
        ("helpdesk-prod", ("1",)),
        ("AgentTestAlias", ("DRAFT",)),
    ]
    assert helpdesk.versions["1"].action_groups[0].lambda_arn is None


def test_example_lambda_policies(example: Snapshot) -> None:
    functions = example.accounts[ACCOUNT].functions

    assert functions[LOOKUP].policy == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [
            {
                "Sid": "hr-policy-assistant-invoke",
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": LOOKUP,
                "Condition": {
                    "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                    "ArnLike": {"AWS:SourceArn": HR_AGENT},
                },
            }
        ],
    }
    assert functions[PROVISIONER].role_arn == (f"arn:aws:iam::{ACCOUNT}:role/infra-vpc-provisioner-role")
    provisioner_policy = functions[PROVISIONER].policy
    assert provisioner_policy is not None
    assert "Condition" not in provisioner_policy["Statement"][0]


def test_example_bucket_tags(example: Snapshot) -> None:
    buckets = example.accounts[ACCOUNT].buckets

    assert {arn: dict(bucket.tags) for arn, bucket in buckets.items()} == {
        "arn:aws:s3:::acme-hr-policies": {
            "data-classification": "confidential",
            "owner": "people-operations",
        },
        "arn:aws:s3:::acme-public-assets": {"data-classification": "public", "owner": "marketing"},
        "arn:aws:s3:::acme-terraform-state": {
            "data-classification": "restricted",
            "owner": "platform",
        },
    }
    assert all(bucket.tags_known for bucket in buckets.values())
    assert buckets["arn:aws:s3:::acme-public-assets"].policy is None


def test_example_organization(example: Snapshot) -> None:
    organization = example.organization

    assert organization is not None
    assert organization.management_account_id == "999988887777"
    assert organization.parents[ACCOUNT] == "ou-x9k2-7hq4m2pd"
    assert [policy.name for policy in organization.policies] == [
        "DenyLeaveOrganization",
        "FullAWSAccess",
    ]


def test_published_iam_output_loads() -> None:
    snapshot = load_snapshot(PUBLISHED_IAM)

    inventory = snapshot.accounts["210987654321"]
    assert inventory.coverage == {"iam"}
    assert (len(inventory.users), len(inventory.groups), len(inventory.roles)) == (44, 5, 78)
    assert sum(policy.is_aws_managed for policy in inventory.managed_policies.values()) == 38
    role = inventory.roles["arn:aws:iam::210987654321:role/privesc-high-priv-service-role"]
    assert role.instance_profile_arns == (
        "arn:aws:iam::210987654321:instance-profile/privesc-high-priv-service-profile",
    )
    assert role.trust_policy["Statement"][0]["Principal"]["Service"][0] == ("datapipeline.amazonaws.com")
