"""Builds in a real Neo4j server: atomic swaps, failed builds, repeatable loads."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.graph import DeputyGraph, build_graph
from engine.model import Rel
from ingest.snapshot import load_snapshot
from neo4j import GraphDatabase
from queries.library import query
from queries.store import BuildRunningError, GraphStore, Neo4jSettings, StoreError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "shared-hr-agent"
REAL_ACCOUNT = ROOT / "tests" / "data" / "cloudsplaining-account"


def _settings() -> Neo4jSettings:
    settings = Neo4jSettings.from_environment()
    if settings.password:
        return settings
    return Neo4jSettings(settings.uri, settings.user, "deputygraph-test", settings.database)


COUNT_CURRENT = """
MATCH (:DeputyCurrent)-[:CURRENT]->(b:DeputyBuild)
MATCH (n:DeputyNode {build: b.id})
RETURN count(n) AS nodes
"""

DUMP_CURRENT = """
MATCH (:DeputyCurrent)-[:CURRENT]->(b:DeputyBuild)
MATCH (n:DeputyNode {build: b.id})
OPTIONAL MATCH (n)-[r]->(m:DeputyNode {build: b.id})
RETURN n.arn AS node, labels(n) AS labels, properties(n) AS node_properties,
       type(r) AS rel, m.arn AS target, properties(r) AS rel_properties
