"""End to end: collect the bundled example's environment from moto's server, then analyse it.

The environment is examples/shared-hr-agent rebuilt in moto, with the calls moto lacks
served by botocore's Stubber (see example_environment.py). The collected snapshot must
give the same analysis as the hand-made one. The same run records every AWS call, which
docs/collector-policy.json must allow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.cli import run
from engine.actions import action_info
from engine.authorizer import Authorizer
from engine.evaluator import Decision
from engine.inventory import AccountInventory, InlinePolicy, Role, Snapshot
from ingest.collect.calls import CALLS, RecordedCall, collector_actions, iam_action
from ingest.collect.runner import Collector, CollectSettings
from tests.collect.collect_support import (
    ACCOUNT,
    READER_ROLE,
    REGION,
    Fault,
    FaultProxy,
    StubbingFactory,
    StubSetup,
    account_session,
    reset_moto,
)
from tests.collect.example_environment import EXAMPLE, build_in_moto, stub_bedrock_agent, stub_guardrails, stub_iam

POLICY = Path(__file__).resolve().parents[2] / "docs" / "collector-policy.json"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
STUBS: dict[str, StubSetup] = {"iam": stub_iam, "bedrock-agent": stub_bedrock_agent, "bedrock": stub_guardrails}


@dataclass(frozen=True)
class CollectedRun:
    out: Path
    manifest: dict[str, Any]
    calls: list[RecordedCall]


def collect_example(moto_url: str, out: Path, *faults: Fault) -> CollectedRun:
    """Rebuild the example in a fresh moto, collect it through the proxy with `faults`, and return the run."""
    reset_moto(moto_url)
    proxy = FaultProxy(moto_url)
    proxy.start()
    try:
        build_in_moto(account_session(ACCOUNT, moto_url), moto_url)
        for fault in faults:
            proxy.add(fault)
        calls: list[RecordedCall] = []
        factory = StubbingFactory(
            account_session(ACCOUNT, moto_url), endpoint_url=proxy.url, recorder=calls.append, stubs=STUBS
        )
        result = Collector(CollectSettings(out=out, regions=(REGION,), poll_seconds=0.0), factory).run()
        factory.assert_stubs_used()
    finally:
        proxy.stop()
    return CollectedRun(out, result.manifest, calls)


@pytest.fixture(scope="module")
def example_run(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectedRun]:
    yield collect_example(moto_url, tmp_path_factory.mktemp("example") / "snapshot")


def analyze_json(snapshot: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert run(["analyze", str(snapshot), "--format", "json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def finding_keys(result: dict[str, Any]) -> set[tuple[str, str, str, str, bool]]:
    return {
        (path["from"], path["to"], path["access"], path["kind"], path["conditional"])
        for path in result["confused_deputy_paths"]
    }


def files_under(root: Path, *parts: str) -> set[str]:
    base = root.joinpath(*parts)
    return {path.relative_to(root).as_posix() for path in base.rglob("*.json")}


def test_collected_example_finds_same_paths(example_run: CollectedRun, capsys: pytest.CaptureFixture[str]) -> None:
    collected = analyze_json(example_run.out, capsys)
    hand_made = analyze_json(EXAMPLE, capsys)
    assert finding_keys(collected) == finding_keys(hand_made)
    assert len(finding_keys(collected)) == 23
    assert collected["summary"] == hand_made["summary"]
    assert collected["not_seen"] == []
    assert collected["collection_gaps"] == []


def test_collected_example_blast_radius_matches(example_run: CollectedRun, capsys: pytest.CaptureFixture[str]) -> None:
    def radius(result: dict[str, Any]) -> set[tuple[str, str, str, bool, bool]]:
        return {
            (entry["principal"], path["to"], path["access"], path["confused_deputy"], path["weak"])
            for entry in result["invokers"]
            for path in entry["blast_radius"]
        }

    assert radius(analyze_json(example_run.out, capsys)) == radius(analyze_json(EXAMPLE, capsys))


def test_collected_example_has_example_files(example_run: CollectedRun) -> None:
    account = f"{ACCOUNT}/{REGION}"
    collected_iam = files_under(example_run.out, ACCOUNT, "iam")
    usage = {name for name in collected_iam if "/service-last-accessed/" in name}
    assert len(usage) == 9
    assert collected_iam - usage == files_under(EXAMPLE, ACCOUNT, "iam")
    for parts in (
        (ACCOUNT, "s3"),
        (ACCOUNT, REGION, "lambda"),
        (ACCOUNT, REGION, "bedrock-agent"),
        (ACCOUNT, REGION, "bedrock"),
    ):
        assert files_under(example_run.out, *parts) == files_under(EXAMPLE, *parts), parts
    assert (example_run.out / account / "cloudtrail" / "org-management-trail" / "event-selectors.json").is_file()
    assert (example_run.out / account / "cloudtrail" / "org-management-trail" / "status.json").is_file()


def test_collected_bedrock_files_equal_stubbed(example_run: CollectedRun) -> None:
    agent = Path(ACCOUNT, REGION, "bedrock-agent", "agents", "Q7HRX2KD4N")
    for relative in ("agent.json", "aliases.json", "versions/2/agent-version.json"):
        collected = json.loads((example_run.out / agent / relative).read_text())
        expected = json.loads((EXAMPLE / agent / relative).read_text())
        assert collected == expected, relative


def test_manifest_records_collection(example_run: CollectedRun) -> None:
    manifest = example_run.manifest
    assert manifest["status"] == "complete"
    assert manifest["partition"] == "aws"
    assert manifest["requested_regions"] == [REGION]
    assert manifest["accounts"] == [
        {"account_id": ACCOUNT, "access": "caller", "role_arn": None, "regions": [REGION], "status": "collected"}
    ]
    assert manifest["gaps"] == []
    assert manifest["unavailable"] == []
    assert manifest["counts"]["iam"] == {
        "groups": 1,
        "last-accessed reports": 9,
        "managed policies": 4,
        "roles": 6,
        "users": 3,
    }
    assert manifest["counts"]["bedrock-agent"] == {
        "action groups": 7,
        "agent versions": 5,
        "agents": 2,
        "aliases": 5,
        "data sources": 1,
        "knowledge bases": 1,
    }
    assert manifest["counts"]["lambda"] == {"functions": 2, "resource-based policies": 2}
    written = json.loads((example_run.out / "manifest.json").read_text())
    assert written == manifest


def test_last_accessed_reports_merged(example_run: CollectedRun) -> None:
    folder = example_run.out / ACCOUNT / "iam" / "service-last-accessed"
    assert sorted(path.name for path in (folder / "users").iterdir()) == ["alice.json", "bob.json", "hr-analyst.json"]
    assert len(list((folder / "roles").iterdir())) == 6
    polled = json.loads((folder / "users" / "alice.json").read_text())
    assert polled["JobStatus"] == "COMPLETED"
    paged = json.loads((folder / "users" / "bob.json").read_text())
    assert [service["ServiceNamespace"] for service in paged["ServicesLastAccessed"]] == ["lambda", "s3"]
    assert "Marker" not in paged
    assert "IsTruncated" not in paged


def reader_authorizer() -> tuple[Authorizer, str]:
    """An authorizer for one role whose only policy is docs/collector-policy.json."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{READER_ROLE}"
    trust = {"Version": "2012-10-17", "Statement": []}
    role = Role(
        arn=role_arn,
        name=READER_ROLE,
        role_id="AROAEXAMPLEREADER0001",
        account=ACCOUNT,
        trust_policy=trust,
        inline_policies=(InlinePolicy("collector", json.loads(POLICY.read_text())),),
    )
    snapshot = Snapshot(path="collector-policy", accounts={ACCOUNT: AccountInventory(ACCOUNT, roles={role_arn: role})})
    return Authorizer(snapshot, graph_mode=False), role_arn


