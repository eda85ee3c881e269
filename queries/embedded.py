"""The named questions, answered on the embedded networkx graph.

Each function returns plain JSON-ready data in a stable order, so that scripts can
compare runs and the later Cypher twins of these questions can be checked against
the same answers.
"""

from __future__ import annotations

from typing import Any

from engine.findings import find_all
from engine.graph import DeputyGraph
from engine.model import ESCALATION_RELS, Label, Rel
from engine.paths import (
    Reach,
    Step,
    blast_radius,
    invocable_aliases,
    invokers,
    not_seen_for,
    paths_between,
    reach_from,
)
from queries.gaps import path_gaps

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


EDGE_KEYS = (
    "technique",
    "explanation",
    "actions",
    "conditional",
    "conditional_actions",
    "conditions",
    "statements",
    "potential",
    "note",
)


def node_json(deputy: DeputyGraph, node_id: str) -> dict[str, Any]:
    data = deputy.graph.nodes[node_id]
    result: dict[str, Any] = {"arn": node_id, "label": data["label"], "name": data.get("name")}
    if data["label"] == Label.ESCALATED_PRINCIPAL:
        result["escalation"] = data.get("escalation")
    if data.get("sensitive"):
        result["sensitivity"] = data.get("sensitivity")
    return result


def edge_json(step: Step) -> dict[str, Any]:
    """Describe one edge of a path: its type, ends and sentence, and the explanation it carries."""
    properties = step.properties
    edge: dict[str, Any] = {
        "type": step.rel,
        "from": step.source,
        "to": step.target,
        "reason": properties.get("reason"),
    }
    for key in EDGE_KEYS:
        if properties.get(key) is not None:
            edge[key] = properties[key]
    return edge


def _path_head(deputy: DeputyGraph, reach: Reach) -> dict[str, Any]:
    result = {
        "from": reach.principal,
        "to": reach.target,
        "access": reach.access,
        "kind": reach.kind,
        "confused_deputy": reach.confused_deputy,
        "conditional": reach.conditional,
        "weak": reach.weak,
        "potential": reach.potential,
    }
    depends = path_gaps(deputy, reach.nodes)
    if depends:
        # Indexes into the analysis's `collection_gaps`, the calls that deputy collect could not make.
        result["depends_on_gaps"] = depends
    return result


def reach_json(deputy: DeputyGraph, reach: Reach) -> dict[str, Any]:
    """Describe one path: its nodes in order, each edge with its actions and granting statements."""
    return {
        **_path_head(deputy, reach),
        "nodes": [node_json(deputy, node) for node in reach.nodes],
        "edges": [edge_json(step) for step in reach.steps],
    }


