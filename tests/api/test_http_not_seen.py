"""Blast radius and paths over HTTP name what the snapshot could not show, on both backends.

That is the notes of what is missing from the snapshot, and the potential steps, which
assume a resource or credentials the snapshot has no record of.
"""

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


REAL_ACCOUNT = Path(__file__).resolve().parents[1] / "data" / "cloudsplaining-account"
REAL_ID = "210987654321"


def backend_for(name: str, snapshot: Path, neo4j_store: GraphStore) -> EmbeddedBackend | Neo4jBackend:
    """A backend serving the snapshot: embedded, or loaded into the test Neo4j server as its current build."""
    if name == "embedded":
        return EmbeddedBackend.load(str(snapshot))
    neo4j_store.load(build_graph(load_snapshot(snapshot)))
    settings = Neo4jSettings.from_environment()
    settings = Neo4jSettings(
        uri=settings.uri,
        user=settings.user,
        password=settings.password or "deputygraph-test",
        database=neo4j_store.database,
    )
    return Neo4jBackend(GraphStore.connect(settings), DecisionEngine(load_snapshot(snapshot)))


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
    backend = backend_for(backend_name, without_groups(tmp_path / "snapshot"), neo4j_store)
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


@pytest.mark.parametrize("backend_name", ["embedded", "neo4j"])
def test_paths_mark_potential_steps(
    backend_name: str, neo4j_store: GraphStore, serve: Callable[..., Any], make_settings: Callable[..., Any]
) -> None:
    """privesc7's role may attach policies to users it does not act as; privesc4's user makes access keys."""
    backend = backend_for(backend_name, REAL_ACCOUNT, neo4j_store)
    create_vpc = f"vpc-api:{REAL_ID}:*:ec2:CreateVpc"
    with serve(create_app(make_settings(backend_name), backend)) as client:
        role = f"arn:aws:iam::{REAL_ID}:role/privesc7-AttachUserPolicy-role"
        path = client.get("/v1/paths", params={"from": role, "to": create_vpc}).json()["items"][0]
        assert path["potential"] is True
        assert path["edges"][0]["potential"].startswith("assumes the caller also has the access keys")
        user = f"arn:aws:iam::{REAL_ID}:user/privesc4-CreateAccessKey-user"
        path = client.get("/v1/paths", params={"from": user, "to": create_vpc}).json()["items"][0]
        assert path["potential"] is False
        # Equally short exact paths exist (access keys, or a write through a user it gets keys
        # for), and the two stores may pick either. None of their steps is potential.
        assert path["hops"] == 2
        assert [edge["potential"] for edge in path["edges"]] == [None, None]
