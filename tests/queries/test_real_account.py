"""Analysis of a real account's IAM export (see tests/data/cloudsplaining-account/NOTICE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.model import Label
from ingest.snapshot import load_snapshot
from queries.embedded import analyze, federated_roles, service_only_roles, who_can_assume

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "cloudsplaining-account"
ACCOUNT = "210987654321"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@pytest.fixture(scope="module")
def deputy() -> DeputyGraph:
    return build_graph(load_snapshot(SNAPSHOT))


def assumers(deputy: DeputyGraph, role: str) -> set[str]:
    return {entry["name"] for entry in who_can_assume(deputy, role)}


def test_real_export_counts(deputy: DeputyGraph) -> None:
    labels = [data["label"] for _, data in deputy.graph.nodes(data=True)]
    assert labels.count(Label.USER) == 44
    assert labels.count(Label.GROUP) == 5
    assert labels.count(Label.ROLE) == 78


def test_high_priv_service_role_only_services(deputy: DeputyGraph) -> None:
    assert assumers(deputy, role_arn("privesc-high-priv-service-role")) == {
        "cloudformation.amazonaws.com",
        "codebuild.amazonaws.com",
        "datapipeline.amazonaws.com",
        "ec2.amazonaws.com",
        "ecs-tasks.amazonaws.com",
        "eks.amazonaws.com",
        "elasticbeanstalk.amazonaws.com",
        "glue.amazonaws.com",
        "lambda.amazonaws.com",
        "sagemaker.amazonaws.com",
    }


def test_service_linked_roles_are_service_only(deputy: DeputyGraph) -> None:
    service_only = {entry["arn"].rsplit("/", 1)[-1] for entry in service_only_roles(deputy)}
    linked = {
        data["name"]
        for _, data in deputy.graph.nodes(data=True)
        if data["label"] == Label.ROLE and data.get("service_linked")
    }
    assert linked
    assert linked <= service_only
    assert "privesc-high-priv-service-role" in service_only


def test_sso_roles_are_federated(deputy: DeputyGraph) -> None:
    names = {entry["arn"].rsplit("/", 1)[-1] for entry in federated_roles(deputy)}
    assert names == {
        "AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc",
        "AWSReservedSSO_ViewOnlyAccess_0ace44bbc7092ea8",
    }


def test_assume_role_chain(deputy: DeputyGraph) -> None:
    assert assumers(deputy, role_arn("privesc-AssumeRole-ending-role")) == {"privesc-AssumeRole-intermediate-role"}
    assert assumers(deputy, role_arn("privesc-AssumeRole-intermediate-role")) == {"privesc-AssumeRole-starting-role"}


def test_trust_naming_sso_session(deputy: DeputyGraph) -> None:
    # The trust policy names one session of the SSO administrator role; only that session may assume it.
    entries = who_can_assume(deputy, role_arn("privesc-AssumeRole-starting-role"))
    assert [entry["name"] for entry in entries] == ["AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc"]
    assert entries[0]["note"].endswith("/deployer@example.com may assume it")


def test_sre_role_assumed_by_sre_user(deputy: DeputyGraph) -> None:
    assert assumers(deputy, role_arn("privesc-sre-role")) == {"privesc-sre-user"}


def test_root_trust_delegates_to_assume_permission(deputy: DeputyGraph) -> None:
    # A trust in the account root admits exactly the principals whose own policies allow sts:AssumeRole.
    names = assumers(deputy, role_arn("privesc-permissive-role-trust"))
    assert "privesc14-UpdatingAssumeRolePolicy-user" in names
    assert "privesc-sre-user" not in names
    assert "fp3-deny-iam-user" not in names


def test_outside_account_is_conditional(deputy: DeputyGraph) -> None:
    entries = who_can_assume(deputy, role_arn("OrganizationAccountAccessRole"))
    assert [(entry["arn"], entry["conditional"]) for entry in entries] == [("arn:aws:iam::072528804237:root", True)]


def test_analyze_reports_what_it_could_not_see(deputy: DeputyGraph) -> None:
    result = analyze(deputy)
    assert result["summary"]["invokers"] == 0
    assert any(note.startswith("no Bedrock agent data") for note in result["not_seen"])
