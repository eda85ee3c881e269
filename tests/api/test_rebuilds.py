"""Rebuilds over real HTTP on both backends: triggers, failures, swaps under load, diffs and the schedule."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from api.http.app import ServeSettings, create_app
from api.http.backends import Backend
from api.http.embedded import EmbeddedBackend
from api.http.keys import ApiKey
from api.http.neo4j_backend import Neo4jBackend
from api.rebuild import RebuildSource
from engine.graph import DeputyGraph, build_graph
from engine.model import Rel
from ingest.snapshot import load_snapshot
from queries.store import GraphStore, Neo4jSettings, StoreError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ALICE = "arn:aws:iam::111122223333:user/alice"
IAM_FILE = Path("111122223333") / "iam" / "authorization-details.json"
ADMIN_KEY = "admin-key-for-tests-0123456789"  # the admin key of tests/api/conftest.py
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BLAST_RADIUS = f"/v1/principals/{quote(ALICE, safe='')}/blast-radius"
PYTHON = sys.executable


# Fields of a path that do not depend on which of two equally short paths a build picked;
# Neo4j may pick another one in each build of the same snapshot.
TIE_FREE = (
    "start",
    "target",
    "target_label",
    "access",
    "weak",
    "conditional",
    "through_agent",
    "confused_deputy",
    "hops",
)


def tie_free(page: dict[str, Any]) -> tuple[int, list[tuple[Any, ...]]]:
    """A page's total and the tie-free fields of its items."""
    return page["total"], [tuple(item[field] for field in TIE_FREE) for item in page["items"]]


def copy_example(folder: Path) -> Path:
    snapshot = folder / "snapshot"
    shutil.copytree(EXAMPLE, snapshot)
    return snapshot


def set_alice_groups(snapshot: Path, groups: list[str]) -> None:
    """Rewrite the snapshot's IAM file with alice in the given groups."""
    path = snapshot / IAM_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    for user in document["UserDetailList"]:
        if user["UserName"] == "alice":
            user["GroupList"] = groups
    path.write_text(json.dumps(document), encoding="utf-8")


def wait_for(client: httpx.Client, build_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll one build until it is no longer running; return its record."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/builds/{build_id}")
        assert response.status_code == 200, response.text
        record: dict[str, Any] = response.json()
        if record["status"] != "running":
            return record
        assert time.monotonic() < deadline, f"build {build_id} still running after {timeout} s"
        time.sleep(0.1)


def trigger(client: httpx.Client) -> str:
    response = client.post("/v1/builds", headers=ADMIN)
    assert response.status_code == 202, response.text
    build_id: str = response.json()["build"]
    assert response.headers["Location"] == f"/v1/builds/{build_id}"
    return build_id


@dataclass(frozen=True, slots=True)
class Harness:
    """What starting a service needs: the conftest's server runner, keys and Neo4j settings."""

    serve: Callable[[FastAPI], AbstractContextManager[httpx.Client]]
    api_keys: tuple[ApiKey, ...]
    store_settings: Neo4jSettings


@pytest.fixture
def harness(
    serve: Callable[[FastAPI], AbstractContextManager[httpx.Client]],
    api_keys: tuple[ApiKey, ...],
    store_settings: Neo4jSettings,
) -> Harness:
    return Harness(serve, api_keys, store_settings)


def open_backend(harness: Harness, kind: str, snapshot: Path, store: GraphStore | None) -> Backend:
    if kind == "embedded":
        return EmbeddedBackend.load(str(snapshot))
    assert store is not None
    store.load(build_graph(load_snapshot(snapshot)))
    return Neo4jBackend(GraphStore.connect(harness.store_settings), None)


@contextmanager
def service(
    harness: Harness,
    kind: str,
    snapshot: Path,
    store: GraphStore | None,
    *,
    source: RebuildSource | None = None,
    **options: Any,
) -> Iterator[httpx.Client]:
    """Serve the snapshot copy on one backend over HTTP; rebuilds read `source`, by default the copy."""
    settings = ServeSettings(backend=kind, api_keys=harness.api_keys, snapshot=str(snapshot), **options)
    app = create_app(settings, open_backend(harness, kind, snapshot, store), rebuild_source=source)
    with harness.serve(app) as client:
        yield client


