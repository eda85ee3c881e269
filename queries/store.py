"""The Neo4j graph store: versioned builds written beside the current one, swapped atomically.

Every node a build writes carries the label `DeputyNode`, its model label (`User`,
`Role`, `S3Bucket`, ...) and the properties `build` and `arn`; a uniqueness constraint on
(`build`, `arn`) keeps each build's nodes distinct. A build is written in batched
`UNWIND ... MERGE` transactions while readers keep using the current build, and becomes
current in one transaction that moves the single `(:DeputyCurrent)-[:CURRENT]->` pointer
to its `(:DeputyBuild)` record. A reader that resolves the pointer inside its own
transaction therefore sees the old build or the new one, never a mix. A build that fails
is marked `failed`, its nodes are deleted, and the previous build keeps serving. Builds
beyond the retained number are deleted in bounded batches.

Builds never overlap, even from several processes: `begin_build` checks for a running
build and records the new one in one transaction that first takes the write lock of the
single `(:DeputyRebuildLock)` node. A running build renews `heartbeat_ms` (the server's
clock) while it works; one whose heartbeat is older than RUNNING_LEASE_SECONDS belonged to
a process that stopped, and the next `begin_build` marks it failed. Each succeeded build
also keeps a `(:DeputyBuildSummary)` node, its attack paths and per-principal reach as JSON
(queries/build_summary.py), so that two builds can be compared without a graph query.

A build may also carry its findings, one `(:DeputyFinding {build, id, ...})` node each,
written before the build becomes current and deleted with it; the whole finding is kept
as JSON text in `json`.

Neo4j properties hold only scalars and lists of scalars, so the statement and condition
lists of a permission edge are stored as JSON text (`statements_json`,
`conditions_json`) beside a plain list of statement references (`statement_refs`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from neo4j.exceptions import ConfigurationError, Neo4jError, ServiceUnavailable

from engine.errors import DeputyError
from engine.graph import DeputyGraph
from engine.model import Label, Rel
from neo4j import Driver, GraphDatabase, ManagedTransaction, NotificationDisabledClassification
from queries.build_summary import BuildSummary, summarize
from queries.builds import (
    DEFAULT_KEEP_BUILDS,
    FAILED,
    LEGACY_STATUSES,
    MAX_ERROR_LENGTH,
    REMOVED,
    RUNNING,
    SUCCEEDED,
    new_build_id,
    utc_now,
)

logger = logging.getLogger(__name__)

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
DEFAULT_DATABASE = "neo4j"
NODE_LABEL = "DeputyNode"
FINDING_LABEL = "DeputyFinding"
BATCH_SIZE = 5000
DELETE_BATCH_SIZE = 10000
RUNNING_LEASE_SECONDS = 120  # a running build whose heartbeat is older belongs to a stopped process
HEARTBEAT_SECONDS = 15
LABELS = frozenset(str(label) for label in Label)
REL_TYPES = frozenset(str(rel) for rel in Rel)
JSON_PROPERTIES = ("statements", "conditions")


class StoreError(DeputyError):
    """The Neo4j server is unreachable, rejected the credentials, or failed a write."""


class BuildRunningError(StoreError):
    """Another build is running, in this process or another one."""

    def __init__(self, build_id: str) -> None:
        self.build_id = build_id
        super().__init__(f"build {build_id} is running; wait until it finishes and try again")


@dataclass(frozen=True, slots=True)
class Neo4jSettings:
    """Connection settings of the graph store, taken from the CLI, then the environment."""

    uri: str = DEFAULT_URI
    user: str = DEFAULT_USER
    password: str = ""
    database: str = DEFAULT_DATABASE

    @classmethod
    def from_environment(cls, *, uri: str | None = None) -> Neo4jSettings:
        """Settings from `--neo4j-uri` (if given) and NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE."""
        return cls(
            uri=uri or os.environ.get("NEO4J_URI", DEFAULT_URI),
            user=os.environ.get("NEO4J_USER", DEFAULT_USER),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=os.environ.get("NEO4J_DATABASE", DEFAULT_DATABASE),
        )


# The URI schemes of the Neo4j Python driver's Bolt connections; `http` is not one.
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """One build: when, from which snapshot, its status and counts."""

    build_id: str
    status: str
    snapshot: str
    started_at: str
    finished_at: str | None
    nodes: int
    relationships: int
    error: str | None = None
    current: bool = False
    attack_paths: int | None = None  # confused-deputy paths; None until the build succeeds


def _scalar(value: Any) -> Any:
    """Convert a value to one Neo4j can store: scalars and lists of scalars pass, others become JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str | int | float | bool) for item in value):
        return list(value)
    return json.dumps(value, sort_keys=True)


