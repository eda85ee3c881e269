"""The Cypher library on a real Neo4j server gives the same answers as the embedded graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.graph import DeputyGraph, build_graph
from ingest.snapshot import load_snapshot
from queries.embedded import TWINS
from queries.library import queries, query
from queries.store import GraphStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
HR_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"

# Columns compared per query: the ones both stores define without ties (a tie between
# equally short paths may pick different nodes, never a different length).
COMPARED = {
    "blast_radius_principal": ("target", "access", "weak", "conditional", "hops", "confused_deputy"),
    "blast_radius_agent": ("alias", "target", "access", "weak", "conditional", "hops"),
    "confused_deputy_paths": ("invoker", "target", "access", "weak", "conditional", "hops"),
    "who_can_invoke_agent": ("principal", "alias", "hops"),
    "who_can_reconfigure_agent": ("principal", "hops", "actions", "passable_roles"),
    "who_can_modify_guardrail": ("guardrail", "principal", "hops", "actions"),
    "lambda_role_reach": ("function", "role", "target", "access", "hops"),
}


@pytest.fixture(scope="module")
def example(neo4j_store: GraphStore) -> DeputyGraph:
    deputy = build_graph(load_snapshot(EXAMPLE))
    neo4j_store.load(deputy)
    return deputy


def rows_of(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    normalized = set()
    for raw in rows:
        row = dict(raw)
        if "relationship_types" in row and "hops" not in row:
            row["hops"] = len(row["relationship_types"])
        normalized.add(tuple(tuple(row[c]) if isinstance(row[c], list) else row[c] for c in columns))
    return normalized


def compare(store: GraphStore, deputy: DeputyGraph, name: str, given: dict[str, str]) -> set[tuple[Any, ...]]:
    params = query(name).bind(given)
    cypher = rows_of(store.run_read(query(name).text, params), COMPARED[name])
    embedded = rows_of(TWINS[name](deputy, params), COMPARED[name])
    assert cypher == embedded
    return cypher


def test_every_query_has_a_twin() -> None:
    assert set(queries()) - {"shortest_path"} == set(TWINS)


def test_blast_radius_of_every_principal(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    for node, data in example.graph.nodes(data=True):
        if data["label"] in ("User", "Role"):
            compare(neo4j_store, example, "blast_radius_principal", {"principal": node, "sensitive_only": "false"})


def test_alice_blast_radius_has_confused_deputies(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "blast_radius_principal", {"principal": ALICE})
    assert ("arn:aws:s3:::acme-hr-policies", "read", False, False, 5, True) in rows


def test_agent_blast_radius(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "blast_radius_agent", {"agent": HR_AGENT})
    assert rows


def test_confused_deputy_paths(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "confused_deputy_paths", {})
    assert {row[0] for row in rows} == {
        ALICE,
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        f"arn:aws:iam::{ACCOUNT}:user/hr-analyst",
    }
    filtered = compare(
        neo4j_store, example, "confused_deputy_paths", {"invoker": ALICE, "resource": "arn:aws:s3:::acme-hr-policies"}
    )
    assert {row[1] for row in filtered} == {"arn:aws:s3:::acme-hr-policies"}


def test_who_can_invoke_agent(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "who_can_invoke_agent", {"agent": HR_AGENT})
    assert ALICE in {row[0] for row in rows}


def test_who_can_reconfigure_agent(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "who_can_reconfigure_agent", {"agent": HR_AGENT})
    assert ALICE not in {row[0] for row in rows}


def test_who_can_modify_guardrail(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    compare(neo4j_store, example, "who_can_modify_guardrail", {})


def test_lambda_role_reach(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    rows = compare(neo4j_store, example, "lambda_role_reach", {"sensitive_only": "false"})
    assert any(row[2].endswith(":ec2:CreateVpc") for row in rows)


def test_shortest_path_to_vpc_api(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    params = query("shortest_path").bind({"from": ALICE, "to": f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc"})
    rows = neo4j_store.run_read(query("shortest_path").text, params)
    assert [row["relationship_types"] for row in rows] == [
        ["CAN_INVOKE_AGENT", "ROUTES_TO", "HAS_ACTION_GROUP", "CALLS_FUNCTION", "HAS_EXECUTION_ROLE", "CAN_CALL"]
    ]


@pytest.fixture(scope="module")
def generated(neo4j_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> DeputyGraph:
    """A generated 200-role account (scripts/make_synthetic_snapshot.py, seed 7)."""
    out = tmp_path_factory.mktemp("generated") / "snapshot"
    script = ROOT / "scripts" / "make_synthetic_snapshot.py"
    subprocess.run([sys.executable, str(script), str(out), "--roles", "200", "--seed", "7"], check=True, timeout=300)
    deputy = build_graph(load_snapshot(out))
    neo4j_store.load(deputy)
    return deputy


def test_generated_graph_blast_radius(neo4j_store: GraphStore, generated: DeputyGraph) -> None:
    principals = sorted(node for node, data in generated.graph.nodes(data=True) if data["label"] in ("User", "Role"))
    assert len(principals) >= 200
    compared = 0
    for principal in principals[::4]:
        compare(neo4j_store, generated, "blast_radius_principal", {"principal": principal, "sensitive_only": "false"})
        compared += 1
    assert compared >= 50


def test_generated_graph_confused_deputies(neo4j_store: GraphStore, generated: DeputyGraph) -> None:
    rows = compare(neo4j_store, generated, "confused_deputy_paths", {})
    assert rows


def test_generated_graph_other_queries(neo4j_store: GraphStore, generated: DeputyGraph) -> None:
    agents = sorted(node for node, data in generated.graph.nodes(data=True) if data["label"] == "BedrockAgent")
    for agent in agents[:5]:
        compare(neo4j_store, generated, "who_can_invoke_agent", {"agent": agent})
        compare(neo4j_store, generated, "who_can_reconfigure_agent", {"agent": agent})
        compare(neo4j_store, generated, "blast_radius_agent", {"agent": agent})
    compare(neo4j_store, generated, "who_can_modify_guardrail", {})
    compare(neo4j_store, generated, "lambda_role_reach", {})


def test_confused_deputies_through_each_agent(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    # The helpdesk agent's execution role reads acme-hr-policies (a weak path). The HR agent
    # gives alice a shorter path there, but filtering by the helpdesk agent still finds it.
    helpdesk = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/M3ITHD8P5W"
    neo4j_store.load(example)  # the generated account's build may be current by now
    rows = compare(neo4j_store, example, "confused_deputy_paths", {"agent": helpdesk})
    assert (ALICE, "arn:aws:s3:::acme-hr-policies", "read", True, False) in {row[:5] for row in rows}
    for agent in (helpdesk, HR_AGENT):
        for row in compare(neo4j_store, example, "confused_deputy_paths", {"agent": agent, "invoker": ALICE}):
            assert row[0] == ALICE


def test_real_account_export_twins(neo4j_store: GraphStore) -> None:
    """The real IAM export with iam-vulnerable: dense escalation edges, potential ones among them.

    Its principals reach admin-level APIs over escalation edges, some only over potential
    ones, and no agent exists, so no invoker has a confused-deputy path.
    """
    deputy = build_graph(load_snapshot(ROOT / "tests" / "data" / "cloudsplaining-account"))
    neo4j_store.load(deputy)
    assert compare(neo4j_store, deputy, "confused_deputy_paths", {}) == set()
    principals = sorted(
        node
        for node, data in deputy.graph.nodes(data=True)
        if data["label"] in ("User", "Role") and data["name"].startswith(("privesc", "fn", "fp"))
    )
    reached = 0
    for principal in principals:
        rows = compare(
            neo4j_store, deputy, "blast_radius_principal", {"principal": principal, "sensitive_only": "true"}
        )
        reached += bool(rows)
    # Every privesc principal but the five without a technique of their own, and the fn ones.
    assert reached >= 60