"""


def count_current(store: GraphStore) -> int:
    return int(store.run_read(COUNT_CURRENT, {})[0]["nodes"])


def dump(store: GraphStore) -> set[str]:
    rows = store.run_read(DUMP_CURRENT, {})
    result = set()
    for row in rows:
        properties = {k: v for k, v in row["node_properties"].items() if k != "build"}
        result.add(
            repr(
                (
                    row["node"],
                    sorted(row["labels"]),
                    sorted(properties.items()),
                    row["rel"],
                    row["target"],
                    sorted((row["rel_properties"] or {}).items()),
                )
            )
        )
    return result


@pytest.fixture(scope="module")
def example() -> DeputyGraph:
    return build_graph(load_snapshot(EXAMPLE))


def test_load_twice_gives_same_graph(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    first = neo4j_store.load(example)
    first_dump = dump(neo4j_store)
    second = neo4j_store.load(build_graph(load_snapshot(EXAMPLE)))
    assert (second.nodes, second.relationships) == (first.nodes, first.relationships)
    assert dump(neo4j_store) == first_dump
    assert second.build_id != first.build_id


def test_build_records_counts_and_source(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    record = neo4j_store.load(example)
    assert record.status == "succeeded"
    assert record.current is True
    assert record.nodes == example.graph.number_of_nodes()
    assert record.relationships == example.graph.number_of_edges()
    assert record.snapshot == example.snapshot.path


def test_failed_build_leaves_previous_serving(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    good = neo4j_store.load(example)
    before = {record.build_id for record in neo4j_store.builds()}
    broken = build_graph(load_snapshot(EXAMPLE))
    source, target = next(iter(broken.graph.edges()))
    # Neo4j rejects a list property that mixes strings and numbers, so this write fails on the server.
    broken.graph.add_edge(source, target, key=str(Rel.MEMBER_OF), rel=str(Rel.MEMBER_OF), mixed=["a", 1])
    with pytest.raises(StoreError, match="previous build keeps serving"):
        neo4j_store.load(broken)
    assert neo4j_store.current_build() == good.build_id
    (failed,) = [record for record in neo4j_store.builds() if record.build_id not in before]
    assert failed.status == "failed"
    assert failed.error
    leftover = neo4j_store.run_read("MATCH (n:DeputyNode {build: $b}) RETURN count(n) AS n", {"b": failed.build_id})
    assert leftover[0]["n"] == 0
    assert count_current(neo4j_store) == good.nodes


def test_readers_see_whole_builds_during_swaps(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    other = build_graph(load_snapshot(REAL_ACCOUNT))
    neo4j_store.load(example)
    expected = {example.graph.number_of_nodes(), other.graph.number_of_nodes()}
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set() and len(seen) < 2000:
            seen.append(count_current(neo4j_store))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for graph in (other, example, other):
            # Pruning removes builds beyond `keep`; with the default, three swaps inside one
            # read could prune the build that read started on. No build is pruned here.
            neo4j_store.load(graph, keep=10)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert set(seen) <= expected
    assert set(seen) == expected  # the reader ran across the swaps and saw both builds


def test_old_builds_are_pruned(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    for _ in range(3):
        neo4j_store.load(example, keep=2)
    succeeded = [b for b in neo4j_store.builds() if b.status == "succeeded"]
    assert len(succeeded) == 2
    removed = [b for b in neo4j_store.builds() if b.status == "removed"]
    for record in removed:
        rows = neo4j_store.run_read("MATCH (n:DeputyNode {build: $b}) RETURN count(n) AS n", {"b": record.build_id})
        assert rows[0]["n"] == 0


def test_parameters_never_become_query_text(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    neo4j_store.load(example)
    hostile = "arn:aws:iam::111122223333:user/x'}) MATCH (n) DETACH DELETE n //"
    params: dict[str, Any] = query("blast_radius_principal").bind({"principal": hostile})
    assert neo4j_store.run_read(query("blast_radius_principal").text, params) == []
    assert count_current(neo4j_store) == example.graph.number_of_nodes()


def test_second_running_build_is_rejected(neo4j_store: GraphStore) -> None:
    first = neo4j_store.begin_build(str(EXAMPLE))
    try:
        with pytest.raises(BuildRunningError, match=f"build {first} is running"):
            neo4j_store.begin_build(str(EXAMPLE))
    finally:
        neo4j_store.fail_build(first, "stopped by the test")
    record = neo4j_store.build(first)
    assert record is not None
    assert (record.status, record.error) == ("failed", "stopped by the test")


def test_build_without_heartbeat_is_abandoned(neo4j_store: GraphStore) -> None:
    stale = neo4j_store.begin_build(str(EXAMPLE))
    neo4j_store._write(lambda tx: tx.run("MATCH (b:DeputyBuild {id: $id}) SET b.heartbeat_ms = 0", id=stale).consume())
    fresh = neo4j_store.begin_build(str(EXAMPLE))
    neo4j_store.fail_build(fresh, "stopped by the test")
    record = neo4j_store.build(stale)
    assert record is not None
    assert record.status == "failed"
    assert record.error == "abandoned: the process running it stopped sending heartbeats"


def test_concurrent_begins_from_two_connections_admit_one(neo4j_store: GraphStore) -> None:
    settings = _settings()
    drivers = [GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) for _ in range(4)]
    stores = [GraphStore(driver, settings.database) for driver in drivers]
    barrier = threading.Barrier(len(stores))
    started: list[str] = []
    rejected: list[str] = []

    def begin(store: GraphStore) -> None:
        barrier.wait(timeout=30)
        try:
            started.append(store.begin_build(str(EXAMPLE)))
        except BuildRunningError as error:
            rejected.append(error.build_id)

    threads = [threading.Thread(target=begin, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    for build_id in started:
        neo4j_store.fail_build(build_id, "stopped by the test")
    assert len(started) == 1
    assert rejected == started * 3


def test_load_keeps_a_summary_per_kept_build(neo4j_store: GraphStore, example: DeputyGraph) -> None:
    record = neo4j_store.load(example, keep=2)
    summary = neo4j_store.summary(record.build_id)
    assert summary is not None
    assert record.attack_paths == len(summary.attack_paths) == 23
    neo4j_store.load(example, keep=2)
    neo4j_store.load(example, keep=2)
    assert neo4j_store.summary(record.build_id) is None


def test_absent_property_is_not_logged(neo4j_store: GraphStore, caplog: pytest.LogCaptureFixture) -> None:
    """A query over a property no node has makes the server send a note, which is not logged."""
    caplog.set_level(logging.INFO, logger="neo4j")
    rows = neo4j_store.run_read("MATCH (n:DeputyNode) WHERE n.no_build_sets_this = 1 RETURN count(n) AS n", {})
    assert rows == [{"n": 0}]
    assert [record.getMessage() for record in caplog.records if record.name == "neo4j.notifications"] == []
