"""`deputy scheduler` and the rebuild options of `deputy serve`, run as subprocesses against the test Neo4j."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.rebuild import RebuildSource, parse_duration
from engine.errors import UsageError
from engine.graph import build_graph
from ingest.snapshot import load_snapshot
from queries.store import GraphStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
DEPUTY = [sys.executable, "-c", "from api.cli import main; main()"]


def environment() -> dict[str, str]:
    """The test process's environment, with the test password when NEO4J_PASSWORD is unset."""
    return {**os.environ, "NEO4J_PASSWORD": os.environ.get("NEO4J_PASSWORD") or "deputygraph-test"}


def deputy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEPUTY, *args], capture_output=True, text=True, timeout=300, check=False, env=environment())


def test_scheduler_once_makes_a_current_build(neo4j_store: GraphStore) -> None:
    before = neo4j_store.current_build()
    result = deputy("scheduler", "--snapshot", str(EXAMPLE), "--once")
    assert result.returncode == 0, result.stderr
    current = neo4j_store.current_build()
    assert current != before
    record = neo4j_store.build(current or "")
    assert record is not None
    expected = build_graph(load_snapshot(EXAMPLE)).graph.number_of_nodes()
    assert (record.status, record.nodes, record.attack_paths) == ("succeeded", expected, 23)
    assert f"rebuild {current} succeeded" in result.stderr


def test_scheduler_once_with_broken_snapshot_exits_2(neo4j_store: GraphStore, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, snapshot)
    (snapshot / "manifest.json").write_text("{", encoding="utf-8")
    current = neo4j_store.current_build()
    result = deputy("scheduler", "--snapshot", str(snapshot), "--once")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("deputy: error: rebuild ")
    assert "manifest.json" in last
    assert neo4j_store.current_build() == current
    failed = neo4j_store.builds()[0]
    assert failed.status == "failed"
    assert "manifest.json" in (failed.error or "")


def test_scheduler_runs_until_sigterm(neo4j_store: GraphStore) -> None:
    before = {record.build_id for record in neo4j_store.builds()}
    command = [*DEPUTY, "scheduler", "--snapshot", str(EXAMPLE), "--every", "1s", "--keep", "2"]
    process = subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            new = [record for record in neo4j_store.builds() if record.build_id not in before]
            if sum(record.status in ("succeeded", "removed") for record in new) >= 3:
                break
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the scheduler made no three builds within 120 seconds"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=120)
    assert process.returncode == 0, log
    assert "stopped the rebuild schedule" in log
    new = [record for record in neo4j_store.builds() if record.build_id not in before]
    assert all(record.status in ("succeeded", "removed") for record in new), new
    # --keep 2: the two newest builds keep their graphs, older ones were removed.
    assert [record.status for record in new[:2]] == ["succeeded", "succeeded"]
    assert {record.status for record in new[2:]} == {"removed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rebuild-every", "soon"], "--rebuild-every 'soon' is invalid; write a number with s, m, h or d"),
        (["--rebuild-every", "0s"], "--rebuild-every '0s' is too short"),
        (["--keep", "0"], "--keep 0 is invalid"),
        (["--collect-command", "'unbalanced"], "--collect-command is invalid"),
    ],
)
def test_serve_rejects_bad_rebuild_options(args: list[str], message: str) -> None:
    env = {**environment(), "DEPUTY_API_KEYS": "a-key-for-the-option-tests-0123:read"}
    command = [*DEPUTY, "serve", "--snapshot", str(EXAMPLE), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_rebuild_every_needs_snapshot() -> None:
    env = {**environment(), "DEPUTY_API_KEYS": "a-key-for-the-option-tests-0123:read"}
    command = [*DEPUTY, "serve", "--backend", "neo4j", "--rebuild-every", "1h"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 2
    assert "--rebuild-every needs --snapshot DIR" in result.stderr


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1.5h", 5400), ("1d", 86400)])
def test_parse_duration_units(text: str, seconds: float) -> None:
    assert parse_duration(text, "--every") == seconds


def test_collect_command_split_like_a_shell() -> None:
    words = RebuildSource.command_from("deputy collect --out '/data/snap shot' --region us-east-1")
    assert words == ("deputy", "collect", "--out", "/data/snap shot", "--region", "us-east-1")
    with pytest.raises(UsageError, match="--collect-command is empty"):
        RebuildSource.command_from("   ")
