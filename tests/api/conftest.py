"""Fixtures for the REST API tests: the real service on uvicorn, on 127.0.0.1 and a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.http.app import ServeSettings, create_app
from api.http.backends import DecisionEngine
from api.http.embedded import EmbeddedBackend
from api.http.keys import ApiKey, parse_api_keys
from api.http.neo4j_backend import Neo4jBackend
from engine.graph import build_graph
from ingest.snapshot import load_snapshot
from queries.store import GraphStore, Neo4jSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
READ_KEY = "read-key-for-tests-0123456789"
ADMIN_KEY = "admin-key-for-tests-0123456789"
API_KEYS = parse_api_keys(f"{READ_KEY}:read,{ADMIN_KEY}:admin")

Serve = Callable[[FastAPI], AbstractContextManager[httpx.Client]]


@contextmanager
def serve_app(app: FastAPI) -> Iterator[httpx.Client]:
    """Run the app on uvicorn in a thread and yield a client that sends the read key."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # ws="none" keeps uvicorn from importing a websockets library the API does not use.
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 seconds")
        time.sleep(0.02)
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def settings_for(backend: str, *, timeout: float = 30.0) -> ServeSettings:
    return ServeSettings(backend=backend, api_keys=API_KEYS, snapshot=str(EXAMPLE), request_timeout=timeout)


@pytest.fixture(scope="session")
def embedded_backend() -> EmbeddedBackend:
    return EmbeddedBackend.load(str(EXAMPLE))


def neo4j_settings() -> Neo4jSettings:
    """The settings of the `neo4j_store` fixture: NEO4J_* from the environment, the test password by default."""
    settings = Neo4jSettings.from_environment()
    if settings.password:
        return settings
    return Neo4jSettings(uri=settings.uri, user=settings.user, password="deputygraph-test", database=settings.database)


@pytest.fixture(scope="module")
def example_build(neo4j_store: GraphStore) -> str:
    """Load the example snapshot into Neo4j as the current build; return its id."""
    return neo4j_store.load(build_graph(load_snapshot(EXAMPLE))).build_id


@pytest.fixture(scope="module")
def embedded_client(embedded_backend: EmbeddedBackend) -> Iterator[httpx.Client]:
    with serve_app(create_app(settings_for("embedded"), embedded_backend)) as client:
        yield client


@pytest.fixture(scope="module")
def neo4j_client(example_build: str) -> Iterator[httpx.Client]:
    del example_build  # loaded for its side effect: the current build
    backend = Neo4jBackend(GraphStore.connect(neo4j_settings()), DecisionEngine(load_snapshot(EXAMPLE)))
    with serve_app(create_app(settings_for("neo4j"), backend)) as client:
        yield client


@pytest.fixture
def serve() -> Serve:
    """`with serve(app) as client:` runs an app over HTTP for one test."""
    return serve_app


@pytest.fixture
def make_settings() -> Callable[..., ServeSettings]:
    return settings_for


@pytest.fixture
def read_key() -> str:
    return READ_KEY


@pytest.fixture
def api_keys() -> tuple[ApiKey, ...]:
    """The read key and the admin key, as the service keeps them."""
    return API_KEYS


@pytest.fixture
def store_settings() -> Neo4jSettings:
    """Settings for opening another connection to the test Neo4j server."""
    return neo4j_settings()


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


@pytest.fixture(params=["embedded", "neo4j"])
def client(request: pytest.FixtureRequest) -> httpx.Client:
    """The service on each backend in turn, both serving the example snapshot."""
    served: httpx.Client = request.getfixturevalue(f"{request.param}_client")
    return served
