"""The graph builds: their history, one build, the difference between two, and rebuild triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from api.http.auth import require_admin
from api.http.backends import BuildConflictError, NotFoundError, NotSupportedError
from api.http.models import AttackPathKey, Build, BuildDiff, BuildStarted, Page, ReachGrowth, TargetAccess
from api.http.routes import Limit, Offset, backend_of, error_responses, run_blocking
from api.rebuild import Rebuilder
from queries.build_summary import diff
from queries.builds import SUCCEEDED

router = APIRouter(prefix="/v1", tags=["builds"], responses=error_responses(401, 503))
admin_router = APIRouter(prefix="/v1", tags=["builds"], responses=error_responses(401, 403, 409, 501, 503))

BUILD_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
BUILD_ID_DESCRIPTION = "build id as GET /v1/builds lists it, such as 20261204T230000Z-1a2b3c4d"
BuildId = Annotated[str, Path(pattern=BUILD_ID_PATTERN, max_length=64, description=BUILD_ID_DESCRIPTION)]


@router.get("/builds", response_model=Page[Build])
async def builds(request: Request, limit: Limit = 100, offset: Offset = 0) -> Page[Build]:
    """Return the builds newest first, with their status, counts and, for a failed build, its cause."""
    backend = backend_of(request)
    return await run_blocking(request, lambda: backend.builds(offset=offset, limit=limit))


@router.get("/builds/diff", response_model=BuildDiff, responses=error_responses(404, 409))
async def build_diff(
    request: Request,
    from_build: Annotated[
        str | None,
        Query(alias="from", pattern=BUILD_ID_PATTERN, max_length=64, description="the older build"),
    ] = None,
    to_build: Annotated[
        str | None,
        Query(alias="to", pattern=BUILD_ID_PATTERN, max_length=64, description="the newer build"),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> BuildDiff:
    """Compare two kept builds: confused-deputy paths added and removed, and principals whose reach grew.

    `to` defaults to the current build and `from` to the newest succeeded build that started
    before it. Only succeeded builds that are still kept can be compared (409 otherwise).
    """
    backend = backend_of(request)
    newer_origin = "query parameter to" if to_build else "the current build (the default of to)"
    older_origin = "query parameter from" if from_build else "the build before to (the default of from)"

    def work() -> BuildDiff:
        newer = to_build or _current(request)
        with _naming(newer_origin):
            older = from_build or _previous(request, newer)
            newer_summary = backend.summary(newer)
        with _naming(older_origin):
            older_summary = backend.summary(older)
        changes = diff(older_summary, newer_summary)
        lists = (changes.paths_added, changes.paths_removed, changes.reach_grew)
        following = offset + limit
        end = slice(offset, following)
        return BuildDiff(
            from_build=older,
            to_build=newer,
            paths_added=[AttackPathKey(invoker=i, target=t, access=a) for i, t, a in changes.paths_added[end]],
            paths_added_total=len(changes.paths_added),
            paths_removed=[AttackPathKey(invoker=i, target=t, access=a) for i, t, a in changes.paths_removed[end]],
            paths_removed_total=len(changes.paths_removed),
            reach_grew=[
                ReachGrowth(principal=g.principal, added=[TargetAccess(target=t, access=a) for t, a in g.added])
                for g in changes.reach_grew[end]
            ],
            reach_grew_total=len(changes.reach_grew),
            offset=offset,
            limit=limit,
            next_offset=following if any(len(items) > following for items in lists) else None,
        )

    return await run_blocking(request, work)


@contextmanager
def _naming(origin: str) -> Iterator[None]:
    """Start the message of a 404 or 409 about a build with where its id came from."""
    try:
        yield
    except (NotFoundError, BuildConflictError) as error:
        raise type(error)(f"{origin}: {error}") from error


def _current(request: Request) -> str:
    return backend_of(request).view().build_id


def _previous(request: Request, newer: str) -> str:
    """Find the newest succeeded build that started before `newer`; raise 409 when there is none."""
    backend = backend_of(request)
    started = backend.build(newer).started_at
    page = backend.builds(offset=0, limit=1_000_000)
    for record in page.items:
        if record.status == SUCCEEDED and record.started_at < started:
            return record.build
    raise HTTPException(
        status.HTTP_409_CONFLICT,
        f"no succeeded build started before {newer}; run a rebuild, then compare, or name both builds",
    )


@router.get("/builds/{build_id}", response_model=Build, responses=error_responses(404))
async def build(request: Request, build_id: BuildId) -> Build:
    """Return one build: its status, counts and, for a failed build, its cause."""
    backend = backend_of(request)

    def work() -> Build:
        with _naming("the build id in the URL path"):
            return backend.build(build_id)

    return await run_blocking(request, work)


@admin_router.post(
    "/builds",
    response_model=BuildStarted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_admin)],
)
async def trigger_rebuild(request: Request, response: Response) -> BuildStarted:
    """Start a rebuild in the background (admin key); 409 while another rebuild runs.

    The new build becomes current only if it succeeds; follow it at /v1/builds/{build}.
    """
    rebuilder: Rebuilder | None = request.app.state.rebuilder
    if rebuilder is None:
        raise NotSupportedError(
            "this service has no rebuild source; start deputy serve with --snapshot DIR to enable rebuilds"
        )
    build_id = await run_blocking(request, rebuilder.start)
    response.headers["Location"] = f"/v1/builds/{build_id}"
    return BuildStarted(build=build_id, status="running")
