"""One policy decision, like `deputy check`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.http.models import Decision, DecisionRequest
from api.http.routes import error_responses, read_view

router = APIRouter(prefix="/v1", tags=["decisions"], responses=error_responses(400, 401, 413, 501, 503))


@router.post("/decisions", response_model=Decision)
async def decide(request: Request, response: Response, body: DecisionRequest) -> Decision:
    """Evaluate one request with every policy AWS would consult: allow, deny or conditional."""
    return await read_view(request, response, lambda view: view.decide(body))