def test_collector_calls_allowed_by_policy(example_run: CollectedRun) -> None:
    authorizer, role_arn = reader_authorizer()
    principal = authorizer.request_principal(role_arn)
    recorded = {(call.service, call.operation) for call in example_run.calls}
    assert ("bedrock-agent", "GetAgentActionGroup") in recorded
    assert ("iam", "GetAccountAuthorizationDetails") in recorded
    for service, operation in sorted(recorded):
        assert operation in CALLS.get(service, ()), (service, operation)
        action = iam_action(service, operation)
        if action is None:
            continue
        decision = authorizer.decide(principal, action, "*", resource_account=ACCOUNT).decision
        assert decision is Decision.ALLOW, action


def test_policy_allows_every_registered_call() -> None:
    authorizer, role_arn = reader_authorizer()
    principal = authorizer.request_principal(role_arn)
    member_role = "arn:aws:iam::444455556666:role/deputygraph-reader"
    for action in sorted(collector_actions()):
        resource = member_role if action == "sts:AssumeRole" else "*"
        decision = authorizer.decide(principal, action, resource, resource_account=ACCOUNT).decision
        assert decision is Decision.ALLOW, action


def test_policy_grants_nothing_else() -> None:
    policy = json.loads(POLICY.read_text())
    granted: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        granted.update([actions] if isinstance(actions, str) else actions)
    assert granted == collector_actions()
    for action in granted - {"sts:AssumeRole"}:
        info = action_info(action)
        assert info is not None, action
        assert info.access_level in ("List", "Read"), action


def test_denied_bucket_policy_marks_paths(moto_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    denied = Fault("s3", path=r"^/acme-hr-policies/?\?policy", code="AccessDenied", message="denied by test")
    collected = collect_example(moto_url, tmp_path / "snapshot", denied)
    assert [gap["subject"] for gap in collected.manifest["gaps"]] == ["the bucket policy of bucket acme-hr-policies"]
    assert collected.manifest["gaps"][0]["resource"] == HR_BUCKET
    assert not (collected.out / ACCOUNT / "s3" / "acme-hr-policies" / "policy.json").exists()

    result = analyze_json(collected.out, capsys)
    assert result["collection_gaps"] == [
        "not analysed: the bucket policy of bucket acme-hr-policies in account 111122223333: "
        "GetBucketPolicy failed with AccessDenied"
    ]
    for path in result["confused_deputy_paths"]:
        assert path["depends_on_gaps"] == ([0] if path["to"] == HR_BUCKET else []), path["to"]
