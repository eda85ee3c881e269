"""The FastAPI application of `deputy serve`: settings, middleware, error mapping and routers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Match

from api.http.auth import require_read
from api.http.backends import (
    Backend,
    BackendUnavailableError,
    BuildConflictError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
)
from api.http.keys import ApiKey, KeyStore
from api.http.routes import builds, decisions, findings, graph, health
from api.rebuild import DEFAULT_COLLECT_TIMEOUT, Rebuilder, RebuildSource, Schedule
from engine.errors import DeputyError
from queries.builds import DEFAULT_KEEP_BUILDS
from queries.store import BuildRunningError, Neo4jSettings

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# The largest decision request the model allows is far bigger than any real one; bodies
# above this size are rejected before they are read.
MAX_BODY_BYTES = 256 * 1024
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# Maximum length of a client-chosen location part, such as a dict key or an unknown field
# name, that a 422 response repeats. A longer part is cut to this length and ends in "...".
MAX_LOCATION_PART = 64


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything `deputy serve` runs with; built once, at the entry point."""

    backend: str
    api_keys: tuple[ApiKey, ...]
    snapshot: str | None = None
    config: str | None = None
    neo4j: Neo4jSettings | None = None
    request_timeout: float = 30.0  # seconds before a request gets 503
    worker_threads: int = 8  # graph work running at once; further requests wait for a thread
    rebuild_every: float | None = None  # seconds between scheduled rebuilds; None: rebuild only on request
    keep_builds: int = DEFAULT_KEEP_BUILDS
    collect_command: tuple[str, ...] = ()
    collect_timeout: float = DEFAULT_COLLECT_TIMEOUT

    def rebuild_source(self) -> RebuildSource | None:
        """Return the source of rebuilds: the snapshot folder, refreshed by the collector command if one is set."""
        if self.snapshot is None:
            return None
        return RebuildSource(
            snapshot=self.snapshot,
            config=self.config,
            collect_command=self.collect_command,
            collect_timeout=self.collect_timeout,
        )


def open_backend(settings: ServeSettings) -> Backend:
    """Open the backend the settings name; raise DeputyError with the fix."""
    # Imported here: each backend module imports the shared protocol module, as this one does.
    from api.http.embedded import EmbeddedBackend  # noqa: PLC0415
    from api.http.neo4j_backend import Neo4jBackend  # noqa: PLC0415

    if settings.backend == "embedded":
        if settings.snapshot is None:
            raise DeputyError("--backend embedded needs --snapshot DIR, the snapshot folder to serve")
        return EmbeddedBackend.load(settings.snapshot, config=settings.config)
    # Sensitivity rules (config) are applied when a build is written.
    return Neo4jBackend.connect(settings.neo4j or Neo4jSettings.from_environment(), snapshot=settings.snapshot)


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status_code)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Return each validation error's location, message and type, without the submitted value.

    FastAPI's default handler also returns `input` and `ctx`, which repeat what the client
    sent: a secret pasted into the wrong field, or a value as large as the body. The list
    still matches FastAPI's `HTTPValidationError` schema, in which both are optional.
    """
    return [
        {"loc": [_location_part(part) for part in item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]


def _location_part(part: str | int) -> str | int:
    if isinstance(part, str) and len(part) > MAX_LOCATION_PART:
        return part[:MAX_LOCATION_PART] + "..."
    return part


async def _tag_and_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Give each request an id, log it once, and turn an unhandled error into a plain 500."""
    request_id = uuid.uuid4().hex
    request.state.request_id = request_id
    started = time.perf_counter()
    try:
        response = await _guarded(request, call_next)
    except Exception:
        # The outermost handler: the client gets no traceback, the log gets all of it.
        logger.exception("request %s %s %s failed", request_id, request.method, request.url.path)
        response = JSONResponse(
            {"detail": "internal server error; quote the request id when you report it", "request_id": request_id},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.headers[REQUEST_ID_HEADER] = request_id
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "request %s %s %s -> %s in %.1f ms",
        request_id,
        request.method,
        request.url.path,
        response.status_code,
        elapsed_ms,
    )
    return response


