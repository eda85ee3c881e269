"""Blast radius, paths and confused-deputy paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.http.models import Page, PathResult
from api.http.routes import (
    Limit,
    Offset,
    backend_of,
    check_arn,
    check_node_id,
    require_label,
    run_blocking,
)
from engine.model import Label

router = APIRouter(prefix="/v1", tags=["graph"])

SensitiveOnly = Annotated[bool, Query(description="only resources marked sensitive")]


@router.get("/principals/{arn:path}/blast-radius", response_model=Page[PathResult])
async def principal_blast_radius(
    request: Request, arn: str, sensitive_only: SensitiveOnly = True, limit: Limit = 100, offset: Offset = 0
) -> Page[PathResult]:
    """Return every resource a user or role reaches, with the path that explains each (ARN URL-encoded)."""
    check_arn(arn, "principal ARN")
    backend = backend_of(request)

    def work() -> Page[PathResult]:
        require_label(request, arn, {Label.USER, Label.ROLE}, "user or role")
        return backend.principal_blast_radius(arn, sensitive_only=sensitive_only, offset=offset, limit=limit)

    return await run_blocking(request, work)


@router.get("/agents/{arn:path}/blast-radius", response_model=Page[PathResult])
async def agent_blast_radius(
    request: Request, arn: str, sensitive_only: SensitiveOnly = True, limit: Limit = 100, offset: Offset = 0
) -> Page[PathResult]:
    """Return every resource that invoking one of an agent's aliases reaches (agent ARN URL-encoded)."""
    check_arn(arn, "agent ARN")
    backend = backend_of(request)

    def work() -> Page[PathResult]:
        require_label(request, arn, {Label.BEDROCK_AGENT}, "Bedrock agent")
        return backend.agent_blast_radius(arn, sensitive_only=sensitive_only, offset=offset, limit=limit)

    return await run_blocking(request, work)


@router.get("/paths", response_model=Page[PathResult])
async def paths(
    request: Request,
    source: Annotated[str, Query(alias="from", description="ARN of the user or role where paths start")],
    target: Annotated[
        str | None,
        Query(alias="to", description="ARN (or VpcApi id) of the node where paths end; default every resource"),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[PathResult]:
    """Return the paths from a principal to one node (one per access kind), or to every resource it reaches."""
    check_arn(source, "from")
    if target is not None:
        check_node_id(target, "to")
    backend = backend_of(request)

    def work() -> Page[PathResult]:
        require_label(request, source, {Label.USER, Label.ROLE}, "user or role")
        if target is not None:
            require_label(request, target, set(), "node")
        return backend.paths(source, target, offset=offset, limit=limit)

    return await run_blocking(request, work)


@router.get("/confused-deputy-paths", response_model=Page[PathResult])
async def confused_deputy_paths(
    request: Request,
    *,
    invoker: Annotated[str, Query(description="ARN of one invoking user or role; empty for every invoker")] = "",
    agent: Annotated[str, Query(description="ARN of one agent; empty for every agent")] = "",
    resource: Annotated[str, Query(description="ARN (or VpcApi id) of one resource; empty for every resource")] = "",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[PathResult]:
    """Return the paths through an agent to sensitive resources that the invoker could not reach on its own."""
    if invoker:
        check_arn(invoker, "invoker")
    if agent:
        check_arn(agent, "agent")
    if resource:
        check_node_id(resource, "resource")
    backend = backend_of(request)

    def work() -> Page[PathResult]:
        if invoker:
            require_label(request, invoker, {Label.USER, Label.ROLE}, "user or role")
        if agent:
            require_label(request, agent, {Label.BEDROCK_AGENT}, "Bedrock agent")
        if resource:
            require_label(request, resource, set(), "resource")
        return backend.confused_deputy_paths(
            invoker=invoker, agent=agent, resource=resource, offset=offset, limit=limit
        )

    return await run_blocking(request, work)
