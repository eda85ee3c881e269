"""The named questions, answered on the embedded networkx graph.

Each function returns plain JSON-ready data in a stable order, so that scripts can
compare runs and the later Cypher twins of these questions can be checked against
the same answers.
"""

from __future__ import annotations

from typing import Any

from engine.graph import DeputyGraph
from engine.model import Label, Rel
from engine.paths import Reach, blast_radius, invocable_aliases, invokers, paths_between

COUNTED_LABELS = (
    Label.USER,
    Label.GROUP,
    Label.ROLE,
    Label.BEDROCK_AGENT,
    Label.AGENT_ALIAS,
    Label.AGENT_VERSION,
    Label.ACTION_GROUP,
    Label.KNOWLEDGE_BASE,
    Label.LAMBDA_FUNCTION,
    Label.S3_BUCKET,
    Label.GUARDRAIL,
    Label.VPC_API,
)


def node_json(deputy: DeputyGraph, node_id: str) -> dict[str, Any]:
    data = deputy.graph.nodes[node_id]
    result: dict[str, Any] = {"arn": node_id, "label": data["label"], "name": data.get("name")}
    if data.get("sensitive"):
        result["sensitivity"] = data.get("sensitivity")
    return result


def reach_json(deputy: DeputyGraph, reach: Reach) -> dict[str, Any]:
    """One path: its nodes in order, each edge with its actions and granting statements."""
    edges = []
    for step in reach.steps:
        properties = step.properties
        edge: dict[str, Any] = {
            "type": step.rel,
            "from": step.source,
            "to": step.target,
            "reason": properties.get("reason"),
        }
        for key in ("technique", "actions", "conditional", "conditions", "statements", "note"):
            if properties.get(key) is not None:
                edge[key] = properties[key]
        edges.append(edge)
    return {
        "from": reach.principal,
        "to": reach.target,
        "access": reach.access,
        "kind": reach.kind,
        "confused_deputy": reach.confused_deputy,
        "conditional": reach.conditional,
        "weak": reach.weak,
        "nodes": [node_json(deputy, node) for node in reach.nodes],
        "edges": edges,
    }


def _findings_first(reaches: list[Reach]) -> list[Reach]:
    """Confused-deputy paths first, then other paths through agents, then direct access."""
    return sorted(
        reaches, key=lambda reach: (not reach.confused_deputy, not reach.through_agent, reach.target, reach.access)
    )


def summary(deputy: DeputyGraph, invoker_list: list[str], reaches: dict[str, list[Reach]]) -> dict[str, Any]:
    counts: dict[str, int] = {str(label): 0 for label in COUNTED_LABELS}
    for _, data in deputy.graph.nodes(data=True):
        if data["label"] in counts:
            counts[data["label"]] += 1
    all_reaches = [reach for items in reaches.values() for reach in items]
    return {
        "accounts": len(deputy.snapshot.accounts),
        "nodes": counts,
        "relationships": deputy.graph.number_of_edges(),
        "invokers": len(invoker_list),
        "sensitive_targets_reached_through_agents": len({r.target for r in all_reaches if r.through_agent}),
        "confused_deputy_paths": sum(1 for r in all_reaches if r.confused_deputy),
        "invokers_with_confused_deputy_paths": sum(
            1 for items in reaches.values() if any(r.confused_deputy for r in items)
        ),
    }


def analyze(deputy: DeputyGraph) -> dict[str, Any]:
    """Every invoker's blast radius through agents, and the confused-deputy paths."""
    invoker_list = invokers(deputy)
    reaches = {principal: _findings_first(blast_radius(deputy, principal)) for principal in invoker_list}
    entries = []
    for principal in invoker_list:
        entries.append(
            {
                "principal": node_json(deputy, principal),
                "agent_aliases": [reach_json(deputy, reach) for reach in invocable_aliases(deputy, principal)],
                "blast_radius": [reach_json(deputy, reach) for reach in reaches[principal]],
            }
        )
    confused = [reach_json(deputy, r) for principal in invoker_list for r in reaches[principal] if r.confused_deputy]
    return {
        "snapshot": deputy.snapshot.path,
        "summary": summary(deputy, invoker_list, reaches),
        "not_seen": list(deputy.notes),
        "invokers": entries,
        "confused_deputy_paths": confused,
        "role_assumption": role_assumption(deputy),
        "roles_assumable_only_by_services": service_only_roles(deputy),
        "roles_assumed_through_federation": federated_roles(deputy),
    }


def federated_roles(deputy: DeputyGraph) -> list[dict[str, Any]]:
    """Roles whose trust policy admits a SAML or web identity provider's users."""
    return [
        {"arn": node, "identity_providers": data["trusted_federated"]}
        for node, data in sorted(deputy.graph.nodes(data=True))
        if data["label"] == Label.ROLE and data.get("trusted_federated")
    ]


def role_assumption(deputy: DeputyGraph) -> list[dict[str, Any]]:
    """Each role that a user, role or outside account may assume, with those principals."""
    result = []
    for node, data in sorted(deputy.graph.nodes(data=True)):
        if data["label"] != Label.ROLE or not data.get("assumable_by_principals"):
            continue
        assumers = [entry for entry in who_can_assume(deputy, node) if entry["label"] != Label.SERVICE_PRINCIPAL]
        result.append({"role": node_json(deputy, node), "assumed_by": assumers})
    return result


def service_only_roles(deputy: DeputyGraph) -> list[dict[str, Any]]:
    """Roles that no user, role or outside account may assume: only AWS services can."""
    result = []
    for node, data in sorted(deputy.graph.nodes(data=True)):
        if data["label"] != Label.ROLE or data.get("in_inventory") is False:
            continue
        if data.get("assumable_by_principals") or data.get("trusted_federated"):
            continue
        result.append(
            {
                "arn": node,
                "trusted_services": data.get("trusted_services", []),
                "service_linked": data.get("service_linked"),
            }
        )
    return result


def who_can_assume(deputy: DeputyGraph, role_arn: str) -> list[dict[str, Any]]:
    """Every node with a CAN_ASSUME edge into a role, with the edge's explanation."""
    result = []
    edges = deputy.graph.in_edges(role_arn, keys=True, data=True)
    for source, _, rel, data in sorted(edges, key=lambda edge: (edge[0], edge[2])):
        if rel != Rel.CAN_ASSUME:
            continue
        entry = {**node_json(deputy, source), "conditional": data.get("conditional"), "reason": data.get("reason")}
        if data.get("note"):
            entry["note"] = data["note"]
        result.append(entry)
    return result


def blast_radius_json(deputy: DeputyGraph, principal: str, *, sensitive_only: bool = True) -> dict[str, Any]:
    reaches = blast_radius(deputy, principal, sensitive_only=sensitive_only)
    return {
        "principal": node_json(deputy, principal),
        "agent_aliases": [reach_json(deputy, reach) for reach in invocable_aliases(deputy, principal)],
        "blast_radius": [reach_json(deputy, reach) for reach in reaches],
        "confused_deputy_count": sum(1 for reach in reaches if reach.confused_deputy),
    }


def paths_json(deputy: DeputyGraph, source: str, target: str | None) -> dict[str, Any]:
    return {"paths": [reach_json(deputy, reach) for reach in paths_between(deputy, source, target)]}