@pytest.fixture(params=["embedded", "neo4j"])
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store(kind: str, request: pytest.FixtureRequest) -> GraphStore | None:
    """The test Neo4j store for the neo4j backend, None for the embedded one."""
    if kind == "embedded":
        return None
    found: GraphStore = request.getfixturevalue("neo4j_store")
    return found


@pytest.fixture(scope="module", autouse=True)
def example_current_afterwards() -> Iterator[None]:
    """Leave the example snapshot as the current Neo4j build for the modules that follow."""
    yield
    settings = Neo4jSettings.from_environment()
    if not settings.password:
        settings = Neo4jSettings(settings.uri, settings.user, "deputygraph-test", settings.database)
    try:
        store = GraphStore.connect(settings)
    except StoreError:
        return  # no Neo4j server: the neo4j tests of this module were skipped
    try:
        store.load(build_graph(load_snapshot(EXAMPLE)))
    finally:
        store.close()


def test_trigger_makes_new_build_current(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> None:
    snapshot = copy_example(tmp_path)
    with service(harness, kind, snapshot, store) as client:
        before = client.get(BLAST_RADIUS)
        first = before.headers["X-Deputy-Build"]
        build_id = trigger(client)
        record = wait_for(client, build_id)
        after = client.get(BLAST_RADIUS)
        history = client.get("/v1/builds").json()["items"]
    assert record["status"] == "succeeded"
    assert record["current"] is True
    expected = build_graph(load_snapshot(snapshot))
    assert record["nodes"] == expected.graph.number_of_nodes()
    assert record["relationships"] == expected.graph.number_of_edges()
    assert record["attack_paths"] == 23
    assert record["error"] is None
    assert after.headers["X-Deputy-Build"] == build_id
    assert tie_free(after.json()) == tie_free(before.json())
    assert [item["build"] for item in history[:2]] == [build_id, first]
    assert [item["current"] for item in history[:2]] == [True, False]


def test_trigger_needs_admin_key(embedded_client: httpx.Client) -> None:
    assert embedded_client.post("/v1/builds").status_code == 403
    assert embedded_client.post("/v1/builds", headers={"Authorization": ""}).status_code == 401
    wrong = embedded_client.post("/v1/builds", headers={"Authorization": "Bearer not-a-configured-key-000"})
    assert wrong.status_code == 401


def test_second_trigger_while_running_is_409(
    harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path
) -> None:
    snapshot = copy_example(tmp_path)
    slow = RebuildSource(snapshot=str(snapshot), collect_command=(PYTHON, "-c", "import time; time.sleep(4)"))
    with service(harness, kind, snapshot, store, source=slow) as client:
        build_id = trigger(client)
        second = client.post("/v1/builds", headers=ADMIN)
        record = wait_for(client, build_id)
        third = client.post("/v1/builds", headers=ADMIN)
        if third.status_code == 202:
            wait_for(client, third.json()["build"])
    assert second.status_code == 409
    assert second.json() == {"detail": f"build {build_id} is running; wait until it finishes and try again"}
    assert record["status"] == "succeeded"
    assert third.status_code == 202


def test_failed_rebuild_keeps_old_graph_serving(
    harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path
) -> None:
    snapshot = copy_example(tmp_path)
    with service(harness, kind, snapshot, store) as client:
        before = client.get(BLAST_RADIUS)
        # The manifest has been read by then, so reading the snapshot fails part-way through.
        (snapshot / IAM_FILE).write_text('{"UserDetailList": [', encoding="utf-8")
        build_id = trigger(client)
        record = wait_for(client, build_id)
        after = client.get(BLAST_RADIUS)
        current = [item for item in client.get("/v1/builds").json()["items"] if item["current"]]
        ready = client.get("/readyz")
    assert record["status"] == "failed"
    assert record["current"] is False
    assert str(IAM_FILE) in record["error"]
    assert record["finished_at"] is not None
    assert after.status_code == 200
    assert after.json() == before.json()
    assert after.headers["X-Deputy-Build"] == before.headers["X-Deputy-Build"]
    assert [item["build"] for item in current] == [before.headers["X-Deputy-Build"]]
    assert ready.status_code == 200


class _BrokenSource(RebuildSource):
    """The example snapshot, with a relationship property Neo4j rejects added to its graph."""

    def build(self) -> DeputyGraph:
        deputy = super().build()
        source, target = next(iter(deputy.graph.edges()))
        # Neo4j rejects a list that mixes strings and numbers, after the nodes are written.
        deputy.graph.add_edge(source, target, key=str(Rel.MEMBER_OF), rel=str(Rel.MEMBER_OF), mixed=["a", 1])
        return deputy


def test_neo4j_write_failing_mid_way_keeps_old_build(harness: Harness, neo4j_store: GraphStore, tmp_path: Path) -> None:
    snapshot = copy_example(tmp_path)
    broken = _BrokenSource(snapshot=str(snapshot))
    with service(harness, "neo4j", snapshot, neo4j_store, source=broken) as client:
        before = client.get(BLAST_RADIUS)
        build_id = trigger(client)
        record = wait_for(client, build_id)
        after = client.get(BLAST_RADIUS)
    leftover = neo4j_store.run_read("MATCH (n:DeputyNode {build: $b}) RETURN count(n) AS n", {"b": build_id})
    assert record["status"] == "failed"
    assert "previous build keeps serving" in record["error"]
    assert leftover == [{"n": 0}]
    assert after.json() == before.json()
    assert after.headers["X-Deputy-Build"] == before.headers["X-Deputy-Build"]


def test_failed_collect_command_fails_build(
    harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path
) -> None:
    snapshot = copy_example(tmp_path)
    command = (PYTHON, "-c", "import sys; print('first', file=sys.stderr); sys.exit('access denied by SCP')")
    failing = RebuildSource(snapshot=str(snapshot), collect_command=command)
    with service(harness, kind, snapshot, store, source=failing) as client:
        record = wait_for(client, trigger(client))
    assert record["status"] == "failed"
    assert record["error"] == f"collector {PYTHON} exited with status 1: access denied by SCP"


def test_collect_command_refreshes_snapshot(
    harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path
) -> None:
    snapshot = copy_example(tmp_path)
    variant = copy_example(tmp_path / "variant")
    set_alice_groups(variant, [])
    copy = f"import shutil; shutil.copyfile({str(variant / IAM_FILE)!r}, {str(snapshot / IAM_FILE)!r})"
    source = RebuildSource(snapshot=str(snapshot), collect_command=(PYTHON, "-c", copy))
    with service(harness, kind, snapshot, store, source=source) as client:
        before = client.get(BLAST_RADIUS).json()
        record = wait_for(client, trigger(client))
        after = client.get(BLAST_RADIUS).json()
    assert record["status"] == "succeeded"
    assert before["total"] > 0
    assert after["total"] == 0


def test_concurrent_reads_during_swaps_never_mix(
    harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path
) -> None:
    snapshot = copy_example(tmp_path)
    params: dict[str, str | int] = {"sensitive_only": "false", "limit": 1000}
    with service(harness, kind, snapshot, store) as client:
        first = client.get(BLAST_RADIUS, params=params)
        expected = {"with-groups": tie_free(first.json())}
        variant_of = {first.headers["X-Deputy-Build"]: "with-groups"}
        seen: list[tuple[int, str | None, Any]] = []
        stop = threading.Event()

        def read() -> None:
            with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=60) as reader:
                while not stop.is_set() and len(seen) < 3000:
                    response = reader.get(BLAST_RADIUS, params=params)
                    seen.append((response.status_code, response.headers.get("X-Deputy-Build"), response.json()))

        readers = [threading.Thread(target=read) for _ in range(4)]
        for thread in readers:
            thread.start()
        try:
            for variant, groups in [("without-groups", []), ("with-groups", ["developers"])] * 2:
                set_alice_groups(snapshot, groups)
                build_id = trigger(client)
                assert wait_for(client, build_id)["status"] == "succeeded"
                variant_of[build_id] = variant
                if variant not in expected:
                    expected[variant] = tie_free(client.get(BLAST_RADIUS, params=params).json())
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=120)

    assert expected["with-groups"] != expected["without-groups"]
    assert all(status == 200 for status, _, _ in seen)
    for _, read_from, body in seen:
        assert read_from is not None
        assert read_from in variant_of
        assert tie_free(body) == expected[variant_of[read_from]]
    assert {variant_of.get(read_from or "") for _, read_from, _ in seen} == {"with-groups", "without-groups"}


