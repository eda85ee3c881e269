"""The graph builds that the service reads."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.http.models import Build, Page
from api.http.routes import Limit, Offset, backend_of, run_blocking

router = APIRouter(prefix="/v1", tags=["builds"])


@router.get("/builds", response_model=Page[Build])
async def builds(request: Request, limit: Limit = 100, offset: Offset = 0) -> Page[Build]:
    """Return the builds newest first: every build in Neo4j, or the one build the embedded backend loaded."""
    backend = backend_of(request)
    return await run_blocking(request, lambda: backend.builds(offset=offset, limit=limit))
