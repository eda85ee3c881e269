"""`GET /v1/findings` over real HTTP on both backends, and drift between two builds stored in Neo4j."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.http.app import create_app
from api.http.backends import DecisionEngine
from api.http.neo4j_backend import Neo4jBackend
from engine.findings import drift_findings, find_all, rows_from_graph
from engine.graph import DeputyGraph, build_graph
from ingest.snapshot import load_snapshot
from queries.findings_store import drift_between_builds, drift_rows, previous_build
from queries.store import GraphStore, Neo4jSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"

ACCOUNT = "111122223333"
HR_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"
PROD_ALIAS = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z"


def example_findings() -> list[dict[str, Any]]:
    return [finding.to_json() for finding in find_all(build_graph(load_snapshot(EXAMPLE)))]


def without_network_ops(tmp_path: Path) -> Path:
    root = tmp_path / "previous"
    shutil.copytree(EXAMPLE, root)
    for version in ("2", "DRAFT"):
        (
            root
            / ACCOUNT
            / f"us-east-1/bedrock-agent/agents/Q7HRX2KD4N/versions/{version}/action-groups/NOP8F4V6QZ.json"
        ).unlink()
    return root


def load_with_findings(store: GraphStore, deputy: DeputyGraph) -> str:
    findings = [finding.to_json() for finding in find_all(deputy)]
    return store.load(deputy, findings=findings).build_id


def neo4j_backend(store: GraphStore) -> Neo4jBackend:
    """A backend with its own driver, on the server of the `neo4j_store` fixture."""
    settings = Neo4jSettings.from_environment()
    password = settings.password or "deputygraph-test"
    settings = Neo4jSettings(uri=settings.uri, user=settings.user, password=password, database=store.database)
    return Neo4jBackend(GraphStore.connect(settings), DecisionEngine(load_snapshot(EXAMPLE)))


@pytest.fixture(scope="module")
def findings_build(neo4j_store: GraphStore) -> str:
    """Make the example, loaded with its findings, the current build; return its id."""
    return load_with_findings(neo4j_store, build_graph(load_snapshot(EXAMPLE)))


@pytest.fixture
def findings_neo4j_client(
    findings_build: str, neo4j_store: GraphStore, serve: Callable[..., Any], make_settings: Callable[..., Any]
) -> Iterator[httpx.Client]:
    del findings_build  # loaded for its side effect: the current build
    with serve(create_app(make_settings("neo4j"), neo4j_backend(neo4j_store))) as client:
        yield client


@pytest.fixture(params=["embedded", "neo4j"])
def findings_client(request: pytest.FixtureRequest) -> httpx.Client:
    name = "embedded_client" if request.param == "embedded" else "findings_neo4j_client"
    client: httpx.Client = request.getfixturevalue(name)
    return client


def all_items(client: httpx.Client, params: dict[str, Any] | None = None, *, limit: int = 5) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = client.get("/v1/findings", params={**(params or {}), "limit": limit, "offset": offset})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        offset = body["next_offset"]
    assert len(items) == body["total"]
    return items


def test_findings_match_engine(findings_client: httpx.Client) -> None:
    items = [item for item in all_items(findings_client) if item["rule_id"] != "DG011"]
    expected = example_findings()
    assert [item["id"] for item in items] == [finding["id"] for finding in expected]
    assert items[0]["evidence"] == expected[0]["evidence"]
    assert items[0]["path"] == expected[0]["path"]


def test_findings_pages_stable(findings_client: httpx.Client) -> None:
    small = [item["id"] for item in all_items(findings_client, limit=3)]
    large = [item["id"] for item in all_items(findings_client, limit=1000)]
    assert small == large


def test_findings_filter_severity(findings_client: httpx.Client) -> None:
    items = all_items(findings_client, {"severity": "critical,low"})
    assert {item["severity"] for item in items} == {"critical", "low"}
    assert [item["severity"] for item in items] == ["critical", "critical", "low"]
    repeated = all_items(findings_client, {"severity": ["critical", "low"]})
    assert [item["id"] for item in repeated] == [item["id"] for item in items]


def test_findings_filter_type(findings_client: httpx.Client) -> None:
    by_id = all_items(findings_client, {"type": "DG009"})
    by_name = all_items(findings_client, {"type": "cross-service-confused-deputy"})
    assert [item["id"] for item in by_id] == [item["id"] for item in by_name]
    assert len(by_id) == 2
    both = all_items(findings_client, {"type": "DG007,DG009", "severity": "high"})
    assert sorted({item["rule_id"] for item in both}) == ["DG007", "DG009"]


def test_findings_bad_filter_400(findings_client: httpx.Client) -> None:
    response = findings_client.get("/v1/findings", params={"severity": "urgent"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "query parameter severity contains an invalid value; use one or more of critical, high, low, medium"
    )
    response = findings_client.get("/v1/findings", params={"type": "DG099"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "query parameter type contains an invalid value; use one or more of DG001, DG002"
    )


def test_findings_need_key(findings_client: httpx.Client) -> None:
    response = httpx.get(f"{findings_client.base_url}/v1/findings", timeout=30)
    assert response.status_code == 401


def test_neo4j_drift_between_builds(
    neo4j_store: GraphStore, tmp_path: Path, serve: Callable[..., Any], make_settings: Callable[..., Any]
) -> None:
    before = build_graph(load_snapshot(without_network_ops(tmp_path)))
    after = build_graph(load_snapshot(EXAMPLE))
    first = load_with_findings(neo4j_store, before)
    second = load_with_findings(neo4j_store, after)
    assert previous_build(neo4j_store, second) == first

    stored = drift_between_builds(neo4j_store, first, second)
    embedded = drift_findings(rows_from_graph(before), rows_from_graph(after), previous_label=f"build {first}")
    assert [finding.to_json() for finding in stored] == [finding.to_json() for finding in embedded]
    assert [finding.key for finding in stored] == [HR_AGENT]

    with serve(create_app(make_settings("neo4j"), neo4j_backend(neo4j_store))) as client:
        drift = all_items(client, {"type": "agent-drift"})
    assert [item["resources"] for item in drift] == [[HR_AGENT, PROD_ALIAS]]
    assert drift[0]["severity"] == "high"
    assert drift[0]["evidence"][0]["detail"] == (
        f"added since build {first} to what alias hr-policy-assistant/prod serves (version 2): "
        f"action group network-ops -> arn:aws:lambda:us-east-1:{ACCOUNT}:function:infra-vpc-provisioner"
    )


def test_neo4j_drift_function_role_permission(neo4j_store: GraphStore, tmp_path: Path) -> None:
    root = tmp_path / "current"
    shutil.copytree(EXAMPLE, root)
    iam_file = root / ACCOUNT / "iam" / "authorization-details.json"
    document = json.loads(iam_file.read_text(encoding="utf-8"))
    role = next(role for role in document["RoleDetailList"] if role["RoleName"] == "infra-vpc-provisioner-role")
    role["RolePolicyList"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-hr-policies/*"}
    )
    iam_file.write_text(json.dumps(document), encoding="utf-8")
    before = build_graph(load_snapshot(EXAMPLE))
    after = build_graph(load_snapshot(root))
    first = load_with_findings(neo4j_store, before)
    second = load_with_findings(neo4j_store, after)

    stored = drift_between_builds(neo4j_store, first, second)
    embedded = drift_findings(rows_from_graph(before), rows_from_graph(after), previous_label=f"build {first}")
    assert [finding.to_json() for finding in stored] == [finding.to_json() for finding in embedded]
    assert [finding.details["changed"] for finding in stored] == [["function_permissions", "functions"]]


def test_neo4j_same_build_no_drift(neo4j_store: GraphStore) -> None:
    deputy = build_graph(load_snapshot(EXAMPLE))
    first = load_with_findings(neo4j_store, deputy)
    second = load_with_findings(neo4j_store, deputy)
    assert drift_rows(neo4j_store, first)["agents"]
    assert drift_between_builds(neo4j_store, first, second) == []


def test_pruned_build_loses_findings(neo4j_store: GraphStore) -> None:
    deputy = build_graph(load_snapshot(EXAMPLE))
    findings = [finding.to_json() for finding in find_all(deputy)]
    old = neo4j_store.load(deputy, findings=findings).build_id
    assert len(neo4j_store.findings(old)) == len(findings)
    # Old builds are pruned before the new one becomes current, and the current one is never
    # pruned, so the first build goes with the load after the next one.
    neo4j_store.load(deputy, findings=findings, keep=1)
    assert len(neo4j_store.findings(old)) == len(findings)
    neo4j_store.load(deputy, findings=findings, keep=1)
    assert neo4j_store.findings(old) == []
    count = neo4j_store.run_read("MATCH (f:DeputyFinding {build: $build}) RETURN count(f) AS n", {"build": old})
    assert count == [{"n": 0}]