def diff_keys(items: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(item["invoker"], item["target"], item["access"]) for item in items]


def run_diffs(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> dict[str, Any]:
    """Build the example, then alice without groups; return both diffs and alice's confused-deputy paths."""
    snapshot = copy_example(tmp_path)
    with service(harness, kind, snapshot, store) as client:
        response = client.get("/v1/confused-deputy-paths", params={"invoker": ALICE, "limit": 1000})
        alice_paths = [(item["start"], item["target"], item["access"]) for item in response.json()["items"]]
        full = response.headers["X-Deputy-Build"]
        set_alice_groups(snapshot, [])
        reduced = trigger(client)
        assert wait_for(client, reduced)["status"] == "succeeded"
        default = client.get("/v1/builds/diff").json()
        backwards = client.get("/v1/builds/diff", params={"from": reduced, "to": full}).json()
        paged = client.get("/v1/builds/diff", params={"limit": 5, "offset": 5}).json()
    return {
        "alice": alice_paths,
        "full": full,
        "reduced": reduced,
        "default": default,
        "back": backwards,
        "paged": paged,
    }


def test_diff_reports_paths_and_reach(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> None:
    result = run_diffs(harness, kind, store, tmp_path)
    default, backwards = result["default"], result["back"]
    assert (default["from_build"], default["to_build"]) == (result["full"], result["reduced"])
    assert len(result["alice"]) > 5
    assert diff_keys(default["paths_removed"]) == sorted(result["alice"])
    assert default["paths_added"] == []
    assert default["reach_grew"] == []
    assert diff_keys(backwards["paths_added"]) == sorted(result["alice"])
    assert backwards["paths_removed"] == []
    [grew] = backwards["reach_grew"]
    assert grew["principal"] == ALICE
    assert {(target, access) for _, target, access in result["alice"]} <= {
        (item["target"], item["access"]) for item in grew["added"]
    }
    paged = result["paged"]
    assert diff_keys(paged["paths_removed"]) == sorted(result["alice"])[5:10]
    assert paged["paths_removed_total"] == len(result["alice"])


HR_AGENT_DIR = Path("111122223333") / "us-east-1" / "bedrock-agent" / "agents" / "Q7HRX2KD4N"


def route_prod_to(snapshot: Path, version: str) -> None:
    path = snapshot / HR_AGENT_DIR / "aliases.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    for alias in document["agentAliasSummaries"]:
        if alias["agentAliasName"] == "prod":
            alias["routingConfiguration"] = [{"agentVersion": version}]
    path.write_text(json.dumps(document), encoding="utf-8")


def drift_after_reroute(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> tuple[str, list[Any]]:
    """Serve the example with prod on version 1, rebuild with prod on version 2; return the old build and DG011."""
    snapshot = copy_example(tmp_path)
    route_prod_to(snapshot, "1")
    with service(harness, kind, snapshot, store) as client:
        first = client.get("/v1/builds").json()["items"][0]["build"]
        route_prod_to(snapshot, "2")
        assert wait_for(client, trigger(client))["status"] == "succeeded"
        response = client.get("/v1/findings", params={"type": "DG011"})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return first, items


def test_drift_after_alias_reroute(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> None:
    first, items = drift_after_reroute(harness, kind, store, tmp_path)
    [finding] = items
    assert finding["key"] == "arn:aws:bedrock:us-east-1:111122223333:agent/Q7HRX2KD4N"
    assert finding["severity"] == "high"
    assert finding["evidence"][0]["detail"] == (
        f"alias hr-policy-assistant/prod routed to version 1 in build {first} and now routes to version 2"
    )
    assert finding["evidence"][1]["detail"] == (
        f"added since build {first} to what alias hr-policy-assistant/prod serves (version 2): action group "
        "network-ops -> arn:aws:lambda:us-east-1:111122223333:function:infra-vpc-provisioner"
    )


def test_drift_same_on_both_backends(harness: Harness, neo4j_store: GraphStore, tmp_path: Path) -> None:
    embedded_first, embedded = drift_after_reroute(harness, "embedded", None, tmp_path / "embedded")
    neo4j_first, neo4j = drift_after_reroute(harness, "neo4j", neo4j_store, tmp_path / "neo4j")
    # The build ids differ, and so does every sentence that names the previous build.
    named = [json.dumps(item).replace(neo4j_first, "BUILD") for item in neo4j]
    assert named == [json.dumps(item).replace(embedded_first, "BUILD") for item in embedded]


def test_diff_same_on_both_backends(harness: Harness, neo4j_store: GraphStore, tmp_path: Path) -> None:
    embedded = run_diffs(harness, "embedded", None, tmp_path / "embedded")
    neo4j = run_diffs(harness, "neo4j", neo4j_store, tmp_path / "neo4j")
    for name in ("default", "back"):
        for field in ("paths_added", "paths_removed", "reach_grew"):
            assert embedded[name][field] == neo4j[name][field]


def test_diff_errors(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> None:
    snapshot = copy_example(tmp_path)
    with service(harness, kind, snapshot, store) as client:
        current = client.get(BLAST_RADIUS).headers["X-Deputy-Build"]
        unknown = client.get("/v1/builds/diff", params={"from": "20200101T000000Z-00000000", "to": current})
        malformed = client.get("/v1/builds/diff", params={"from": "../../etc", "to": current})
        (snapshot / IAM_FILE).write_text("[]", encoding="utf-8")
        failed = wait_for(client, trigger(client))
        with_failed = client.get("/v1/builds/diff", params={"from": failed["build"], "to": current})
        missing_build = client.get("/v1/builds/20200101T000000Z-00000000")
    assert unknown.status_code == 404
    assert "no build has the id '20200101T000000Z-00000000'" in unknown.json()["detail"]
    assert malformed.status_code == 422
    assert failed["status"] == "failed"
    assert with_failed.status_code == 409
    assert "is failed and has no summary" in with_failed.json()["detail"]
    assert missing_build.status_code == 404


def test_embedded_first_build_has_nothing_to_diff(embedded_client: httpx.Client) -> None:
    response = embedded_client.get("/v1/builds/diff")
    assert response.status_code == 409
    assert "no succeeded build started before" in response.json()["detail"]


def test_keep_limits_builds_with_summaries(harness: Harness, tmp_path: Path) -> None:
    snapshot = copy_example(tmp_path)
    with service(harness, "embedded", snapshot, None, keep_builds=2) as client:
        first = client.get(BLAST_RADIUS).headers["X-Deputy-Build"]
        for _ in range(2):
            assert wait_for(client, trigger(client))["status"] == "succeeded"
        statuses = [item["status"] for item in client.get("/v1/builds").json()["items"]]
        removed = client.get("/v1/builds/diff", params={"from": first})
    assert statuses == ["succeeded", "succeeded", "removed"]
    assert removed.status_code == 409


def test_rebuild_every_runs_on_schedule(harness: Harness, kind: str, store: GraphStore | None, tmp_path: Path) -> None:
    snapshot = copy_example(tmp_path)
    with service(harness, kind, snapshot, store, rebuild_every=1.0) as client:
        deadline = time.monotonic() + 120
        while True:
            items = client.get("/v1/builds", params={"limit": 10}).json()["items"]
            finished = [item for item in items if item["status"] in ("succeeded", "removed")]
            if len(finished) >= 3:
                break
            assert time.monotonic() < deadline, items
            time.sleep(0.2)
    # Newest first: each build started after the one before it finished, so no two overlapped.
    for newer, older in itertools.pairwise(finished):
        assert newer["started_at"] >= older["finished_at"]
    assert all(item["error"] is None for item in finished)