class PathTables:
    """The nodes, edges and statements of many paths, each written once.

    An analysis lists every invoker's paths, and most of them share their steps through
    the same agents and roles. A path then names its edges by an id into these tables, and
    each edge names its nodes by ARN, so the output grows with the paths' count, not their
    detail.
    """

    def __init__(self, deputy: DeputyGraph) -> None:
        self.deputy = deputy
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[str, dict[str, Any]] = {}
        self.statements: dict[str, dict[str, Any]] = {}
        self._edge_ids: dict[tuple[str, str, str], str] = {}

    def path(self, reach: Reach) -> dict[str, Any]:
        """Describe a path by its edge ids; its nodes are the first edge's `from` and each edge's `to`."""
        for node in reach.nodes:
            self.node(node)
        return {**_path_head(self.deputy, reach), "edges": [self._edge(step) for step in reach.steps]}

    def alias(self, reach: Reach) -> dict[str, Any]:
        """Describe an invocable alias by its ARN and the edge ids of the shortest path to it."""
        for node in reach.nodes:
            self.node(node)
        return {
            "alias": reach.target,
            "conditional": reach.conditional,
            "edges": [self._edge(step) for step in reach.steps],
        }

    def node(self, arn: str) -> str:
        if arn not in self.nodes:
            data = node_json(self.deputy, arn)
            del data["arn"]
            self.nodes[arn] = data
        return arn

    def _edge(self, step: Step) -> str:
        key = (step.source, step.rel, step.target)
        edge_id = self._edge_ids.get(key)
        if edge_id is None:
            edge_id = f"e{len(self._edge_ids) + 1}"
            self._edge_ids[key] = edge_id
            self.edges[edge_id] = _statements_by_reference(edge_json(step), self.statements)
        return edge_id


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
    """Every invoker's blast radius through agents, and the confused-deputy paths.

    Paths refer to the `nodes`, `edges` and `statements` tables of the result (see PathTables).
    """
    invoker_list = invokers(deputy)
    reaches = {principal: _findings_first(blast_radius(deputy, principal)) for principal in invoker_list}
    tables = PathTables(deputy)
    entries = []
    for principal in invoker_list:
        entries.append(
            {
                "principal": tables.node(principal),
                "agent_aliases": [tables.alias(r) for r in invocable_aliases(deputy, principal)],
                "blast_radius": [tables.path(r) for r in reaches[principal]],
            }
        )
    confused = [
        {
            "from": r.principal,
            "to": r.target,
            "access": r.access,
            "kind": r.kind,
            "conditional": r.conditional,
            "depends_on_gaps": path_gaps(deputy, r.nodes),
        }
        for principal in invoker_list
        for r in reaches[principal]
        if r.confused_deputy
    ]
    return {
        "snapshot": deputy.snapshot.path,
        "summary": summary(deputy, invoker_list, reaches),
        # The graph adds one note per agent version, so a gap that several versions share
        # (a missing action-group function) repeats word for word: keep the first.
        "not_seen": list(dict.fromkeys(deputy.notes)),
        "collection_gaps": [gap.sentence() for gap in deputy.snapshot.gaps],
        "invokers": entries,
        "confused_deputy_paths": confused,
        "nodes": tables.nodes,
        "edges": tables.edges,
        "statements": dict(sorted(tables.statements.items())),
        "role_assumption": role_assumption(deputy),
        "roles_assumable_only_by_services": service_only_roles(deputy),
        "roles_assumed_through_federation": federated_roles(deputy),
        "findings": [finding.to_json() for finding in find_all(deputy, blast_radii=reaches)],
    }


def _statements_by_reference(edge: dict[str, Any], table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Replace an edge's statements with references into one shared table."""
    refs = []
    for statement in edge.pop("statements", []):
        ref = f"{statement['policy']}#{statement['statement_index']}"
        table.setdefault(ref, statement)
        refs.append(ref)
    if refs:
        edge["statement_refs"] = refs
    return edge


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
        "not_seen": not_seen_for(deputy, principal),
    }


def paths_json(deputy: DeputyGraph, source: str, target: str | None) -> dict[str, Any]:
    return {
        "paths": [reach_json(deputy, reach) for reach in paths_between(deputy, source, target)],
        "not_seen": not_seen_for(deputy, source),
    }


# -- embedded twins of the Cypher library --------------------------------------------
#
# Each function answers one query of queries/cypher/ on the networkx graph, with rows
# whose keys are the Cypher query's columns, so that tests can compare the two stores.


ACTORS = (Label.USER, Label.ROLE, Label.ESCALATED_PRINCIPAL)


def _principals(deputy: DeputyGraph) -> list[str]:
    return sorted(node for node, data in deputy.graph.nodes(data=True) if data["label"] in (Label.USER, Label.ROLE))


def _assume_then(deputy: DeputyGraph, start: str, rel: Rel) -> dict[str, tuple[int, bool, dict[str, Any], str]]:
    """Shortest chains of act-as edges then one `rel` edge: target -> (hops, conditional, edge, its source).

    Act-as edges are CAN_ASSUME and the escalation edges to a user, role or escalated principal.
    """
    graph = deputy.graph
    found: dict[str, tuple[int, bool, dict[str, Any], str]] = {}
    seen = {start}
    frontier: list[tuple[str, int, bool]] = [(start, 0, False)]
    while frontier:
        following: list[tuple[str, int, bool]] = []
        for node, hops, conditional in frontier:
            for _, target, key, data in graph.out_edges(node, keys=True, data=True):
                edge_conditional = conditional or bool(data.get("conditional"))
                if key == rel and target not in found:
                    found[target] = (hops + 1, edge_conditional, data, node)
                acts_as = key == Rel.CAN_ASSUME or (key in ESCALATION_RELS and graph.nodes[target]["label"] in ACTORS)
                if acts_as and target not in seen:
                    seen.add(target)
                    following.append((target, hops + 1, edge_conditional))
        frontier = following
    return found


