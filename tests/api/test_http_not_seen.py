"""Blast radius and paths over HTTP name what the snapshot could not show, on both backends."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from api.http.app import create_app
from api.http.backends import DecisionEngine
from api.http.embedded import EmbeddedBackend
from api.http.neo4j_backend import Neo4jBackend
from engine.graph import build_graph
from ingest.snapshot import load_snapshot
from queries.store import GraphStore, Neo4jSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
HR_ANALYST = f"arn:aws:iam::{ACCOUNT}:user/hr-analyst"
MISSING_GROUP = (
    "group developers of account 111122223333, which alice, bob belong to, is not in the snapshot: "
    "the permissions its policies grant are not analysed"
)


def without_groups(folder: Path) -> Path:
    """The example as `get-account-authorization-details --filter User Role` would give its IAM part."""
    shutil.copytree(EXAMPLE, folder)
    details_file = folder / ACCOUNT / "iam" / "authorization-details.json"
    details = json.loads(details_file.read_text())
    details["GroupDetailList"] = []
    details_file.write_text(json.dumps(details))
    return folder


@pytest.mark.parametrize("backend_name", ["embedded", "neo4j"])
def test_pages_name_missing_group(
    tmp_path: Path,
    backend_name: str,
    neo4j_store: GraphStore,
    serve: Callable[..., Any],
    make_settings: Callable[..., Any],
) -> None:
    snapshot = without_groups(tmp_path / "snapshot")
    if backend_name == "embedded":
        backend: EmbeddedBackend | Neo4jBackend = EmbeddedBackend.load(str(snapshot))
    else:
        neo4j_store.load(build_graph(load_snapshot(snapshot)))
        settings = Neo4jSettings.from_environment()
        settings = Neo4jSettings(
            uri=settings.uri,
            user=settings.user,
            password=settings.password or "deputygraph-test",
            database=neo4j_store.database,
        )
        backend = Neo4jBackend(GraphStore.connect(settings), DecisionEngine(load_snapshot(snapshot)))
    with serve(create_app(make_settings(backend_name), backend)) as client:
        alice = client.get(f"/v1/principals/{quote(ALICE, safe='')}/blast-radius")
        assert alice.status_code == 200, alice.text
        assert alice.json()["items"] == []
        assert alice.json()["not_seen"] == [MISSING_GROUP]
        paths = client.get("/v1/paths", params={"from": ALICE})
        assert paths.json()["not_seen"] == [MISSING_GROUP]
        # hr-analyst is in no group, so the missing group cannot change its paths.
        analyst = client.get(f"/v1/principals/{quote(HR_ANALYST, safe='')}/blast-radius")
        assert analyst.json()["not_seen"] == []
        assert analyst.json()["items"]