async def _guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Reject a body declared larger than MAX_BODY_BYTES with 413; pass other requests on."""
    # NOTE: a chunked body declares no length, so it is read whole before the models bound it.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _error(
            status.HTTP_413_CONTENT_TOO_LARGE, f"the request body is larger than {MAX_BODY_BYTES} bytes; send less"
        )
    return await call_next(request)


def create_app(
    settings: ServeSettings, backend: Backend | None = None, *, rebuild_source: RebuildSource | None = None
) -> FastAPI:
    """Build the application; open the backend the settings name unless one is given.

    Rebuilds read `rebuild_source`, by default the snapshot folder and collector of the settings.

    Raises engine.errors.UsageError when no API key is configured, and DeputyError when
    the snapshot cannot be read or Neo4j cannot be reached.
    """
    keys = KeyStore(settings.api_keys)
    if backend is None:
        backend = open_backend(settings)
    source = rebuild_source or settings.rebuild_source()
    rebuilder = None if source is None else Rebuilder(backend, source, keep=settings.keep_builds)
    schedule = None
    if rebuilder is not None and settings.rebuild_every is not None:
        # A Neo4j database without a current build gets its first build at once.
        schedule = Schedule(rebuilder, settings.rebuild_every, first_at_once=backend.readiness() is not None)
    executor = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="deputy-request")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info("serving the %s backend", backend.name)
        if schedule is not None:
            schedule.start()
        yield
        # A rebuild stopped half-way would leave a running build, so the running one finishes first.
        if schedule is not None:
            schedule.stop()
        if rebuilder is not None:
            rebuilder.wait()
        executor.shutdown(wait=False, cancel_futures=True)
        backend.close()
        logger.info("stopped the %s backend", backend.name)

    app = FastAPI(
        title="deputygraph",
        summary="Confused-deputy paths through Amazon Bedrock agents.",
        description=(
            "Every endpoint under /v1 needs `Authorization: Bearer KEY` with a key from DEPUTY_API_KEYS. "
            "POST /v1/builds needs a key with the admin scope. "
            "ARNs in paths are URL-encoded. Lists are paginated with `limit` and `offset`; "
            "follow `next_offset` until it is null. "
            "Graph responses name the build they were read from in the X-Deputy-Build header."
        ),
        version="1",
        lifespan=lifespan,
        # The schema and the docs describe what an attacker would map first, so they are
        # served by the routes below, behind an API key, instead of FastAPI's open ones.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.backend = backend
    app.state.executor = executor
    app.state.rebuilder = rebuilder

    app.add_middleware(BaseHTTPMiddleware, dispatch=_tag_and_guard)
    _add_error_handlers(app)

    app.include_router(health.router)
    read = [Depends(require_read)]
    app.include_router(graph.router, dependencies=read)
    app.include_router(decisions.router, dependencies=read)
    app.include_router(builds.router, dependencies=read)
    app.include_router(findings.router, dependencies=read)
    app.include_router(builds.admin_router)
    _add_schema_routes(app)
    return app


def _add_schema_routes(app: FastAPI) -> None:
    """Serve /openapi.json and /docs to holders of a read key."""
    read = [Depends(require_read)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=read)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=read)
    async def docs() -> HTMLResponse:
        # The page embeds the schema, because the browser's fetch of /openapi.json would
        # carry no API key. "Authorize" on the page sets the key for "Try it out".
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="deputygraph API",
            swagger_ui_parameters={"spec": app.openapi()},
        )


def _add_error_handlers(app: FastAPI) -> None:
    async def not_found(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_404_NOT_FOUND, str(error))

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_400_BAD_REQUEST, str(error))

    async def unprocessable(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse({"detail": _validation_errors(error)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def not_supported(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_501_NOT_IMPLEMENTED, str(error))

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        logger.warning("request %s: %s", request.state.request_id, error)
        return _error(status.HTTP_503_SERVICE_UNAVAILABLE, str(error))

    async def conflict(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_409_CONFLICT, str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
            return await http_exception_handler(request, error)
        # Starlette's Allow names the methods of the first route on the path only. GET and
        # POST /v1/builds are two routes, so every method is tried against every route.
        allowed = {
            method
            for method in HTTP_METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in app.router.routes)
        }
        return JSONResponse(
            {"detail": "Method Not Allowed"},
            status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
            headers={"Allow": ", ".join(sorted(allowed))},
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, unprocessable)
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(InvalidRequestError, invalid)
    app.add_exception_handler(NotSupportedError, not_supported)
    app.add_exception_handler(BackendUnavailableError, unavailable)
    app.add_exception_handler(BuildRunningError, conflict)
    app.add_exception_handler(BuildConflictError, conflict)
