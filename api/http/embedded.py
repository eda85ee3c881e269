"""The embedded backend: builds of a snapshot's networkx graph, held in memory.

A rebuild builds the new graph beside the current one while requests keep reading the
current one, then replaces the reference to the current `EmbeddedView` under a lock. The
new view keeps the drift rows of the build it replaces, so that `GET /v1/findings` can
report drift (DG011) since that build, as the Neo4j backend does. A
request takes that reference once, so it reads one build from start to end. Builds beyond
the retained number keep their record and lose their graph and summary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from api.http.backends import BuildConflictError, DecisionEngine, NotFoundError, page_of
from api.http.models import Build, Decision, DecisionRequest, Page, PathEdge, PathNode, PathResult
from engine.findings import Rows, rows_from_graph
from engine.graph import DeputyGraph, build_graph
from engine.model import Label
from engine.paths import Reach, blast_radius, invokers, paths_between, reach_from
from engine.sensitivity import load_sensitivity
from ingest.snapshot import load_snapshot
from queries.build_summary import BuildSummary, summarize
from queries.builds import FAILED, MAX_ERROR_LENGTH, REMOVED, RUNNING, SUCCEEDED, new_build_id, utc_now
from queries.store import BuildRunningError

logger = logging.getLogger(__name__)

MAX_HISTORY = 1000  # build records kept in memory, newest first


@dataclass(frozen=True, slots=True)
class PreviousBuild:
    """The build that was current before a view's build, kept as its drift rows for DG011."""

    build_id: str
    drift_rows: Rows


class EmbeddedView:
    """The graph of one embedded build, which no request changes."""

    def __init__(self, build_id: str, deputy: DeputyGraph, previous: PreviousBuild | None = None) -> None:
        self.build_id = build_id
        self.deputy = deputy
        self.previous = previous
        # Kept so that the next build can report drift after this graph is gone.
        self.drift_rows: Rows = rows_from_graph(deputy)
        self._decisions = DecisionEngine(deputy.snapshot)

    def node_label(self, node_id: str) -> str | None:
        data = self.deputy.graph.nodes.get(node_id)
        return None if data is None else str(data["label"])

    def role_arn(self, account: str, name: str) -> str | None:
        return self.deputy.role_arn(account, name)

    def _result(self, reach: Reach, *, start: str | None = None, agent_radius: bool = False) -> PathResult:
        graph = self.deputy.graph
        nodes = [
            PathNode(arn=node, label=str(graph.nodes[node]["label"]), name=graph.nodes[node].get("name"))
            for node in reach.nodes
        ]
        edges = [
            PathEdge(
                type=str(step.rel),
                source=step.source,
                target=step.target,
                reason=step.properties.get("reason"),
                conditional=bool(step.properties.get("conditional")),
                potential=step.properties.get("potential"),
                statement_refs=[f"{s['policy']}#{s['statement_index']}" for s in step.properties.get("statements", [])],
            )
            for step in reach.steps
        ]
        return PathResult(
            start=start or reach.principal,
            target=reach.target,
            target_label=str(graph.nodes[reach.target]["label"]),
            access=reach.access,
            weak=reach.weak,
            conditional=reach.conditional,
            potential=reach.potential,
            through_agent=True if agent_radius else reach.through_agent,
            confused_deputy=None if agent_radius else reach.confused_deputy,
            hops=len(reach.steps),
            nodes=nodes,
            edges=edges,
        )

    def principal_blast_radius(
        self, principal: str, *, sensitive_only: bool, offset: int, limit: int
    ) -> Page[PathResult]:
        reaches = sorted(blast_radius(self.deputy, principal, sensitive_only=sensitive_only), key=_reach_key)
        return _lazy_page(reaches, offset=offset, limit=limit, convert=self._result)

    def agent_blast_radius(self, agent: str, *, sensitive_only: bool, offset: int, limit: int) -> Page[PathResult]:
        graph = self.deputy.graph
        found: list[tuple[str, Reach]] = []
        for node, data in sorted(graph.nodes(data=True)):
            if data["label"] != Label.AGENT_ALIAS or data.get("agent") != agent:
                continue
            for reach in reach_from(self.deputy, node):
                if sensitive_only and not graph.nodes[reach.target].get("sensitive"):
                    continue
                found.append((node, reach))
        found.sort(key=lambda entry: (entry[0], *_reach_key(entry[1])))
        return _lazy_page(
            found,
            offset=offset,
            limit=limit,
            convert=lambda entry: self._result(entry[1], start=entry[0], agent_radius=True),
        )

    def paths(self, source: str, target: str | None, *, offset: int, limit: int) -> Page[PathResult]:
        reaches = sorted(paths_between(self.deputy, source, target), key=_reach_key)
        return _lazy_page(reaches, offset=offset, limit=limit, convert=self._result)

    def confused_deputy_paths(
        self, *, invoker: str, agent: str, resource: str, offset: int, limit: int
    ) -> Page[PathResult]:
        graph = self.deputy.graph
        found: list[Reach] = []
        for principal in invokers(self.deputy):
            if invoker and principal != invoker:
                continue
            for reach in blast_radius(self.deputy, principal, via_agent=agent or None):
                if not reach.confused_deputy or (resource and reach.target != resource):
                    continue
                versions = [node for node in reach.nodes if graph.nodes[node]["label"] == Label.AGENT_VERSION]
                if agent and agent not in {graph.nodes[node].get("agent") for node in versions}:
                    continue
                found.append(reach)
        found.sort(key=lambda reach: (reach.principal, *_reach_key(reach)))
        return _lazy_page(found, offset=offset, limit=limit, convert=self._result)

    def decide(self, request: DecisionRequest) -> Decision:
        return self._decisions.decide(request)


