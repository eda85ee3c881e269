"""Liveness and readiness probes; they need no API key."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from api.http.models import Health
from api.http.routes import backend_of, run_blocking

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    """Report that the process is up."""
    return Health(status="ok", backend=backend_of(request).name)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(request: Request) -> Health | JSONResponse:
    """Report whether the graph is loaded and the backend responds (503 with the reason if not)."""
    backend = backend_of(request)
    problem = await run_blocking(request, backend.readiness)
    if problem is None:
        return Health(status="ok", backend=backend.name)
    body = Health(status="unavailable", backend=backend.name, detail=problem)
    return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