def node_rows(deputy: DeputyGraph) -> dict[str, list[dict[str, Any]]]:
    """Node property maps grouped by model label, in a stable order."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node_id, data in sorted(deputy.graph.nodes(data=True)):
        label = str(data["label"])
        properties = {key: _scalar(value) for key, value in data.items() if key != "label" and value is not None}
        properties["arn"] = node_id
        rows[label].append(properties)
    return rows


def relationship_rows(deputy: DeputyGraph) -> dict[str, list[dict[str, Any]]]:
    """Relationship property maps grouped by type, in a stable order."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    edges = sorted(deputy.graph.edges(keys=True, data=True), key=lambda edge: (edge[0], edge[1], edge[2]))
    for source, target, rel, data in edges:
        properties: dict[str, Any] = {}
        for key, value in data.items():
            if key == "rel" or value is None:
                continue
            if key in JSON_PROPERTIES:
                properties[f"{key}_json"] = json.dumps(value, sort_keys=True)
                continue
            properties[key] = _scalar(value)
        if "statements" in data:
            properties["statement_refs"] = [f"{s['policy']}#{s['statement_index']}" for s in data["statements"]]
        rows[str(rel)].append({"source": source, "target": target, "properties": properties})
    return rows


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class GraphStore:
    """Builds, the current-build pointer and queries in one Neo4j database."""

    def __init__(self, driver: Driver, database: str) -> None:
        self.driver = driver
        self.database = database

    @classmethod
    def connect(cls, settings: Neo4jSettings) -> GraphStore:
        """Open a driver and check that the server responds. Raise StoreError with the fix if not."""
        if not settings.password:
            raise StoreError("NEO4J_PASSWORD is not set; export the password of the Neo4j user")
        scheme = settings.uri.partition("://")[0] if "://" in settings.uri else ""
        if scheme not in BOLT_SCHEMES:
            raise StoreError(
                f"NEO4J_URI {settings.uri!r} is invalid; use a Bolt URI such as {DEFAULT_URI} "
                f"(schemes: {', '.join(BOLT_SCHEMES)})"
            )
        try:
            # The queries read properties that only some builds set, such as `weak`. The
            # server's "property key does not exist" notifications about them are expected,
            # and the driver would log each one with the whole query text.
            driver = GraphDatabase.driver(
                settings.uri,
                auth=(settings.user, settings.password),
                notifications_disabled_classifications=[NotificationDisabledClassification.UNRECOGNIZED],
            )
        except (ConfigurationError, ValueError) as error:
            raise StoreError(f"NEO4J_URI {settings.uri!r} is invalid: {error}") from error
        try:
            driver.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, OSError, ValueError) as error:
            driver.close()
            raise StoreError(
                f"cannot reach Neo4j at {settings.uri} as {settings.user!r}: {error}; "
                "start it with scripts/neo4j.sh start or set NEO4J_URI"
            ) from error
        return cls(driver, settings.database)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the constraints and indexes the writes and queries rely on (idempotent)."""
        statements = [
            f"CREATE CONSTRAINT deputy_node_key IF NOT EXISTS FOR (n:{NODE_LABEL}) REQUIRE (n.build, n.arn) IS UNIQUE",
            "CREATE CONSTRAINT deputy_build_id IF NOT EXISTS FOR (b:DeputyBuild) REQUIRE b.id IS UNIQUE",
            # Without it, two swaps that MERGE the pointer at once can create two pointer
            # nodes, and readers then see two current builds.
            "CREATE CONSTRAINT deputy_current_name IF NOT EXISTS FOR (c:DeputyCurrent) REQUIRE c.name IS UNIQUE",
            f"CREATE INDEX deputy_node_build IF NOT EXISTS FOR (n:{NODE_LABEL}) ON (n.build)",
            f"CREATE INDEX deputy_node_arn IF NOT EXISTS FOR (n:{NODE_LABEL}) ON (n.arn)",
            f"CREATE INDEX deputy_finding_build IF NOT EXISTS FOR (f:{FINDING_LABEL}) ON (f.build)",
            "CREATE CONSTRAINT deputy_rebuild_lock IF NOT EXISTS FOR (l:DeputyRebuildLock) REQUIRE l.name IS UNIQUE",
            "CREATE CONSTRAINT deputy_build_summary IF NOT EXISTS FOR (s:DeputyBuildSummary) REQUIRE s.build IS UNIQUE",
        ]
        with self.driver.session(database=self.database) as session:
            for statement in statements:
                session.run(statement).consume()

    # -- builds -----------------------------------------------------------------------

    def load(
        self,
        deputy: DeputyGraph,
        *,
        keep: int = DEFAULT_KEEP_BUILDS,
        findings: Sequence[Mapping[str, Any]] = (),
    ) -> BuildRecord:
        """Write a build and its findings beside the current one, make it current, then prune old builds.

        `findings` are `Finding.to_json` records; they become visible with the build.
        Raises BuildRunningError when another build is running, and StoreError when a write
        fails; the previous build then keeps serving.
        """
        build_id = self.begin_build(deputy.snapshot.path)
        with self.keep_alive(build_id):
            try:
                return self.complete_build(build_id, deputy, keep=keep, findings=findings)
            except StoreError as error:
                logger.error("%s", error)
                self.fail_build(build_id, str(error))
                raise

    def begin_build(self, snapshot: str) -> str:
        """Record a new running build and return its id; raise BuildRunningError if one runs."""
        self.ensure_schema()
        build_id = new_build_id()
        lease_ms = RUNNING_LEASE_SECONDS * 1000

        def begin(tx: ManagedTransaction) -> tuple[str | None, list[str]]:
            # Writing the lock node takes its write lock, so concurrent begin_build
            # transactions run this check one at a time.
            tx.run("MERGE (l:DeputyRebuildLock {name: 'rebuild'}) SET l.taken_ms = timestamp()").consume()
            rows = tx.run(
                "MATCH (b:DeputyBuild) WHERE b.status IN $running "
                "RETURN b.id AS id, coalesce(b.heartbeat_ms, 0) >= timestamp() - $lease AS alive",
                running=[RUNNING, *(old for old, new in LEGACY_STATUSES.items() if new == RUNNING)],
                lease=lease_ms,
            ).data()
            alive = [row["id"] for row in rows if row["alive"]]
            if alive:
                return str(alive[0]), []
            abandoned = [str(row["id"]) for row in rows]
            tx.run(
                "MATCH (b:DeputyBuild) WHERE b.id IN $ids "
                "SET b.status = $failed, b.finished_at = $at, "
                "b.error = 'abandoned: the process running it stopped sending heartbeats'",
                ids=abandoned,
                failed=FAILED,
                at=utc_now(),
            ).consume()
            tx.run(
                "CREATE (:DeputyBuild {id: $id, status: $running, snapshot: $snapshot, started_at: $started, "
                "heartbeat_ms: timestamp()})",
                id=build_id,
                running=RUNNING,
                snapshot=snapshot,
                started=utc_now(),
            ).consume()
            return None, abandoned

        running, abandoned = self._write(begin)
        if running is not None:
            raise BuildRunningError(running)
        for stale in abandoned:
            logger.warning("build %s was abandoned by a stopped process; deleting its nodes", stale)
            self._delete_build_nodes(stale)
        logger.info("build %s started from %s", build_id, snapshot)
        return build_id

    def heartbeat(self, build_id: str) -> None:
        """Renew the lease of a running build."""
        self._write(
            lambda tx: tx.run("MATCH (b:DeputyBuild {id: $id}) SET b.heartbeat_ms = timestamp()", id=build_id).consume()
        )

    @contextmanager
    def keep_alive(self, build_id: str) -> Iterator[None]:
        """Renew the build's lease every HEARTBEAT_SECONDS in a thread while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT_SECONDS):
                try:
                    self.heartbeat(build_id)
                except (Neo4jError, ServiceUnavailable, OSError) as error:
                    logger.warning("build %s: renewing its lease failed: %s", build_id, error)

        thread = threading.Thread(target=beat, name=f"deputy-heartbeat-{build_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=HEARTBEAT_SECONDS)

    def complete_build(
        self,
        build_id: str,
        deputy: DeputyGraph,
        *,
        keep: int = DEFAULT_KEEP_BUILDS,
        findings: Sequence[Mapping[str, Any]] = (),
    ) -> BuildRecord:
        """Write a running build's graph, summary and findings, prune old builds, then make it current.

        Pruning comes before the swap, so that a build shown as succeeded has finished all
        its work. A failed write raises StoreError and the previous build keeps serving;
        the caller then records the failure with fail_build.
        """
        summary = summarize(deputy)
        try:
            nodes = self._write_nodes(build_id, node_rows(deputy))
            relationships = self._write_relationships(build_id, relationship_rows(deputy))
            self._write_summary(build_id, summary)
            self._write_findings(build_id, findings)
        except (Neo4jError, ServiceUnavailable, OSError) as error:
            raise StoreError(f"writing build {build_id} failed: {error}; the previous build keeps serving") from error
        try:
            # The new build does not count as succeeded yet, so `keep - 1` older ones stay beside it.
            self.prune(keep=keep - 1)
        except (Neo4jError, ServiceUnavailable, OSError) as error:
            # An old build that could not be removed now is tried again by the next prune.
            logger.warning("build %s: removing old builds failed: %s", build_id, error)
        try:
            self._make_current(build_id, nodes, relationships, len(summary.attack_paths))
        except (Neo4jError, ServiceUnavailable, OSError) as error:
            raise StoreError(
                f"making build {build_id} current failed: {error}; the previous build keeps serving"
            ) from error
        logger.info("build %s is current: %s nodes, %s relationships", build_id, nodes, relationships)
        record = self.build(build_id)
        assert record is not None
        return record

    def _write(self, work: Any) -> Any:
        with self.driver.session(database=self.database) as session:
            return session.execute_write(work)

    def _write_nodes(self, build_id: str, rows: Mapping[str, list[dict[str, Any]]]) -> int:
        count = 0
        for label, items in rows.items():
            if label not in LABELS:
                raise StoreError(f"unknown node label {label!r}; the graph model defines {sorted(LABELS)}")
            # Labels cannot be parameters in Cypher; this one comes from the model's fixed vocabulary.
            query = (
                f"UNWIND $rows AS row MERGE (n:{NODE_LABEL}:`{label}` {{build: $build, arn: row.arn}}) "
                "SET n += row, n.build = $build"
            )
            for batch in _batches(items, BATCH_SIZE):
                self._write(lambda tx, batch=batch, query=query: tx.run(query, rows=batch, build=build_id).consume())
                count += len(batch)
        return count

    def _write_relationships(self, build_id: str, rows: Mapping[str, list[dict[str, Any]]]) -> int:
        count = 0
        for rel, items in rows.items():
            if rel not in REL_TYPES:
                raise StoreError(f"unknown relationship type {rel!r}; the graph model defines {sorted(REL_TYPES)}")
            query = (
                f"UNWIND $rows AS row "
                f"MATCH (a:{NODE_LABEL} {{build: $build, arn: row.source}}) "
                f"MATCH (b:{NODE_LABEL} {{build: $build, arn: row.target}}) "
                f"MERGE (a)-[r:`{rel}`]->(b) SET r += row.properties"
            )
            for batch in _batches(items, BATCH_SIZE):
                self._write(lambda tx, batch=batch, query=query: tx.run(query, rows=batch, build=build_id).consume())
                count += len(batch)
        return count

    def _write_summary(self, build_id: str, summary: BuildSummary) -> None:
        self._write(
            lambda tx: tx.run(
                "MERGE (s:DeputyBuildSummary {build: $build}) SET s.json = $json",
                build=build_id,
                json=summary.to_json(),
            ).consume()
        )

    def summary(self, build_id: str) -> BuildSummary | None:
        """Return the summary of a succeeded build, or None when the build has none."""
        with self.driver.session(database=self.database) as session:
            row = session.execute_read(
                lambda tx: tx.run(
                    "MATCH (s:DeputyBuildSummary {build: $build}) RETURN s.json AS json", build=build_id
                ).single()
            )
        return None if row is None else BuildSummary.from_json(str(row["json"]))

    def _write_findings(self, build_id: str, findings: Sequence[Mapping[str, Any]]) -> None:
        rows = [
            {
                "id": finding["id"],
                "rule_id": finding["rule_id"],
                "type": finding["type"],
                "severity": finding["severity"],
                "json": json.dumps(finding, sort_keys=True),
            }
            for finding in findings
        ]
        query = f"UNWIND $rows AS row CREATE (f:{FINDING_LABEL}) SET f = row, f.build = $build"
        for batch in _batches(rows, BATCH_SIZE):
            self._write(lambda tx, batch=batch: tx.run(query, rows=batch, build=build_id).consume())

    def findings(self, build_id: str) -> list[dict[str, Any]]:
        """Return the findings stored with a build, as `Finding.to_json` gave them, in no set order."""
        rows = self.run_read(f"MATCH (f:{FINDING_LABEL} {{build: $build}}) RETURN f.json AS json", {"build": build_id})
        return [json.loads(row["json"]) for row in rows]

    def _make_current(self, build_id: str, nodes: int, relationships: int, attack_paths: int) -> None:
        def swap(tx: ManagedTransaction) -> None:
            tx.run(
                """
                MATCH (b:DeputyBuild {id: $id})
                SET b.status = $succeeded, b.finished_at = $finished, b.nodes = $nodes,
                    b.relationships = $relationships, b.attack_paths = $attack_paths
                MERGE (c:DeputyCurrent {name: 'current'})
                // Writing the pointer node first takes its write lock, so two swaps at once
                // run one after the other and never leave two CURRENT relationships.
                SET c.swapping = $id
                WITH b, c
                OPTIONAL MATCH (c)-[old:CURRENT]->()
                DELETE old
                WITH DISTINCT b, c
                CREATE (c)-[:CURRENT]->(b)
                SET c.build = b.id
                REMOVE c.swapping
                """,
                id=build_id,
                succeeded=SUCCEEDED,
                finished=utc_now(),
                nodes=nodes,
                relationships=relationships,
                attack_paths=attack_paths,
            ).consume()

        self._write(swap)

    def fail_build(self, build_id: str, cause: str) -> None:
        """Delete what a running build wrote, then mark it failed with its cause; log a cleanup failure.

        The nodes go first, so a build shown as failed has nothing left in the database
        unless the log says the cleanup failed.
        """
        try:
            self._delete_build_nodes(build_id)
            self._write(
                lambda tx: tx.run(
                    "MATCH (b:DeputyBuild {id: $id}) SET b.status = $failed, b.error = $error, b.finished_at = $at "
                    "WITH b OPTIONAL MATCH (s:DeputyBuildSummary {build: b.id}) DELETE s",
                    id=build_id,
                    failed=FAILED,
                    error=cause[:MAX_ERROR_LENGTH],
                    at=utc_now(),
                ).consume()
            )
        except (Neo4jError, ServiceUnavailable, OSError) as cleanup_error:
            logger.warning("could not clean up failed build %s: %s", build_id, cleanup_error)

    def _delete_build_nodes(self, build_id: str) -> int:
        """Delete a build in bounded transactions: its relationships first, then its nodes.

        A DETACH DELETE of thousands of well-connected nodes keeps all their relationships
        in one transaction and can exceed the server's transaction memory limit.
        """
        while True:
            detached = self._write(
                lambda tx: tx.run(
                    f"MATCH (n:{NODE_LABEL} {{build: $build}})-[r]->() WITH r LIMIT $limit "
                    "DELETE r RETURN count(*) AS removed",
                    build=build_id,
                    limit=DELETE_BATCH_SIZE,
                ).single()["removed"]
            )
            if detached == 0:
                break
        while True:
            findings = self._write(
                lambda tx: tx.run(
                    f"MATCH (f:{FINDING_LABEL} {{build: $build}}) WITH f LIMIT $limit "
                    "DELETE f RETURN count(*) AS removed",
                    build=build_id,
                    limit=DELETE_BATCH_SIZE,
                ).single()["removed"]
            )
            if findings == 0:
                break
        deleted = 0
        while True:
            removed = self._write(
                lambda tx: tx.run(
                    f"MATCH (n:{NODE_LABEL} {{build: $build}}) WITH n LIMIT $limit "
                    "DETACH DELETE n RETURN count(*) AS removed",
                    build=build_id,
                    limit=DELETE_BATCH_SIZE,
                ).single()["removed"]
            )
            deleted += int(removed)
            if removed == 0:
                return deleted

    def prune(self, *, keep: int = DEFAULT_KEEP_BUILDS) -> list[str]:
        """Delete the nodes and summaries of succeeded builds beyond the newest `keep`, never the current one."""
        builds = self.builds()
        succeeded = [b for b in builds if b.status == SUCCEEDED]
        removed: list[str] = []
        for record in succeeded[keep:]:
            if record.current:
                continue
            self._delete_build_nodes(record.build_id)
            self._write(
                lambda tx, build_id=record.build_id: tx.run(
                    "MATCH (b:DeputyBuild {id: $id}) SET b.status = $removed "
                    "WITH b OPTIONAL MATCH (s:DeputyBuildSummary {build: b.id}) DELETE s",
                    id=build_id,
                    removed=REMOVED,
                ).consume()
            )
            removed.append(record.build_id)
        return removed

    def builds(self) -> list[BuildRecord]:
        """Return every build record, newest first."""
        with self.driver.session(database=self.database) as session:
            records = session.execute_read(
                lambda tx: list(
                    tx.run(
                        """
                        MATCH (b:DeputyBuild)
                        OPTIONAL MATCH (c:DeputyCurrent)-[:CURRENT]->(b)
                        RETURN b {.*} AS build, c IS NOT NULL AS current
                        ORDER BY b.started_at DESC, b.id DESC
                        """
                    )
                )
            )
        return [_record(dict(row["build"]), bool(row["current"])) for row in records]

    def build(self, build_id: str) -> BuildRecord | None:
        return next((record for record in self.builds() if record.build_id == build_id), None)

    def current_build(self) -> str | None:
        """Return the id of the build that readers use, or None before the first load."""
        with self.driver.session(database=self.database) as session:
            row = session.execute_read(
                lambda tx: tx.run("MATCH (:DeputyCurrent)-[:CURRENT]->(b:DeputyBuild) RETURN b.id AS id").single()
            )
        return None if row is None else str(row["id"])

    # -- reading ----------------------------------------------------------------------

    def run_read(self, query: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run one read query in one transaction and return its rows as dicts."""
        with self.driver.session(database=self.database) as session:
            return session.execute_read(lambda tx: [record.data() for record in tx.run(query, dict(parameters))])


def _record(data: dict[str, Any], current: bool) -> BuildRecord:
    status = str(data.get("status"))
    attack_paths = data.get("attack_paths")
    return BuildRecord(
        build_id=str(data["id"]),
        status=LEGACY_STATUSES.get(status, status),
        snapshot=str(data.get("snapshot")),
        started_at=str(data.get("started_at")),
        finished_at=data.get("finished_at"),
        nodes=int(data.get("nodes") or 0),
        relationships=int(data.get("relationships") or 0),
        error=data.get("error"),
        current=current,
        attack_paths=None if attack_paths is None else int(attack_paths),
    )
