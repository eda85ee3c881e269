"""The Neo4j backend: the Cypher library run against one build in Neo4j.

A request resolves the current build once and runs every query of the request against
that build id (`Query.pinned_text`), so a build made current meanwhile does not mix
into its answer. Rebuilds use the store's builds: written beside the current one,
swapped in one transaction, never two at once, even from several processes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from api.http.backends import (
    BackendUnavailableError,
    BuildConflictError,
    DecisionEngine,
    NotFoundError,
    NotSupportedError,
    build_model,
    page_of,
)
from api.http.models import Build, Decision, DecisionRequest, Page, PathEdge, PathNode, PathResult
from engine.findings import find_all
from engine.graph import DeputyGraph
from engine.model import Label, Rel
from engine.paths import NODE_ACCESS
from ingest.snapshot import load_snapshot
from queries.build_summary import BuildSummary
from queries.library import PINNED_BUILD_MATCH, query
from queries.store import NODE_LABEL, GraphStore, Neo4jSettings

logger = logging.getLogger(__name__)

ACCESS_BY_LABEL = {str(label): access for label, access in NODE_ACCESS.items()}


@contextmanager
def reading() -> Iterator[None]:
    """Turn driver and server errors of a read into BackendUnavailableError (503)."""
    try:
        yield
    except (ServiceUnavailable, SessionExpired, DriverError, OSError) as error:
        logger.error("Neo4j is unavailable: %s", error)
        raise BackendUnavailableError("the graph store is unavailable; try again later") from error
    except Neo4jError as error:
        logger.error("Neo4j query failed: %s", error)
        raise BackendUnavailableError("the graph store failed the query; try again later") from error


NODE_LOOKUP = f"""
{PINNED_BUILD_MATCH}
UNWIND $ids AS id
MATCH (n:{NODE_LABEL} {{build: build.id, arn: id}})
RETURN n.arn AS arn, [label IN labels(n) WHERE label <> '{NODE_LABEL}'][0] AS label, n.name AS name
"""

ROLE_LOOKUP = f"""
{PINNED_BUILD_MATCH}
MATCH (n:{NODE_LABEL}:Role {{build: build.id, account: $account, name: $name}})
RETURN n.arn AS arn
ORDER BY arn
LIMIT 1
"""

EDGE_LOOKUP = f"""
{PINNED_BUILD_MATCH}
UNWIND $edges AS edge
MATCH (a:{NODE_LABEL} {{build: build.id, arn: edge.source}})-[r]->(b:{NODE_LABEL} {{build: build.id, arn: edge.target}})
WHERE type(r) = edge.type
RETURN edge.source AS source, edge.target AS target, type(r) AS type, r.reason AS reason,
       coalesce(r.conditional, false) AS conditional, r.potential AS potential,
       coalesce(r.statement_refs, []) AS statement_refs
"""

ASSUMABLE_DIRECTLY = f"""
{PINNED_BUILD_MATCH}
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


