"""An agent invoker's path through a Lambda role that escalates, on the embedded graph and in Neo4j.

In tests/data/privesc-catalogue, `helpdesk-user` may only invoke the `support-agent` alias
`prod`. The agent's action group calls `support-tools`, whose role may pass
`high-priv-service-role` to a new Lambda function, and that role reads the payroll bucket.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.paths import blast_radius, paths_between
from ingest.snapshot import load_snapshot
from queries.embedded import TWINS
from queries.library import query
from queries.store import GraphStore

CATALOGUE = Path(__file__).resolve().parents[1] / "data" / "privesc-catalogue"
ACCOUNT = "123456789012"
HELPDESK = f"arn:aws:iam::{ACCOUNT}:user/helpdesk-user"
AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/SUPAGENT01"
PAYROLL = "arn:aws:s3:::acme-payroll-exports"
CHAIN = [
    HELPDESK,
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/SUPAGENT01/PRODALIAS1",
    f"{AGENT}#version/1",
    f"{AGENT}#version/1/action-group/SUPTOOLS01",
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:support-tools",
    f"arn:aws:iam::{ACCOUNT}:role/service-role/support-tools-role",
    f"arn:aws:iam::{ACCOUNT}:role/high-priv-service-role",
    PAYROLL,
]
CHAIN_TYPES = [
    "CAN_INVOKE_AGENT",
    "ROUTES_TO",
    "HAS_ACTION_GROUP",
    "CALLS_FUNCTION",
    "HAS_EXECUTION_ROLE",
    "CAN_PASS_ROLE_TO_LAMBDA",
    "CAN_READ",
]


@pytest.fixture(scope="module")
def deputy() -> DeputyGraph:
    return build_graph(load_snapshot(CATALOGUE))


@pytest.fixture(scope="module")
def loaded(neo4j_store: GraphStore, deputy: DeputyGraph) -> GraphStore:
    neo4j_store.load(deputy)
    return neo4j_store


def run(store: GraphStore, name: str, given: dict[str, str]) -> list[dict[str, Any]]:
    return store.run_read(query(name).text, query(name).bind(given))


def test_invoker_reaches_payroll_through_escalating_lambda_role(deputy: DeputyGraph) -> None:
    reach = next(r for r in blast_radius(deputy, HELPDESK) if r.target == PAYROLL and r.access == "read")
    assert reach.nodes == CHAIN
    assert [step.rel for step in reach.steps] == CHAIN_TYPES
    assert reach.confused_deputy is True
    assert reach.kind == "agent-action-group"
    assert all(step.properties.get("reason") for step in reach.steps)
    escalation = reach.steps[5].properties
    assert escalation["explanation"] == (
        "may pass the role to a new Lambda function and invoke it (iam:PassRole, lambda:CreateFunction, "
        "lambda:InvokeFunction)"
    )


def test_paths_command_prints_the_chain() -> None:
    command = [sys.executable, "-c", "from api.cli import main; main()", "paths", str(CATALOGUE)]
    result = subprocess.run(
        [*command, "--from", HELPDESK, "--to", PAYROLL, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (path,) = [p for p in json.loads(result.stdout)["paths"] if p["access"] == "read"]
    assert [node["arn"] for node in path["nodes"]] == CHAIN
    assert [edge["type"] for edge in path["edges"]] == CHAIN_TYPES
    assert path["confused_deputy"] is True


def test_escalated_roles_count_as_reached_through_the_agent(deputy: DeputyGraph) -> None:
    (walk,) = paths_between(deputy, HELPDESK, f"arn:aws:iam::{ACCOUNT}:role/high-priv-service-role")
    assert walk.access == "act-as"
    assert walk.confused_deputy is True


def test_cypher_blast_radius_follows_the_escalation(loaded: GraphStore) -> None:
    rows = run(loaded, "blast_radius_principal", {"principal": HELPDESK})
    payroll = [row for row in rows if row["target"] == PAYROLL and row["access"] == "read"]
    assert [(row["nodes"], row["relationship_types"], row["confused_deputy"]) for row in payroll] == [
        (CHAIN, CHAIN_TYPES, True)
    ]


def test_cypher_confused_deputy_paths_include_the_escalation(loaded: GraphStore) -> None:
    rows = run(loaded, "confused_deputy_paths", {"invoker": HELPDESK, "resource": PAYROLL})
    assert [row["relationship_types"] for row in rows if row["access"] == "read"] == [CHAIN_TYPES]


def test_cypher_agent_blast_radius_follows_the_escalation(loaded: GraphStore) -> None:
    rows = run(loaded, "blast_radius_agent", {"agent": AGENT})
    payroll = [row for row in rows if row["target"] == PAYROLL and row["access"] == "read"]
    assert [row["relationship_types"] for row in payroll] == [CHAIN_TYPES[1:]]


def test_cypher_shortest_path_follows_the_escalation(loaded: GraphStore) -> None:
    (row,) = run(loaded, "shortest_path", {"from": HELPDESK, "to": PAYROLL})
    # Reading and writing the bucket tie as the last step; the steps before are the chain.
    assert row["relationship_types"][:-1] == CHAIN_TYPES[:-1]
    assert row["relationship_types"][-1] in ("CAN_READ", "CAN_WRITE")


def _normalized(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    columns = ("target", "access", "weak", "conditional", "confused_deputy")
    return {
        (*(row[c] for c in columns), row["hops"] if "hops" in row else len(row["relationship_types"])) for row in rows
    }


def test_cypher_and_embedded_agree_for_every_catalogue_principal(loaded: GraphStore, deputy: DeputyGraph) -> None:
    principals = sorted(node for node, data in deputy.graph.nodes(data=True) if data["label"] in ("User", "Role"))
    assert len(principals) > 50
    for principal in principals:
        given = {"principal": principal, "sensitive_only": "false"}
        params = query("blast_radius_principal").bind(given)
        cypher = _normalized(loaded.run_read(query("blast_radius_principal").text, params))
        embedded = _normalized(TWINS["blast_radius_principal"](deputy, params))
        assert cypher == embedded, principal


def test_cypher_and_embedded_agree_on_the_real_export(neo4j_store: GraphStore) -> None:
    """Every fourth user and role of the real export, whose graph has escalation nodes of every kind."""
    real = build_graph(load_snapshot(CATALOGUE.parent / "cloudsplaining-account"))
    neo4j_store.load(real)
    principals = sorted(node for node, data in real.graph.nodes(data=True) if data["label"] in ("User", "Role"))
    for principal in principals[::4]:
        params = query("blast_radius_principal").bind({"principal": principal, "sensitive_only": "false"})
        cypher = _normalized(neo4j_store.run_read(query("blast_radius_principal").text, params))
        assert cypher == _normalized(TWINS["blast_radius_principal"](real, params)), principal
