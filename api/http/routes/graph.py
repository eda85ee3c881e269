"""Blast radius, paths and confused-deputy paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from api.http.backends import GraphView
from api.http.models import Page, PathResult, PrincipalPage
from api.http.routes import (
    ARN_SCHEMA,
    NODE_ID_SCHEMA,
    Limit,
    Offset,
    RequestValue,
    check_arn,
    check_node_id,
    error_responses,
    principal_page,
    read_view,
    require_label,
    resolve_principal,
)
from engine.arn import parse_role_session
from engine.model import Label

router = APIRouter(prefix="/v1", tags=["graph"], responses=error_responses(400, 401, 404, 503))

OPTIONAL_ARN = {**ARN_SCHEMA, "pattern": f"^$|{ARN_SCHEMA['pattern']}"}
OPTIONAL_NODE_ID = {**NODE_ID_SCHEMA, "pattern": f"^$|{NODE_ID_SCHEMA['pattern']}"}
SensitiveOnly = Annotated[bool, Query(description="only resources marked sensitive")]

PRINCIPAL_IN_PATH = RequestValue("principal ARN", in_path=True)
AGENT_IN_PATH = RequestValue("agent ARN", in_path=True)
FROM_QUERY = RequestValue("from")
TO_QUERY = RequestValue("to")
INVOKER_QUERY = RequestValue("invoker")
AGENT_QUERY = RequestValue("agent")
RESOURCE_QUERY = RequestValue("resource")


@router.get("/principals/{arn:path}/blast-radius", response_model=PrincipalPage)
async def principal_blast_radius(
    request: Request,
    response: Response,
    arn: Annotated[
        str,
        Path(description="user, role or assumed-role session ARN, URL-encoded", json_schema_extra=ARN_SCHEMA),
    ],
    *,
    sensitive_only: SensitiveOnly = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PrincipalPage:
    """Return every resource a user or role reaches, with the path that explains each (ARN URL-encoded).

    For an assumed-role session ARN the paths are those of the session's role, and `session` names the role.
    """
    check_arn(arn, PRINCIPAL_IN_PATH)

    def work(view: GraphView) -> PrincipalPage:
        principal, session = resolve_principal(view, arn, PRINCIPAL_IN_PATH)
        page = view.principal_blast_radius(principal, sensitive_only=sensitive_only, offset=offset, limit=limit)
        return principal_page(request, view, principal, page, session)

    return await read_view(request, response, work)


@router.get("/agents/{arn:path}/blast-radius", response_model=Page[PathResult])
async def agent_blast_radius(
    request: Request,
    response: Response,
    arn: Annotated[str, Path(description="Bedrock agent ARN, URL-encoded", json_schema_extra=ARN_SCHEMA)],
    *,
    sensitive_only: SensitiveOnly = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[PathResult]:
    """Return every resource that invoking one of an agent's aliases reaches (agent ARN URL-encoded)."""
    check_arn(arn, AGENT_IN_PATH)

    def work(view: GraphView) -> Page[PathResult]:
        require_label(view, arn, {Label.BEDROCK_AGENT}, "Bedrock agent", AGENT_IN_PATH)
        return view.agent_blast_radius(arn, sensitive_only=sensitive_only, offset=offset, limit=limit)

    return await read_view(request, response, work)


@router.get("/paths", response_model=PrincipalPage)
async def paths(
    request: Request,
    response: Response,
    *,
    source: Annotated[
        str,
        Query(
            alias="from",
            description="ARN of the user or role where paths start; for an assumed-role session ARN, its role",
            json_schema_extra=ARN_SCHEMA,
        ),
    ],
    target: Annotated[
        str | None,
        Query(
            alias="to",
            description="ARN (or VpcApi id) of the node where paths end; default every resource",
            json_schema_extra=NODE_ID_SCHEMA,
        ),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PrincipalPage:
    """Return the paths from a principal to one node (one per access kind), or to every resource it reaches."""
    check_arn(source, FROM_QUERY)
    if target is not None:
        check_node_id(target, TO_QUERY)

    def work(view: GraphView) -> PrincipalPage:
        principal, session = resolve_principal(view, source, FROM_QUERY)
        if target is not None:
            require_label(view, target, set(), "node", TO_QUERY)
        page = view.paths(principal, target, offset=offset, limit=limit)
        return principal_page(request, view, principal, page, session)

    return await read_view(request, response, work)


@router.get("/confused-deputy-paths", response_model=Page[PathResult])
async def confused_deputy_paths(
    request: Request,
    response: Response,
    *,
    invoker: Annotated[
        str,
        Query(description="ARN of one invoking user or role; empty for every invoker", json_schema_extra=OPTIONAL_ARN),
    ] = "",
    agent: Annotated[
        str, Query(description="ARN of one agent; empty for every agent", json_schema_extra=OPTIONAL_ARN)
    ] = "",
    resource: Annotated[
        str,
        Query(
            description="ARN (or VpcApi id) of one resource; empty for every resource",
            json_schema_extra=OPTIONAL_NODE_ID,
        ),
    ] = "",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[PathResult]:
    """Return the paths through an agent to sensitive resources that the invoker could not reach on its own."""
    if invoker:
        check_arn(invoker, INVOKER_QUERY)
    if agent:
        check_arn(agent, AGENT_QUERY)
    if resource:
        check_node_id(resource, RESOURCE_QUERY)

    def work(view: GraphView) -> Page[PathResult]:
        if invoker:
            require_invoker(view, invoker)
        if agent:
            require_label(view, agent, {Label.BEDROCK_AGENT}, "Bedrock agent", AGENT_QUERY)
        if resource:
            require_label(view, resource, set(), "resource", RESOURCE_QUERY)
        return view.confused_deputy_paths(invoker=invoker, agent=agent, resource=resource, offset=offset, limit=limit)

    return await read_view(request, response, work)


def require_invoker(view: GraphView, invoker: str) -> None:
    """Raise 404 unless the invoker is a user or role. For a role session, the message names its role.

    Unlike the blast radius, this filter does not use the role in place of the session,
    because the response has no field that would state the substitution.
    """
    session = parse_role_session(invoker)
    role = None if session is None else view.role_arn(session.account, session.role_name)
    if role is not None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"{INVOKER_QUERY}: {invoker} is an assumed-role session, and paths start at roles; "
            f"give its role's ARN, {role}",
        )
    require_label(view, invoker, {Label.USER, Label.ROLE}, "user or role", INVOKER_QUERY)