class Neo4jView:
    """The paths of one build in Neo4j. Decisions also need the snapshot."""

    def __init__(self, store: GraphStore, build_id: str, decisions: DecisionEngine | None) -> None:
        self.store = store
        self.build_id = build_id
        self._decisions = decisions

    def _run(self, name: str, given: dict[str, str]) -> list[dict[str, Any]]:
        selected = query(name)
        with reading():
            return self.store.run_read(selected.pinned_text(), {**selected.bind(given), "build_id": self.build_id})

    def node_label(self, node_id: str) -> str | None:
        with reading():
            rows = self.store.run_read(NODE_LOOKUP, {"ids": [node_id], "build_id": self.build_id})
        return str(rows[0]["label"]) if rows else None

    def role_arn(self, account: str, name: str) -> str | None:
        with reading():
            rows = self.store.run_read(ROLE_LOOKUP, {"account": account, "name": name, "build_id": self.build_id})
        return str(rows[0]["arn"]) if rows else None

    def _describe(self, rows: Sequence[_Row]) -> list[PathResult]:
        """Look up the labels and names of the nodes and the reasons of the edges of a page of paths."""
        ids = sorted({node for row in rows for node in row.nodes})
        wanted = {
            (row.nodes[i], row.nodes[i + 1], row.relationship_types[i])
            for row in rows
            for i in range(len(row.relationship_types))
        }
        edges = [{"source": s, "target": t, "type": r} for s, t, r in sorted(wanted)]
        with reading():
            node_rows = self.store.run_read(NODE_LOOKUP, {"ids": ids, "build_id": self.build_id}) if ids else []
            edge_rows = self.store.run_read(EDGE_LOOKUP, {"edges": edges, "build_id": self.build_id}) if edges else []
        nodes = {row["arn"]: PathNode(arn=row["arn"], label=row["label"], name=row["name"]) for row in node_rows}
        found = {
            (row["source"], row["target"], row["type"]): PathEdge(
                type=row["type"],
                source=row["source"],
                target=row["target"],
                reason=row["reason"],
                conditional=bool(row["conditional"]),
                potential=row["potential"],
                statement_refs=list(row["statement_refs"]),
            )
            for row in edge_rows
        }
        if len(nodes) < len(ids) or len(found) < len(edges):
            # Each query is its own transaction, all pinned to one build. When newer builds
            # replace that build and pruning deletes it between them, nodes are missing.
            raise BackendUnavailableError(
                f"build {self.build_id} was removed during the request; send the request again"
            )
        results = []
        for row in rows:
            steps = [(row.nodes[i], row.nodes[i + 1], row.relationship_types[i]) for i in range(len(row.nodes) - 1)]
            path_edges = [found[step] for step in steps]
            results.append(
                PathResult(
                    start=row.start,
                    target=row.target,
                    target_label=row.target_label,
                    access=row.access,
                    weak=row.weak,
                    conditional=row.conditional,
                    potential=any(edge.potential is not None for edge in path_edges),
                    through_agent=row.through_agent,
                    confused_deputy=row.confused_deputy,
                    hops=len(row.relationship_types),
                    nodes=[nodes[node] for node in row.nodes],
                    edges=path_edges,
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
        with reading():
            labels = {
                row["arn"]: row["label"]
                for row in self.store.run_read(NODE_LOOKUP, {"ids": nodes, "build_id": self.build_id})
            }

        through_agent = any(labels[node] == Label.AGENT_ALIAS for node in nodes)
        weak = any(
            labels[nodes[i]] == Label.AGENT_VERSION and types[i] == Rel.HAS_EXECUTION_ROLE for i in range(len(types))
        )
        confused = False
        if through_agent and label == Label.ROLE:
            with reading():
                assumable = self.store.run_read(
                    ASSUMABLE_DIRECTLY, {"from": source, "to": target, "build_id": self.build_id}
                )
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

    def decide(self, request: DecisionRequest) -> Decision:
        if self._decisions is None:
            raise NotSupportedError(
                "decisions need the snapshot's policies, which Neo4j does not hold; "
                "start deputy serve --backend neo4j with --snapshot DIR"
            )
        return self._decisions.decide(request)


class Neo4jBackend:
    """A backend over the builds in Neo4j; each request reads the build current when it began."""

    name = "neo4j"

    def __init__(self, store: GraphStore, decisions: DecisionEngine | None) -> None:
        self.store = store
        self._decisions = decisions

    @classmethod
    def connect(cls, settings: Neo4jSettings, *, snapshot: str | None = None) -> Neo4jBackend:
        """Connect to Neo4j and, when a snapshot is given, load it for decisions."""
        decisions = None
        if snapshot is not None:
            # NOTE: nothing checks that this snapshot is the one behind the current build,
            # unless this process made that build.
            decisions = DecisionEngine(load_snapshot(snapshot))
        return cls(GraphStore.connect(settings), decisions)

    def readiness(self) -> str | None:
        try:
            with reading():
                current = self.store.current_build()
        except BackendUnavailableError as error:
            return str(error)
        if current is None:
            return "Neo4j holds no current build; run deputy load SNAPSHOT first"
        return None

    def view(self) -> Neo4jView:
        with reading():
            current = self.store.current_build()
        if current is None:
            raise BackendUnavailableError("Neo4j holds no current build; run deputy load SNAPSHOT, then try again")
        return Neo4jView(self.store, current, self._decisions)

    def builds(self, *, offset: int, limit: int) -> Page[Build]:
        with reading():
            records = self.store.builds()
        return page_of([build_model(record) for record in records], offset=offset, limit=limit)

    def build(self, build_id: str) -> Build:
        with reading():
            record = self.store.build(build_id)
        if record is None:
            raise NotFoundError(f"no build has the id {build_id!r}; GET /v1/builds lists them")
        return build_model(record)

    def summary(self, build_id: str) -> BuildSummary:
        record = self.build(build_id)
        with reading():
            summary = self.store.summary(build_id)
        if summary is None:
            raise BuildConflictError(
                f"build {build_id} is {record.status} and has no summary to compare; "
                "compare succeeded builds that are still kept"
            )
        return summary

    def begin_build(self, snapshot: str) -> str:
        with reading():
            return self.store.begin_build(snapshot)

    def keep_alive(self, build_id: str) -> AbstractContextManager[None]:
        return self.store.keep_alive(build_id)

    def complete_build(self, build_id: str, deputy: DeputyGraph, *, keep: int) -> Build:
        # The build's findings are stored with it, as `deputy load` stores them, for /v1/findings.
        findings = [finding.to_json() for finding in find_all(deputy)]
        record = self.store.complete_build(build_id, deputy, keep=keep, findings=findings)
        # Decisions follow the snapshot of the build this process made current.
        self._decisions = DecisionEngine(deputy.snapshot)
        return build_model(record)

    def fail_build(self, build_id: str, cause: str) -> None:
        self.store.fail_build(build_id, cause)

    def close(self) -> None:
        self.store.close()
