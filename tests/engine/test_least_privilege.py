"""Least-privilege proposals, measured by rebuilding the graph with the proposed policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from engine.graph import DeputyGraph, build_graph, rebuild_principal
from engine.least_privilege import PROPOSED_POLICY_NAME, Proposal, propose, with_role_policy
from engine.paths import invocable_aliases, invokers, reach_from
from ingest.snapshot import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
AGENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"
LOOKUP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/hr-policy-lookup-role"
VPC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/infra-vpc-provisioner-role"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
HELPDESK_ALIASES = (
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/HDP2X7K9QA",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/TSTALIASID",
)


def proposals_for(root: Path) -> dict[str, Proposal]:
    return {proposal.role_arn: proposal for proposal in propose(build_graph(load_snapshot(root)))}


@pytest.fixture(scope="module")
def example() -> dict[str, Proposal]:
    return proposals_for(EXAMPLE)


def test_roles_covered(example: dict[str, Proposal]) -> None:
    assert sorted(example) == [LOOKUP_ROLE, VPC_ROLE, AGENT_ROLE]


def test_agent_role_policy(example: dict[str, Proposal]) -> None:
    statements = example[AGENT_ROLE].policy["Statement"]
    assert [s["Sid"] for s in statements] == ["InvokeAgentModels", "QueryKnowledgeBases"]
    assert statements[0]["Resource"] == [
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0",
    ]
    assert statements[1]["Resource"] == [f"arn:aws:bedrock:us-east-1:{ACCOUNT}:knowledge-base/HRKB4Q8Z2X"]
    assert all("s3:GetObject" not in s["Action"] for s in statements)


def test_agent_role_removes_helpdesk_reach(example: dict[str, Proposal]) -> None:
    proposal = example[AGENT_ROLE]
    assert proposal.removed_role_reach == ((HR_BUCKET, "read"),)
    assert (proposal.before.role_reach, proposal.after.role_reach) == (1, 0)
    removed = proposal.removed_paths
    # Four invokers (alice, bob and the two administrator roles) reach the HR bucket through
    # each helpdesk alias only because of the role's s3:GetObject on *.
    assert len(removed) == 8
    assert {(alias, target) for _, alias, target, _ in removed} == {(alias, HR_BUCKET) for alias in HELPDESK_ALIASES}
    assert proposal.before.invoker_paths - proposal.after.invoker_paths == 8
    # The HR agent's knowledge base still gives the bucket, so no target disappears.
    assert proposal.removed_targets == ()
    assert proposal.before.targets == proposal.after.targets == 8


def test_lambda_role_keeps_scoped_statements(example: dict[str, Proposal]) -> None:
    proposal = example[LOOKUP_ROLE]
    sids = [s["Sid"] for s in proposal.policy["Statement"]]
    assert sids == ["CreateOwnLogGroup", "WriteOwnLogs", "Kept0", "Kept1"]
    assert proposal.removed_paths == ()
    assert proposal.removed_role_reach == ()
    assert proposal.before.role_reach == proposal.after.role_reach == 1


def edit_role(root: Path, name: str, statement: dict[str, Any]) -> None:
    path = root / ACCOUNT / "iam" / "authorization-details.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    role = next(role for role in document["RoleDetailList"] if role["RoleName"] == name)
    role["RolePolicyList"][0]["PolicyDocument"]["Statement"] = [statement]
    path.write_text(json.dumps(document), encoding="utf-8")


def test_lambda_wildcard_dropped_and_measured(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    edit_role(root, "infra-vpc-provisioner-role", {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
    proposal = proposals_for(root)[VPC_ROLE]
    assert [s["Sid"] for s in proposal.policy["Statement"]] == ["CreateOwnLogGroup", "WriteOwnLogs"]
    assert any("dropped, because it allows wildcard actions" in note for note in proposal.notes)
    assert (proposal.before.role_reach, proposal.after.role_reach) == (19, 0)
    removed_targets = {target for target, _ in proposal.removed_targets}
    assert f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc" in removed_targets
    assert len(removed_targets) == 19


def test_lambda_s3_star_narrowed_to_kb_bucket(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    edit_role(root, "hr-policy-lookup-role", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    proposal = proposals_for(root)[LOOKUP_ROLE]
    narrowed = proposal.policy["Statement"][2]
    assert narrowed["Action"] == ["s3:GetObject"]
    assert narrowed["Resource"] == [HR_BUCKET, f"{HR_BUCKET}/*"]
    assert proposal.after.role_reach == 1
    assert proposal.removed_role_reach == ()


def test_with_role_policy_copies_snapshot() -> None:
    snapshot = load_snapshot(EXAMPLE)
    role = snapshot.accounts[ACCOUNT].roles[AGENT_ROLE]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    changed = with_role_policy(snapshot, role, policy)
    new_role = changed.accounts[ACCOUNT].roles[AGENT_ROLE]
    assert [p.name for p in new_role.inline_policies] == [PROPOSED_POLICY_NAME]
    assert new_role.attached_policy_arns == ()
    assert snapshot.accounts[ACCOUNT].roles[AGENT_ROLE].attached_policy_arns == role.attached_policy_arns
    assert snapshot.accounts[ACCOUNT].roles[AGENT_ROLE] is role


def edge_set(deputy: DeputyGraph) -> set[tuple[str, str, str, str]]:
    return {
        (source, target, rel, json.dumps(data, sort_keys=True, default=str))
        for source, target, rel, data in deputy.graph.edges(keys=True, data=True)
    }


@pytest.mark.parametrize("role_arn", [AGENT_ROLE, LOOKUP_ROLE, VPC_ROLE])
def test_rebuild_equals_full_build(role_arn: str) -> None:
    deputy = build_graph(load_snapshot(EXAMPLE))
    proposal = next(p for p in propose(deputy) if p.role_arn == role_arn)
    role = deputy.snapshot.accounts[ACCOUNT].roles[role_arn]
    changed = with_role_policy(deputy.snapshot, role, proposal.policy)
    incremental = rebuild_principal(deputy, changed, role_arn)
    full = build_graph(changed)
    assert edge_set(incremental) == edge_set(full)
    assert dict(incremental.graph.nodes(data=True)) == dict(full.graph.nodes(data=True))


def test_rebuild_admin_loses_pass_role() -> None:
    admin = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
    deputy = build_graph(load_snapshot(EXAMPLE))
    assert any(rel == "CAN_PASS_ROLE" for _, _, rel in deputy.graph.out_edges(admin, keys=True))
    role = deputy.snapshot.accounts[ACCOUNT].roles[admin]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "bedrock:UpdateAgent", "Resource": "*"}],
    }
    changed = with_role_policy(deputy.snapshot, role, policy)
    incremental = rebuild_principal(deputy, changed, admin)
    assert edge_set(incremental) == edge_set(build_graph(changed))
    assert {rel for _, _, rel in incremental.graph.out_edges(admin, keys=True)} == {"CAN_CONFIGURE_AGENT"}


def all_invoker_paths(deputy: DeputyGraph) -> set[tuple[str, str, str, str]]:
    """Every (invoker, alias, sensitive target, access), computed without shortcuts."""
    paths = set()
    for invoker in invokers(deputy):
        for alias in invocable_aliases(deputy, invoker):
            for reach in reach_from(deputy, alias.target):
                if deputy.graph.nodes[reach.target].get("sensitive"):
                    paths.add((invoker, alias.target, reach.target, reach.access))
    return paths


def test_removed_paths_match_brute_force(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    edit_role(root, "infra-vpc-provisioner-role", {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
    deputy = build_graph(load_snapshot(root))
    before = all_invoker_paths(deputy)
    for proposal in propose(deputy):
        role = deputy.snapshot.accounts[ACCOUNT].roles[proposal.role_arn]
        after = all_invoker_paths(build_graph(with_role_policy(deputy.snapshot, role, proposal.policy)))
        assert set(proposal.removed_paths) == before - after
        assert proposal.before.invoker_paths == len(before)
        assert proposal.after.invoker_paths == len(after)
        assert proposal.after.targets == len({(target, access) for _, _, target, access in after})


def write_last_accessed(root: Path, role_name: str, services: list[dict[str, Any]], status: str = "COMPLETED") -> None:
    path = root / ACCOUNT / "iam" / "service-last-accessed" / "roles" / f"{role_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "JobStatus": status,
        "JobType": "SERVICE_LEVEL",
        "JobCreationDate": "2024-11-05T14:00:00Z",
        "JobCompletionDate": "2024-11-05T14:01:00Z",
        "ServicesLastAccessed": services,
        "IsTruncated": False,
    }
    path.write_text(json.dumps(document), encoding="utf-8")


def test_last_accessed_drops_unused_service(tmp_path: Path) -> None:
    # IAM API reference, GetServiceLastAccessedDetails: a service the role never used is
    # listed without LastAuthenticated.
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    services = [
        {"ServiceName": "Amazon EC2", "ServiceNamespace": "ec2", "TotalAuthenticatedEntities": 0},
        {
            "ServiceName": "Amazon CloudWatch Logs",
            "ServiceNamespace": "logs",
            "LastAuthenticated": "2024-11-04T09:00:00Z",
            "TotalAuthenticatedEntities": 1,
        },
    ]
    write_last_accessed(root, "infra-vpc-provisioner-role", services)
    proposal = proposals_for(root)[VPC_ROLE]
    assert [s["Sid"] for s in proposal.policy["Statement"]] == ["CreateOwnLogGroup", "WriteOwnLogs"]
    assert any("job completed 2024-11-05T14:01:00Z) shows no use of ec2" in note for note in proposal.notes)
    assert (proposal.before.role_reach, proposal.after.role_reach) == (7, 0)


def test_last_accessed_used_service_kept(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    used = {
        "ServiceName": "Amazon EC2",
        "ServiceNamespace": "ec2",
        "LastAuthenticated": "2024-11-01T10:00:00Z",
        "TotalAuthenticatedEntities": 1,
    }
    write_last_accessed(root, "infra-vpc-provisioner-role", [used])
    proposal = proposals_for(root)[VPC_ROLE]
    assert "ProvisionNetworking" in [s["Sid"] for s in proposal.policy["Statement"]]


def test_last_accessed_job_in_progress_rejected(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    write_last_accessed(root, "infra-vpc-provisioner-role", [], status="IN_PROGRESS")
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)
    assert str(caught.value) == (
        f"{ACCOUNT}/iam/service-last-accessed/roles/infra-vpc-provisioner-role.json: field 'JobStatus': "
        "the job is IN_PROGRESS; "
        "wait until get-service-last-accessed-details reports COMPLETED"
    )
