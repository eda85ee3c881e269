"""The FastAPI application of `deputy serve`: settings, middleware, error mapping and routers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

from api.http.auth import ApiKey, KeyStore, require_read
from api.http.backends import (
    Backend,
    BackendUnavailableError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    open_backend,
)
from api.http.routes import builds, decisions, findings, graph, health
from queries.store import Neo4jSettings

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"


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


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status_code)


async def _tag_and_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Give each request an id, log it once, and turn an unhandled error into a plain 500."""
    request_id = uuid.uuid4().hex
    request.state.request_id = request_id
    started = time.perf_counter()
    try:
        response = await call_next(request)
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


def create_app(settings: ServeSettings, backend: Backend | None = None) -> FastAPI:
    """Build the application; open the backend the settings name unless one is given.

    Raises engine.errors.UsageError when no API key is configured, and DeputyError when
    the snapshot cannot be read or Neo4j cannot be reached.
    """
    keys = KeyStore(settings.api_keys)
    if backend is None:
        backend = open_backend(
            settings.backend, snapshot=settings.snapshot, config=settings.config, neo4j=settings.neo4j
        )
    executor = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="deputy-request")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info("serving the %s backend", backend.name)
        yield
        executor.shutdown(wait=False, cancel_futures=True)
        backend.close()
        logger.info("stopped the %s backend", backend.name)

    app = FastAPI(
        title="deputygraph",
        summary="Confused-deputy paths through Amazon Bedrock agents.",
        description=(
            "Every endpoint under /v1 needs `Authorization: Bearer KEY` with a key from DEPUTY_API_KEYS. "
            "ARNs in paths are URL-encoded. Lists are paginated with `limit` and `offset`; "
            "follow `next_offset` until it is null."
        ),
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.backend = backend
    app.state.executor = executor

    app.add_middleware(BaseHTTPMiddleware, dispatch=_tag_and_guard)
    _add_error_handlers(app)

    app.include_router(health.router)
    read = [Depends(require_read)]
    app.include_router(graph.router, dependencies=read)
    app.include_router(decisions.router, dependencies=read)
    app.include_router(builds.router, dependencies=read)
    app.include_router(findings.router, dependencies=read)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def not_found(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_404_NOT_FOUND, str(error))

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_400_BAD_REQUEST, str(error))

    async def not_supported(_: Request, error: Exception) -> JSONResponse:
        return _error(status.HTTP_501_NOT_IMPLEMENTED, str(error))

    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        logger.warning("request %s: %s", request.state.request_id, error)
        return _error(status.HTTP_503_SERVICE_UNAVAILABLE, str(error))

    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(InvalidRequestError, invalid)
    app.add_exception_handler(NotSupportedError, not_supported)
    app.add_exception_handler(BackendUnavailableError, unavailable)
