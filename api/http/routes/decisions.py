"""One policy decision, like `deputy check`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.http.models import Decision, DecisionRequest
from api.http.routes import backend_of, run_blocking

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.post("/decisions", response_model=Decision)
async def decide(request: Request, body: DecisionRequest) -> Decision:
    """Evaluate one request with every policy AWS would consult: allow, deny or conditional."""
    backend = backend_of(request)
    return await run_blocking(request, lambda: backend.decide(body))
