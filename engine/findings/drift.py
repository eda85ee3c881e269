"""DG011: agents whose role permissions, action groups or knowledge bases changed between builds.

An agent repurposed after its review (a new action group, a role with more
permissions) needs a fresh review. Each build gives, per agent, the execution roles of
its versions with their policy digests, the permission relationships of those roles,
its action groups and its knowledge bases, as plain rows. The rows come from the
networkx graph (`rows_from_graph`) or from a Neo4j build (`queries.findings_store`),
so both backends compare builds by the same rule.

Not modelled: changes to a version's foundation model, instructions or guardrail, and
new agents, which have no earlier state to compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.findings.model import Evidence, Finding, Severity
from engine.graph import DeputyGraph
from engine.model import PERMISSION_RELS, Label, Rel

Rows = Mapping[str, list[dict[str, Any]]]
ROW_KINDS = ("agents", "roles", "permissions", "action_groups", "knowledge_bases")


@dataclass(slots=True)
class AgentState:
    """What one agent runs with in one build."""

    name: str
    roles: set[tuple[str, str]] = field(default_factory=set)  # (role ARN, policy digest)
    permissions: set[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=set)  # role, rel, target, actions
    action_groups: set[tuple[str, str, bool]] = field(default_factory=set)  # name, Lambda ARN, enabled
    knowledge_bases: set[tuple[str, bool]] = field(default_factory=set)  # ARN, enabled


def rows_from_graph(deputy: DeputyGraph) -> dict[str, list[dict[str, Any]]]:
    """The drift rows of a networkx graph, in the shape the Neo4j queries return."""
    graph = deputy.graph
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ROW_KINDS}
    for node, data in graph.nodes(data=True):
        if data["label"] == Label.BEDROCK_AGENT:
            rows["agents"].append({"agent": node, "name": data.get("name")})
        if data["label"] != Label.AGENT_VERSION:
            continue
        agent = data.get("agent")
        for _, target, rel, edge in graph.out_edges(node, keys=True, data=True):
            target_data = graph.nodes[target]
            if rel == Rel.HAS_EXECUTION_ROLE:
                rows["roles"].append({"agent": agent, "role": target, "digest": target_data.get("policy_digest")})
                for _, reached, permission, granted in graph.out_edges(target, keys=True, data=True):
                    if permission in PERMISSION_RELS:
                        rows["permissions"].append(
                            {
                                "agent": agent,
                                "role": target,
                                "rel": str(permission),
                                "target": reached,
                                "actions": list(granted.get("actions") or []),
                            }
                        )
            elif rel == Rel.HAS_ACTION_GROUP:
                rows["action_groups"].append(
                    {
                        "agent": agent,
                        "name": target_data.get("name"),
                        "lambda_arn": target_data.get("lambda_arn"),
                        "enabled": bool(edge.get("enabled")),
                    }
                )
            elif rel == Rel.USES_KNOWLEDGE_BASE:
                rows["knowledge_bases"].append(
                    {"agent": agent, "knowledge_base": target, "enabled": bool(edge.get("enabled"))}
                )
    return rows


def states_from_rows(rows: Rows) -> dict[str, AgentState]:
    states: dict[str, AgentState] = {}
    for row in rows["agents"]:
        states[str(row["agent"])] = AgentState(name=str(row.get("name") or row["agent"]))
    for row in rows["roles"]:
        states[row["agent"]].roles.add((str(row["role"]), str(row.get("digest") or "")))
    for row in rows["permissions"]:
        actions = tuple(sorted(str(action) for action in row.get("actions") or []))
        states[row["agent"]].permissions.add((str(row["role"]), str(row["rel"]), str(row["target"]), actions))
    for row in rows["action_groups"]:
        states[row["agent"]].action_groups.add(
            (str(row["name"]), str(row.get("lambda_arn") or ""), bool(row["enabled"]))
        )
    for row in rows["knowledge_bases"]:
        states[row["agent"]].knowledge_bases.add((str(row["knowledge_base"]), bool(row["enabled"])))
    return states


def _describe(items: Iterable[tuple[Any, ...]], kind: str) -> list[str]:
    texts = []
    for item in sorted(items):
        if kind == "roles":
            texts.append(f"role {item[0]} (policy digest {item[1][:12]})")
        elif kind == "permissions":
            texts.append(f"{item[0].rsplit('/', 1)[-1]} {item[1]} {item[2]} ({', '.join(item[3])})")
        elif kind == "action_groups":
            texts.append(
                f"action group {item[0]} -> {item[1] or 'return of control'}{'' if item[2] else ' (disabled)'}"
            )
        else:
            texts.append(f"knowledge base {item[0]}{'' if item[1] else ' (disabled)'}")
    return texts


def drift_findings(previous: Rows, current: Rows, *, previous_label: str = "the previous build") -> list[Finding]:
    """DG011: one finding per agent, present in both builds, whose state changed."""
    before = states_from_rows(previous)
    after = states_from_rows(current)
    findings: list[Finding] = []
    for agent in sorted(set(before) & set(after)):
        old, new = before[agent], after[agent]
        evidence: list[Evidence] = []
        grew = False
        for kind in ("roles", "permissions", "action_groups", "knowledge_bases"):
            old_items: set[Any] = getattr(old, kind)
            new_items: set[Any] = getattr(new, kind)
            added, removed = new_items - old_items, old_items - new_items
            grew = grew or (bool(added) and kind in ("permissions", "action_groups", "knowledge_bases"))
            evidence += [
                Evidence(detail=f"added since {previous_label}: {text}", setting=kind)
                for text in _describe(added, kind)
            ]
            evidence += [
                Evidence(detail=f"removed since {previous_label}: {text}", setting=kind)
                for text in _describe(removed, kind)
            ]
        if not evidence:
            continue
        changed = sorted({item.setting or "" for item in evidence})
        changed_kinds = ", ".join(kind.replace("_", " ") for kind in changed)
        findings.append(
            Finding(
                rule_id="DG011",
                rule="agent-drift",
                severity=Severity.HIGH if grew else Severity.MEDIUM,
                title=f"Agent {new.name} changed since {previous_label}: {changed_kinds}",
                key=agent,
                resources=(agent,),
                evidence=tuple(evidence),
                remediation=(
                    f"Review {new.name} again: confirm that the new action groups, knowledge bases and role "
                    "permissions belong to its purpose, and re-run deputy analyze to see the blast radius they add."
                ),
                score=float(len(evidence)),
                details={"changed": changed},
            )
        )
    return findings
