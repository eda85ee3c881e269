"""API keys, error bodies, timeouts and start-up checks of the REST API, over real HTTP."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from api.http.app import ServeSettings, create_app
from api.http.backends import BackendUnavailableError
from api.http.embedded import EmbeddedBackend
from api.http.keys import KeyStore, Scope, parse_api_keys
from api.http.models import Build, Page
from api.http.neo4j_backend import Neo4jBackend, Neo4jView, _Row
from engine.errors import UsageError
from neo4j import GraphDatabase
from queries.store import GraphStore, Neo4jSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
PROTECTED = [
    ("GET", "/v1/builds"),
    ("GET", "/v1/principals/arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Falice/blast-radius"),
    ("GET", "/v1/agents/arn%3Aaws%3Abedrock%3Aus-east-1%3A111122223333%3Aagent%2FQ7HRX2KD4N/blast-radius"),
    ("GET", "/v1/paths?from=arn:aws:iam::111122223333:user/alice"),
    ("GET", "/v1/confused-deputy-paths"),
    ("POST", "/v1/decisions"),
]

Serve = Callable[[FastAPI], AbstractContextManager[httpx.Client]]


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_missing_key_is_401(embedded_client: httpx.Client, method: str, url: str) -> None:
    response = embedded_client.request(method, url, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_wrong_key_is_401(embedded_client: httpx.Client, method: str, url: str) -> None:
    response = embedded_client.request(method, url, headers={"Authorization": "Bearer not-a-configured-key-000"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid API key"}


@pytest.mark.parametrize(
    "header", ["Basic cmVhZDprZXk=", "Bearer", "Token read-key-for-tests-0123456789", "read-key-for-tests-0123456789"]
)
def test_malformed_authorization_is_401(embedded_client: httpx.Client, header: str) -> None:
    response = embedded_client.get("/v1/builds", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_read_and_admin_keys_are_accepted(embedded_client: httpx.Client, admin_key: str) -> None:
    assert embedded_client.get("/v1/builds").status_code == 200
    assert embedded_client.get("/v1/builds", headers={"Authorization": f"Bearer {admin_key}"}).status_code == 200


def test_probes_need_no_key(embedded_client: httpx.Client) -> None:
    for url in ("/healthz", "/readyz"):
        response = embedded_client.get(url, headers={"Authorization": ""})
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "backend": "embedded", "detail": None}


def test_responses_carry_request_id(embedded_client: httpx.Client) -> None:
    first = embedded_client.get("/healthz").headers["X-Request-ID"]
    second = embedded_client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32
    assert first != second


def test_logs_never_contain_keys(
    embedded_client: httpx.Client, read_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    embedded_client.get("/v1/builds")
    embedded_client.get("/v1/builds", headers={"Authorization": "Bearer wrong-key-that-must-not-be-logged"})
    messages = [record.getMessage() for record in caplog.records]
    assert any("rejected an invalid API key" in message for message in messages)
    assert not any(read_key in message or "wrong-key-that-must" in message for message in messages)


def test_openapi_documents_models_and_bearer(embedded_client: httpx.Client) -> None:
    schema = embedded_client.get("/openapi.json").json()
    expected = {"/v1/paths", "/v1/decisions", "/v1/builds", "/v1/builds/diff", "/v1/builds/{build_id}", "/healthz"}
    assert expected <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for model in ("PathResult", "DecisionRequest", "Build", "BuildStarted", "BuildDiff", "ErrorBody"):
        assert schema["components"]["schemas"][model]["examples"], model
    trigger = schema["paths"]["/v1/builds"]["post"]
    assert set(trigger["responses"]) == {"202", "401", "403", "409", "501", "503"}


def test_docs_need_a_key_and_embed_the_schema(embedded_client: httpx.Client) -> None:
    for url in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        assert embedded_client.get(url, headers={"Authorization": ""}).status_code in (401, 404), url
    assert embedded_client.get("/openapi.json", headers={"Authorization": ""}).status_code == 401
    assert embedded_client.get("/docs", headers={"Authorization": ""}).status_code == 401
    page = embedded_client.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert '"/v1/builds/diff"' in page.text


def _concrete(path: str) -> str:
    """A request path for a route template, with a placeholder value for each parameter."""
    values = {
        "{arn}": "arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Falice",
        "{build_id}": "20261204T230000Z-1a2b3c4d",
    }
    for template, value in values.items():
        path = path.replace(template, value)
    return path


def _all_routes(routes: list[BaseRoute]) -> list[Route]:
    """The routes of the app, with those of included routers."""
    found: list[Route] = []
    for route in routes:
        if isinstance(route, Route):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            found += _all_routes(included.routes)
    return found


def test_only_probes_answer_without_a_key(embedded_client: httpx.Client, embedded_backend: EmbeddedBackend) -> None:
    app = create_app(ServeSettings(backend="embedded", api_keys=parse_api_keys("k" * 20)), embedded_backend)
    requests = sorted(
        (method, _concrete(route.path.replace(":path", "")))
        for route in _all_routes(app.routes)
        for method in (route.methods or set())
        if method != "HEAD"
    )
    assert ("POST", "/v1/builds") in requests
    assert ("GET", "/openapi.json") in requests
    open_to_all = []
    for method, url in requests:
        response = embedded_client.request(method, url, headers={"Authorization": ""})
        if response.status_code != 401:
            open_to_all.append((method, url, response.status_code))
    assert open_to_all == [("GET", "/healthz", 200), ("GET", "/readyz", 200)]


def test_oversized_body_is_413(embedded_client: httpx.Client) -> None:
    body = b'{"principal": "' + b"a" * 300_000 + b'"}'
    response = embedded_client.post("/v1/decisions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "larger than 262144 bytes" in response.json()["detail"]


DECISION = {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": "*"}


def test_422_omits_submitted_value(embedded_client: httpx.Client) -> None:
    response = embedded_client.post("/v1/decisions", json={**DECISION, "extra": "secret-value-0123456789"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", "extra"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]
    }
    assert "secret-value" not in response.text


def test_422_names_query_parameter(embedded_client: httpx.Client) -> None:
    response = embedded_client.get("/v1/confused-deputy-paths", params={"limit": "secret-value-0123456789"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["query", "limit"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "type": "int_parsing",
            }
        ]
    }


def test_422_cuts_long_context_key(embedded_client: httpx.Client) -> None:
    key = "k" * 100_000
    response = embedded_client.post("/v1/decisions", json={**DECISION, "context": {key: ["secret-value"]}})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error == {
        "loc": ["body", "context", "k" * 64 + "...", "[key]"],
        "msg": "String should have at most 256 characters",
        "type": "string_too_long",
    }
    assert len(response.content) < 300


def test_422_invalid_json_has_no_context(embedded_client: httpx.Client) -> None:
    response = embedded_client.post(
        "/v1/decisions", content=b'{"principal": "secret-value', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert set(error) == {"loc", "msg", "type"}
    assert "secret-value" not in response.text


def test_method_not_allowed_lists_every_method(embedded_client: httpx.Client) -> None:
    response = embedded_client.delete("/v1/builds")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_overlong_arn_is_400(embedded_client: httpx.Client) -> None:
    arn = "arn:aws:iam::111122223333:user/" + "a" * 2100
    response = embedded_client.get("/v1/paths", params={"from": arn})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "query parameter from is longer than 2048 characters, the maximum length of an ARN here"
    }
    assert "a" * 100 not in response.text


def test_logs_never_contain_admin_key(
    embedded_client: httpx.Client, admin_key: str, read_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    denied = embedded_client.post("/v1/builds")
    wrong = embedded_client.post("/v1/builds", headers={"Authorization": f"Bearer {admin_key}x"})
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert (denied.status_code, wrong.status_code) == (403, 401)
    assert "POST /v1/builds -> 403" in messages
    assert admin_key not in messages
    assert read_key not in messages


def test_parse_api_keys_scopes() -> None:
    keys = parse_api_keys(" first-key-0123456789 , second-key-0123456789:admin,third-key-0123456789:read,")
    assert [key.scope for key in keys] == [Scope.READ, Scope.ADMIN, Scope.READ]
    store = KeyStore(keys)
    assert store.scope_of("second-key-0123456789") is Scope.ADMIN
    assert store.scope_of("first-key-0123456789") is Scope.READ
    assert store.scope_of("second-key-0123456789:admin") is None


def test_parse_api_keys_keeps_only_digests() -> None:
    [key] = parse_api_keys("a-secret-key-0123456789:read")
    assert b"a-secret-key" not in key.digest
    assert len(key.digest) == 32


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("long-enough-key-0123456789:owner", "entry 1 has scope 'owner'"),
        ("ok-key-0123456789abcdef,short:read", "entry 2 is shorter than 16 characters"),
    ],
)
def test_parse_api_keys_rejects_without_echoing_key(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        parse_api_keys(text)
    assert "0123456789" not in str(raised.value)


def test_key_store_requires_a_key() -> None:
    with pytest.raises(UsageError, match="no API keys are configured"):
        KeyStore(())


def test_serve_without_keys_exits_2() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "DEPUTY_API_KEYS"}
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--snapshot", str(EXAMPLE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=environment)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no API keys are configured" in result.stderr
    assert result.stdout == ""


def test_serve_command_serves_over_http(read_key: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "DEPUTY_API_KEYS": f"{read_key}:read"}
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--snapshot", str(EXAMPLE)]
    command += ["--port", str(port)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "deputy serve did not listen within 60 seconds"
                time.sleep(0.2)
        builds = httpx.get(f"{base}/v1/builds", headers={"Authorization": f"Bearer {read_key}"}, timeout=30)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert health.status_code == 200
    assert builds.status_code == 200
    assert builds.json()["total"] == 1
    assert "GET /v1/builds -> 200" in log
    assert read_key not in log


class _FailingBackend(EmbeddedBackend):
    """The example graph, with builds() raising an error the service does not expect."""

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        raise RuntimeError("secret internal detail")


class _SlowBackend(EmbeddedBackend):
    """The example graph, with builds() waiting until the test releases it."""

    release = threading.Event()

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        self.release.wait(timeout=10)
        return super().builds(offset=offset, limit=limit)


def test_unexpected_error_is_plain_500(serve: Serve, make_settings: Callable[..., ServeSettings]) -> None:
    backend = _FailingBackend.load(str(EXAMPLE))
    with serve(create_app(make_settings("embedded"), backend)) as client:
        response = client.get("/v1/builds")
    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


def test_slow_request_times_out_with_503(serve: Serve, make_settings: Callable[..., ServeSettings]) -> None:
    backend = _SlowBackend.load(str(EXAMPLE))
    try:
        with serve(create_app(make_settings("embedded", timeout=0.2), backend)) as client:
            response = client.get("/v1/builds")
            assert client.get("/healthz").status_code == 200
    finally:
        _SlowBackend.release.set()
    assert response.status_code == 503
    assert "timed out after 0.2 seconds" in response.json()["detail"]


def test_neo4j_decision_without_snapshot_is_501(
    serve: Serve, make_settings: Callable[..., ServeSettings], example_build: str
) -> None:
    settings = Neo4jSettings.from_environment()
    if not settings.password:
        settings = Neo4jSettings(settings.uri, settings.user, "deputygraph-test", settings.database)
    backend = Neo4jBackend(GraphStore.connect(settings), None)
    body = {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject", "resource": "*"}
    with serve(create_app(make_settings("neo4j"), backend)) as client:
        response = client.post("/v1/decisions", json=body)
        ready = client.get("/readyz")
    assert response.status_code == 501
    assert "--snapshot" in response.json()["detail"]
    assert ready.status_code == 200
    assert example_build


def test_neo4j_unreachable_is_not_ready(serve: Serve, make_settings: Callable[..., ServeSettings]) -> None:
    # Nothing listens on port 1, so the driver cannot connect; GraphStore.connect would refuse it.
    driver = GraphDatabase.driver(
        "bolt://127.0.0.1:1", auth=("neo4j", "unused"), connection_timeout=2, max_transaction_retry_time=1
    )
    with serve(create_app(make_settings("neo4j"), Neo4jBackend(GraphStore(driver, "neo4j"), None))) as client:
        ready = client.get("/readyz")
        builds = client.get("/v1/builds")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert builds.status_code == 503
    assert "graph store is unavailable" in builds.json()["detail"]


def test_neo4j_build_swap_mid_request_is_503(neo4j_store: GraphStore, example_build: str) -> None:
    ghost = "arn:aws:iam::111122223333:user/removed-by-a-new-build"
    row = _Row(ghost, ghost, "User", "read", False, False, False, False, (ghost,), ())
    view = Neo4jView(neo4j_store, example_build, None)
    with pytest.raises(BackendUnavailableError, match="was removed during the request"):
        view._describe([row])
    assert example_build


def test_create_app_without_keys_fails(embedded_backend: EmbeddedBackend) -> None:
    with pytest.raises(UsageError, match="DEPUTY_API_KEYS"):
        create_app(ServeSettings(backend="embedded", api_keys=()), embedded_backend)
