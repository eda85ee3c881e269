"""Thin routers and the helpers they share: ARN checks, paging parameters and the request deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import HTTPException, Query, Request, Response, status

from api.http.backends import Backend, BuildConflictError, GraphView, NotFoundError
from api.http.models import ErrorBody, Page, PathResult, PrincipalPage, ResolvedSession
from engine.arn import is_arn, parse_role_session
from engine.model import Label
from engine.principals import session_note

MAX_ID_LENGTH = 2048
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
BUILD_HEADER = "X-Deputy-Build"  # the build a response was read from

# The shapes check_arn and check_node_id accept, stated in the schema for clients and
# generated tests. The routes check values themselves, so a mismatch is a 400 with the reason.
ARN_PATTERN = r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:.*$"
NODE_ID_PATTERN = r"^(arn:[^:]+:[^:]+:[^:]*:[^:]*:.*|vpc-api:[^:]*:[^:]*:[^:]*:[^:]*)$"
ARN_SCHEMA = {"pattern": ARN_PATTERN, "maxLength": MAX_ID_LENGTH}
NODE_ID_SCHEMA = {"pattern": NODE_ID_PATTERN, "maxLength": MAX_ID_LENGTH}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error statuses a router returns, each with the {"detail": ...} body."""
    meanings = {
        400: "a value is invalid; detail names it",
        401: "missing or invalid API key",
        403: "the API key lacks the admin scope",
        404: "the node or build is not there",
        409: "a rebuild is running, or the builds cannot be compared",
        413: "the request body is too large",
        501: "the service is not configured for this request",
        503: "the graph store is unavailable, or the request timed out",
    }
    return {code: {"model": ErrorBody, "description": meanings[code]} for code in codes}


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="maximum number of items in the page")]
Offset = Annotated[int, Query(ge=0, description="index of the first item, from next_offset of the previous page")]

Result = TypeVar("Result")


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


@dataclass(frozen=True, slots=True)
class RequestValue:
    """The place in a request that carries a value, a query parameter or a URL path segment, as errors name it."""

    name: str  # the query parameter, or a description of the path segment such as "principal ARN"
    in_path: bool = False

    def __str__(self) -> str:
        return f"the {self.name} in the URL path" if self.in_path else f"query parameter {self.name}"


def check_arn(value: str, where: RequestValue) -> str:
    """Reject a value that is not an ARN with 400, naming where it came from but not repeating the value."""
    if len(value) > MAX_ID_LENGTH:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{where} is longer than {MAX_ID_LENGTH} characters, the maximum length of an ARN here",
        )
    if is_arn(value):
        return value
    form = "arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
    fix = f"put the ARN ({form}) in the path URL-encoded" if where.in_path else f"give an ARN of the form {form}"
    raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{where} is not an ARN; {fix}")


def check_node_id(value: str, where: RequestValue) -> str:
    """Like check_arn, but also accept the `vpc-api:ACCOUNT:REGION:SERVICE:ACTION` ids of VpcApi nodes."""
    parts = value.split(":")
    if value.startswith("vpc-api:") and len(parts) == 5 and len(value) <= MAX_ID_LENGTH:
        return value
    if len(value) <= MAX_ID_LENGTH and not is_arn(value):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{where} is not an ARN; give an ARN of the form arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, "
            "or the id of a VpcApi node, vpc-api:ACCOUNT:REGION:SERVICE:ACTION",
        )
    return check_arn(value, where)


def require_label(view: GraphView, node_id: str, labels: set[str], what: str, where: RequestValue) -> None:
    """Raise 404 when the node is not in the build or has none of the labels.

    The message repeats the node id, which has passed check_arn or check_node_id.
    """
    label = view.node_label(node_id)
    if label is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{where}: {what} {node_id} is not in the graph")
    if labels and label not in labels:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{where}: {node_id} is a {label}, not a {what}")


def principal_page(
    request: Request, view: GraphView, principal: str, page: Page[PathResult], session: ResolvedSession | None
) -> PrincipalPage:
    """Add the resolved session, if any, and the notes of what the build could not see to a page of paths."""
    try:
        not_seen = backend_of(request).summary(view.build_id).not_seen(principal)
    except (NotFoundError, BuildConflictError):
        not_seen = []  # a build without a summary keeps no notes
    return PrincipalPage(
        items=page.items,
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        next_offset=page.next_offset,
        session=session,
        not_seen=not_seen,
    )


def resolve_principal(view: GraphView, arn: str, where: RequestValue) -> tuple[str, ResolvedSession | None]:
    """Return the user or role where paths from `arn` start, and the session when `arn` is a role session.

    A session acts with its role's permissions, so its paths are the role's. Raise 404 when
    neither the principal nor the session's role is in the build.
    """
    session = parse_role_session(arn)
    if session is None:
        require_label(view, arn, {Label.USER, Label.ROLE}, "user or role", where)
        return arn, None
    role = view.role_arn(session.account, session.role_name)
    if role is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"{where}: {arn} is a session of role {session.role_name}, "
            f"and no role of that name in account {session.account} is in the graph",
        )
    return role, ResolvedSession(arn=arn, role=role, note=session_note(arn, role))


async def read_view(request: Request, response: Response, work: Callable[[GraphView], Result]) -> Result:
    """Run `work` on the current build's view in the worker pool, and name that build in a header."""
    backend = backend_of(request)
    used: list[str] = []

    def pinned() -> Result:
        view = backend.view()
        used.append(view.build_id)
        return work(view)

    result = await run_blocking(request, pinned)
    response.headers[BUILD_HEADER] = used[0]
    return result


async def run_blocking(request: Request, work: Callable[[], Result]) -> Result:
    """Run blocking graph work in the worker pool; raise 503 when it misses the request deadline.

    NOTE: a thread cannot be stopped, so work that misses the deadline keeps its worker
    until it ends. The pool's size bounds how many such threads can pile up.
    """
    settings = request.app.state.settings
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(request.app.state.executor, work)
    try:
        return await asyncio.wait_for(future, timeout=settings.request_timeout)
    except TimeoutError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the request timed out after {settings.request_timeout:g} seconds; narrow it or try again later",
        ) from error
