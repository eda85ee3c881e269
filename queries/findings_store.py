"""Findings over builds stored in Neo4j: the stored findings of a build, and drift between two builds.

Drift (DG011) compares the same rows that `engine.findings.drift.rows_from_graph` takes
from a networkx graph (alias routes, and per version its execution role, permissions,
action groups, their functions with
the permissions of each function's role, and knowledge bases), read here with Cypher from two
stored builds, so both backends report the same changes for the same pair of snapshots.
"""

from __future__ import annotations

from typing import Any

from engine.findings import Finding, drift_findings
from engine.model import PERMISSION_RELS
from queries.builds import SUCCEEDED
from queries.store import NODE_LABEL, GraphStore

DRIFT_QUERIES = {
    "agents": f"MATCH (a:{NODE_LABEL}:BedrockAgent {{build: $build}}) RETURN a.arn AS agent, a.name AS name",
    "aliases": (
        f"MATCH (a:{NODE_LABEL}:AgentAlias {{build: $build}}) "
        "OPTIONAL MATCH (a)-[r:ROUTES_TO]->(v) "
        "RETURN a.agent AS agent, a.arn AS alias, a.name AS name, v.version AS version, "
        "coalesce(r.active, true) AND v IS NOT NULL AS active"
    ),
    "versions": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}}) "
        "OPTIONAL MATCH (v)-[:HAS_EXECUTION_ROLE]->(r) "
        "RETURN v.agent AS agent, v.version AS version, r.arn AS role, r.policy_digest AS digest"
    ),
    "permissions": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}})-[:HAS_EXECUTION_ROLE]->(r)-[p]->(t) "
        "WHERE type(p) IN $rels "
        "RETURN v.agent AS agent, v.version AS version, r.arn AS role, type(p) AS rel, t.arn AS target, "
        "coalesce(p.actions, []) AS actions"
    ),
    "action_groups": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}})-[e:HAS_ACTION_GROUP]->(g) "
        "RETURN v.agent AS agent, v.version AS version, g.name AS name, g.lambda_arn AS lambda_arn, "
        "coalesce(e.enabled, false) AS enabled"
    ),
    "functions": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}})-[:HAS_ACTION_GROUP]->()-[c:CALLS_FUNCTION]->(f) "
        "OPTIONAL MATCH (f)-[:HAS_EXECUTION_ROLE]->(r) "
        "RETURN v.agent AS agent, v.version AS version, f.arn AS function, r.arn AS role, "
        "r.policy_digest AS digest, coalesce(c.invocable, false) AS invocable"
    ),
    "function_permissions": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}})-[:HAS_ACTION_GROUP]->()-[:CALLS_FUNCTION]->()"
        "-[:HAS_EXECUTION_ROLE]->(r)-[p]->(t) "
        "WHERE type(p) IN $rels "
        "RETURN DISTINCT v.agent AS agent, v.version AS version, r.arn AS role, type(p) AS rel, t.arn AS target, "
        "coalesce(p.actions, []) AS actions"
    ),
    "knowledge_bases": (
        f"MATCH (v:{NODE_LABEL}:AgentVersion {{build: $build}})-[e:USES_KNOWLEDGE_BASE]->(k) "
        "RETURN v.agent AS agent, v.version AS version, k.arn AS knowledge_base, "
        "coalesce(e.enabled, false) AS enabled"
    ),
}


def drift_rows(store: GraphStore, build_id: str) -> dict[str, list[dict[str, Any]]]:
    """The drift rows of one stored build."""
    parameters = {"build": build_id, "rels": sorted(str(rel) for rel in PERMISSION_RELS)}
    return {kind: store.run_read(query, parameters) for kind, query in DRIFT_QUERIES.items()}


def previous_build(store: GraphStore, build_id: str) -> str | None:
    """Return the newest succeeded build that started before the given one, or None."""
    builds = store.builds()
    ids = [record.build_id for record in builds]
    if build_id not in ids:
        return None
    older = [record for record in builds[ids.index(build_id) + 1 :] if record.status == SUCCEEDED]
    return older[0].build_id if older else None


def drift_between_builds(store: GraphStore, previous: str, current: str) -> list[Finding]:
    """DG011 findings for the agents that changed from one stored build to another."""
    return drift_findings(drift_rows(store, previous), drift_rows(store, current), previous_label=f"build {previous}")


def build_findings(store: GraphStore, build_id: str) -> list[dict[str, Any]]:
    """The findings stored with a build, plus drift since the build before it, as JSON records."""
    findings = store.findings(build_id)
    previous = previous_build(store, build_id)
    if previous is not None:
        findings += [finding.to_json() for finding in drift_between_builds(store, previous, build_id)]
    return findings
