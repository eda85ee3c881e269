"""Shared fixtures: the real Neo4j server that scripts/neo4j.sh starts on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from queries.store import GraphStore, Neo4jSettings, StoreError


@pytest.fixture(scope="session")
def neo4j_store() -> Iterator[GraphStore]:
    """A store on the test server; in CI a missing server fails the test instead of skipping it."""
    settings = Neo4jSettings.from_environment()
    if not settings.password:
        settings = Neo4jSettings(
            uri=settings.uri, user=settings.user, password="deputygraph-test", database=settings.database
        )
    try:
        store = GraphStore.connect(settings)
    except StoreError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Neo4j is required in CI and is not reachable: {error}")
        pytest.skip(f"Neo4j is not running ({error}); start it with scripts/neo4j.sh start")
    yield store
    store.close()