def _reach_key(reach: Reach) -> tuple[str, str]:
    return (reach.target, reach.access)


Source = TypeVar("Source")


def _lazy_page(
    items: Sequence[Source], *, offset: int, limit: int, convert: Callable[[Source], PathResult]
) -> Page[PathResult]:
    """Slice one page and convert only its items to response models."""
    page = page_of(items, offset=offset, limit=limit)
    return Page[PathResult](
        items=[convert(item) for item in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        next_offset=page.next_offset,
    )


@dataclass(slots=True)
class _Entry:
    """One build's record, with the summary a succeeded build keeps until it is removed."""

    build: Build
    summary: BuildSummary | None = None


class EmbeddedBackend:
    """Builds of one snapshot folder's graph in memory, the newest succeeded one current."""

    name = "embedded"

    def __init__(self, view: EmbeddedView, record: Build, summary: BuildSummary) -> None:
        self._lock = threading.Lock()  # guards _current and _history
        self._current = view
        self._history: list[_Entry] = [_Entry(record, summary)]

    @classmethod
    def load(cls, snapshot: str, *, config: str | None = None) -> EmbeddedBackend:
        """Read a snapshot and build its graph as the first build; raise DeputyError naming the file at fault."""
        build_id = new_build_id()
        started = utc_now()
        deputy = build_graph(load_snapshot(snapshot), load_sensitivity(config))
        summary = summarize(deputy)
        record = _succeeded(build_id, deputy, started=started, attack_paths=len(summary.attack_paths))
        logger.info(
            "loaded %s as build %s: %s nodes, %s relationships",
            record.snapshot,
            build_id,
            record.nodes,
            record.relationships,
        )
        return cls(EmbeddedView(build_id, deputy), record, summary)

    @property
    def deputy(self) -> DeputyGraph:
        """The current build's graph."""
        return self._current.deputy

    def readiness(self) -> str | None:
        return None

    def view(self) -> EmbeddedView:
        with self._lock:
            return self._current

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        with self._lock:
            records = [self._with_current(entry.build) for entry in self._history]
        return page_of(records, offset=offset, limit=limit)

    def build(self, build_id: str) -> Build:
        with self._lock:
            entry = self._entry(build_id)
            return self._with_current(entry.build)

    def summary(self, build_id: str) -> BuildSummary:
        with self._lock:
            entry = self._entry(build_id)
        if entry.summary is None:
            raise BuildConflictError(
                f"build {build_id} is {entry.build.status} and has no summary to compare; "
                "compare succeeded builds that are still kept"
            )
        return entry.summary

    def begin_build(self, snapshot: str) -> str:
        build_id = new_build_id()
        record = Build(
            build=build_id,
            status=RUNNING,
            current=False,
            snapshot=snapshot,
            started_at=utc_now(),
            finished_at=None,
            nodes=0,
            relationships=0,
            attack_paths=None,
            error=None,
        )
        with self._lock:
            running = [entry.build.build for entry in self._history if entry.build.status == RUNNING]
            if running:
                raise BuildRunningError(running[0])
            self._history.insert(0, _Entry(record))
            del self._history[MAX_HISTORY:]
        return build_id

    @contextmanager
    def keep_alive(self, build_id: str) -> Iterator[None]:
        # One process holds every embedded build, so a running build needs no lease.
        yield

    def complete_build(self, build_id: str, deputy: DeputyGraph, *, keep: int) -> Build:
        """Build the new view and its summary beside the current one, then swap the reference."""
        summary = summarize(deputy)
        # One rebuild runs at a time, so the current view is the build before this one.
        current = self.view()
        view = EmbeddedView(build_id, deputy, PreviousBuild(current.build_id, current.drift_rows))
        with self._lock:
            entry = self._entry(build_id)
            entry.build = _succeeded(
                build_id, deputy, started=entry.build.started_at, attack_paths=len(summary.attack_paths)
            )
            entry.summary = summary
            self._current = view
            self._prune(keep)
            record = entry.build
        logger.info("build %s is current: %s nodes, %s relationships", build_id, record.nodes, record.relationships)
        return record.model_copy(update={"current": True})

    def fail_build(self, build_id: str, cause: str) -> None:
        with self._lock:
            entry = self._entry(build_id)
            entry.build = entry.build.model_copy(
                update={"status": FAILED, "finished_at": utc_now(), "error": cause[:MAX_ERROR_LENGTH]}
            )

    def close(self) -> None:
        return None

    def _entry(self, build_id: str) -> _Entry:
        for entry in self._history:
            if entry.build.build == build_id:
                return entry
        raise NotFoundError(f"no build has the id {build_id!r}; GET /v1/builds lists them")

    def _with_current(self, record: Build) -> Build:
        return record.model_copy(update={"current": record.build == self._current.build_id})

    def _prune(self, keep: int) -> None:
        succeeded = [entry for entry in self._history if entry.build.status == SUCCEEDED]
        for entry in succeeded[keep:]:
            if entry.build.build == self._current.build_id:
                continue
            entry.build = entry.build.model_copy(update={"status": REMOVED})
            entry.summary = None


def _succeeded(build_id: str, deputy: DeputyGraph, *, started: str, attack_paths: int) -> Build:
    return Build(
        build=build_id,
        status=SUCCEEDED,
        current=False,
        snapshot=deputy.snapshot.path,
        started_at=started,
        finished_at=utc_now(),
        nodes=deputy.graph.number_of_nodes(),
        relationships=deputy.graph.number_of_edges(),
        attack_paths=attack_paths,
        error=None,
    )