def _reach_row(reach: Reach) -> dict[str, Any]:
    return {
        "target": reach.target,
        "access": reach.access,
        "weak": reach.weak,
        "conditional": reach.conditional,
        "hops": len(reach.steps),
    }


def twin_blast_radius_principal(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    reaches = blast_radius(deputy, params["principal"], sensitive_only=params["sensitive_only"])
    return [{**_reach_row(r), "confused_deputy": r.confused_deputy} for r in reaches]


def twin_blast_radius_agent(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for node, data in sorted(deputy.graph.nodes(data=True)):
        if data["label"] != Label.AGENT_ALIAS or data.get("agent") != params["agent"]:
            continue
        for reach in reach_from(deputy, node):
            if params["sensitive_only"] and not deputy.graph.nodes[reach.target].get("sensitive"):
                continue
            rows.append({"alias": node, **_reach_row(reach)})
    return rows


def twin_confused_deputy_paths(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for principal in invokers(deputy):
        if params["invoker"] and principal != params["invoker"]:
            continue
        for reach in blast_radius(deputy, principal, via_agent=params["agent"] or None):
            if not reach.confused_deputy or (params["resource"] and reach.target != params["resource"]):
                continue
            agents = {deputy.graph.nodes[step.target].get("agent") for step in reach.steps}
            if params["agent"] and params["agent"] not in agents:
                continue
            rows.append({"invoker": principal, **_reach_row(reach)})
    return rows


def twin_who_can_invoke_agent(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for principal in _principals(deputy):
        for alias, (hops, _conditional, _data, _source) in sorted(
            _assume_then(deputy, principal, Rel.CAN_INVOKE_AGENT).items()
        ):
            if deputy.graph.nodes[alias].get("agent") == params["agent"]:
                rows.append({"principal": principal, "alias": alias, "hops": hops})
    return rows


def twin_who_can_reconfigure_agent(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for principal in _principals(deputy):
        found = _assume_then(deputy, principal, Rel.CAN_CONFIGURE_AGENT).get(params["agent"])
        if found is not None:
            passable = sorted(
                target for _, target, rel in deputy.graph.out_edges(found[3], keys=True) if rel == Rel.CAN_PASS_ROLE
            )
            rows.append(
                {
                    "principal": principal,
                    "hops": found[0],
                    "actions": found[2].get("actions"),
                    "passable_roles": passable,
                }
            )
    return rows


def twin_who_can_modify_guardrail(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    in_use = {target for _, target, rel in deputy.graph.edges(keys=True) if rel == Rel.USES_GUARDRAIL}
    rows = []
    for principal in _principals(deputy):
        for guardrail, (hops, _conditional, data, _source) in sorted(
            _assume_then(deputy, principal, Rel.CAN_MODIFY_GUARDRAIL).items()
        ):
            if guardrail in in_use and params["guardrail"] in ("", guardrail):
                rows.append(
                    {"guardrail": guardrail, "principal": principal, "hops": hops, "actions": data.get("actions")}
                )
    return rows


def twin_lambda_role_reach(deputy: DeputyGraph, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    graph = deputy.graph
    for function, data in sorted(graph.nodes(data=True)):
        if data["label"] != Label.LAMBDA_FUNCTION or params["function"] not in ("", function):
            continue
        roles = [target for _, target, rel in graph.out_edges(function, keys=True) if rel == Rel.HAS_EXECUTION_ROLE]
        for role in roles:
            for rel in (Rel.CAN_READ, Rel.CAN_WRITE, Rel.CAN_CALL, Rel.CAN_MODIFY_GUARDRAIL):
                for target, (hops, _conditional, _data, _source) in sorted(_assume_then(deputy, role, rel).items()):
                    if params["sensitive_only"] and not graph.nodes[target].get("sensitive"):
                        continue
                    rows.append(
                        {"function": function, "role": role, "target": target, "access": str(rel), "hops": hops}
                    )
    return rows


TWINS = {
    "blast_radius_principal": twin_blast_radius_principal,
    "blast_radius_agent": twin_blast_radius_agent,
    "confused_deputy_paths": twin_confused_deputy_paths,
    "who_can_invoke_agent": twin_who_can_invoke_agent,
    "who_can_reconfigure_agent": twin_who_can_reconfigure_agent,
    "who_can_modify_guardrail": twin_who_can_modify_guardrail,
    "lambda_role_reach": twin_lambda_role_reach,
}
