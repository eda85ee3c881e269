"""DG011: what an agent's aliases serve, compared between two builds.

An agent repurposed after its review (a new action group, a role with more
permissions, an alias pointed at a new version) needs a fresh review. Each build gives,
per agent, where each alias routes (alias -> versions) and, per version, its execution
role with the role's policy digest and permission relationships, its action groups, the
Lambda functions they call with each function's execution role and its permission
relationships, and its knowledge bases,
as plain rows. The rows come from the networkx graph (`rows_from_graph`) or from a Neo4j
build (`queries.findings_store`), so both backends compare builds by the same rule.

The comparison is per alias: what an alias serves in the current build (the versions it
routes to now) against what it served in the previous build (the versions it routed to
then). That reports an alias re-routed to a version with other action groups even when
both versions existed before, and a change inside a version that an alias keeps serving.
A new alias is compared with what the agent's aliases served before. Those changes are
one finding per agent, high when an alias now serves permissions, action groups,
functions or knowledge bases it did not serve before, and medium otherwise.

A change to a version that no alias serves, or that only the test alias `TSTALIASID`
serves, is reported apart as an unreleased change of low severity. Every agent's working
draft (`DRAFT`) is such a version: InvokeAgent with the test alias runs the draft, for
trying changes out (Amazon Bedrock User Guide, "Test and troubleshoot agent behavior").
A confused-deputy path through the test alias is a DG003 finding of the same build. An
analyst reviews a draft change before an alias serves it, and the served finding
appears when one does. A change that
the served finding already reports, such as a role that the draft shares with a
released version, is not repeated there.

Not modelled: changes to a version's foundation model, instructions or guardrail, new
agents, which have no earlier state to compare, and new versions that no alias serves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.findings.model import Evidence, Finding, Severity
from engine.graph import DeputyGraph
from engine.model import PERMISSION_RELS, Label, Rel

Rows = Mapping[str, list[dict[str, Any]]]
ROW_KINDS = (
    "agents",
    "aliases",
    "versions",
    "permissions",
    "action_groups",
    "functions",
    "function_permissions",
    "knowledge_bases",
)
# The parts of a version that are compared, in the order the evidence lists them.
PARTS = ("roles", "permissions", "action_groups", "functions", "function_permissions", "knowledge_bases")
# Parts whose new items give an agent more reach, which makes a served change high.
GROWING_PARTS = frozenset({"permissions", "action_groups", "functions", "function_permissions", "knowledge_bases"})
PART_WORDS = {
    "routing": "alias routing",
    "roles": "execution role",
    "permissions": "role permissions",
    "action_groups": "action groups",
    "functions": "action-group functions",
    "function_permissions": "action-group function role permissions",
    "knowledge_bases": "knowledge bases",
}
# The id of the test alias, through which InvokeAgent runs an agent's DRAFT.
TEST_ALIAS_ID = "TSTALIASID"

Item = tuple[Any, ...]
Route = tuple[str, ...]  # the versions an alias routes to, sorted; empty when it rejects invocations


@dataclass(slots=True)
class VersionState:
    """The settings one agent version runs with in one build, as one set of items per part."""

    roles: set[Item] = field(default_factory=set)  # (role ARN, policy digest)
    permissions: set[Item] = field(default_factory=set)  # (role, rel, target, actions)
    action_groups: set[Item] = field(default_factory=set)  # (name, Lambda ARN, enabled)
    functions: set[Item] = field(default_factory=set)  # (function ARN, role ARN, policy digest, invocable)
    function_permissions: set[Item] = field(default_factory=set)  # (function role, rel, target, actions)
    knowledge_bases: set[Item] = field(default_factory=set)  # (ARN, enabled)

    def part(self, name: str) -> set[Item]:
        items: set[Item] = getattr(self, name)
        return items


@dataclass(slots=True)
class AgentState:
    """An agent in one build: its aliases' routes and its versions."""

    name: str
    alias_names: dict[str, str] = field(default_factory=dict)  # alias ARN -> name
    routes: dict[str, Route] = field(default_factory=dict)  # alias ARN -> versions it serves
    versions: dict[str, VersionState] = field(default_factory=dict)

    def version(self, name: str) -> VersionState:
        return self.versions.setdefault(name, VersionState())

    def served(self, route: Route) -> dict[str, set[Item]]:
        """Return the union of each part over the versions of a route."""
        return {part: _union(self.versions.get(v, VersionState()).part(part) for v in route) for part in PARTS}

    def released_routes(self) -> dict[str, Route]:
        return {alias: route for alias, route in self.routes.items() if not is_test_alias(alias)}


def is_test_alias(alias_arn: str) -> bool:
    return alias_arn.rsplit("/", 1)[-1] == TEST_ALIAS_ID


def _union(sets: Iterable[set[Item]]) -> set[Item]:
    result: set[Item] = set()
    for items in sets:
        result |= items
    return result


# -- rows -------------------------------------------------------------------------------


def rows_from_graph(deputy: DeputyGraph) -> dict[str, list[dict[str, Any]]]:
    """The drift rows of a networkx graph, in the shape the Neo4j queries return."""
    graph = deputy.graph
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ROW_KINDS}
    for node, data in graph.nodes(data=True):
        label = data["label"]
        if label == Label.BEDROCK_AGENT:
            rows["agents"].append({"agent": node, "name": data.get("name")})
        elif label == Label.AGENT_ALIAS:
            rows["aliases"] += _alias_rows(deputy, node, data)
        elif label == Label.AGENT_VERSION:
            _add_version_rows(deputy, node, data, rows)
    return rows


def _alias_rows(deputy: DeputyGraph, node: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    graph = deputy.graph
    base = {"agent": data.get("agent"), "alias": node, "name": data.get("name")}
    routes = [
        {**base, "version": graph.nodes[target].get("version"), "active": bool(edge.get("active", True))}
        for _, target, rel, edge in graph.out_edges(node, keys=True, data=True)
        if rel == Rel.ROUTES_TO
    ]
    return routes or [{**base, "version": None, "active": False}]


def _add_version_rows(
    deputy: DeputyGraph, node: str, data: Mapping[str, Any], rows: dict[str, list[dict[str, Any]]]
) -> None:
    graph = deputy.graph
    where = {"agent": data.get("agent"), "version": data.get("version")}
    roles = [target for _, target, rel in graph.out_edges(node, keys=True) if rel == Rel.HAS_EXECUTION_ROLE]
    for role in roles or [None]:
        digest = graph.nodes[role].get("policy_digest") if role is not None else None
        rows["versions"].append({**where, "role": role, "digest": digest})
    for role in roles:
        rows["permissions"] += _permission_rows(deputy, role, where)
    for _, target, rel, edge in graph.out_edges(node, keys=True, data=True):
        target_data = graph.nodes[target]
        if rel == Rel.HAS_ACTION_GROUP:
            rows["action_groups"].append(
                {
                    **where,
                    "name": target_data.get("name"),
                    "lambda_arn": target_data.get("lambda_arn"),
                    "enabled": bool(edge.get("enabled")),
                }
            )
            function_rows = _function_rows(deputy, target, where)
            rows["functions"] += function_rows
            for role in sorted({str(row["role"]) for row in function_rows if row["role"] is not None}):
                rows["function_permissions"] += _permission_rows(deputy, role, where)
        elif rel == Rel.USES_KNOWLEDGE_BASE:
            rows["knowledge_bases"].append({**where, "knowledge_base": target, "enabled": bool(edge.get("enabled"))})


def _permission_rows(deputy: DeputyGraph, role: str, where: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **where,
            "role": role,
            "rel": str(permission),
            "target": reached,
            "actions": list(granted.get("actions") or []),
        }
        for _, reached, permission, granted in deputy.graph.out_edges(role, keys=True, data=True)
        if permission in PERMISSION_RELS
    ]


def _function_rows(deputy: DeputyGraph, group: str, where: Mapping[str, Any]) -> list[dict[str, Any]]:
    graph = deputy.graph
    rows = []
    for _, function, rel, call in graph.out_edges(group, keys=True, data=True):
        if rel != Rel.CALLS_FUNCTION:
            continue
        roles = [role for _, role, rel2 in graph.out_edges(function, keys=True) if rel2 == Rel.HAS_EXECUTION_ROLE]
        for role in roles or [None]:
            rows.append(
                {
                    **where,
                    "function": function,
                    "role": role,
                    "digest": graph.nodes[role].get("policy_digest") if role is not None else None,
                    "invocable": bool(call.get("invocable")),
                }
            )
    return rows


def states_from_rows(rows: Rows) -> dict[str, AgentState]:
    """Read the rows of one build into one state per agent; rows of unknown agents are skipped."""
    states: dict[str, AgentState] = {}
    for row in rows["agents"]:
        states[str(row["agent"])] = AgentState(name=str(row.get("name") or row["agent"]))
    for row in rows["aliases"]:
        state = states.get(str(row["agent"]))
        if state is None:
            continue
        alias = str(row["alias"])
        state.alias_names[alias] = str(row.get("name") or alias)
        route = set(state.routes.get(alias, ()))
        if row.get("active") and row.get("version") is not None:
            route.add(str(row["version"]))
        state.routes[alias] = tuple(sorted(route, key=_version_order))
    for kind, part, item in _version_items(rows):
        state = states.get(str(kind["agent"]))
        if state is None:
            continue
        items = state.version(str(kind["version"])).part(part)
        if item is not None:
            items.add(item)
    return states


def _version_items(rows: Rows) -> Iterable[tuple[Mapping[str, Any], str, Item | None]]:
    """Yield (row, part, item) for each row of a version; a version without a role still counts."""
    for row in rows["versions"]:
        role = row.get("role")
        yield row, "roles", (str(role), str(row.get("digest") or "")) if role is not None else None
    for part in ("permissions", "function_permissions"):
        for row in rows.get(part, []):
            actions = tuple(sorted(str(action) for action in row.get("actions") or []))
            yield row, part, (str(row["role"]), str(row["rel"]), str(row["target"]), actions)
    for row in rows["action_groups"]:
        yield row, "action_groups", (str(row["name"]), str(row.get("lambda_arn") or ""), bool(row["enabled"]))
    for row in rows["functions"]:
        function_role = str(row.get("role") or "")
        yield (
            row,
            "functions",
            (str(row["function"]), function_role, str(row.get("digest") or ""), bool(row["invocable"])),
        )
    for row in rows["knowledge_bases"]:
        yield row, "knowledge_bases", (str(row["knowledge_base"]), bool(row["enabled"]))


def _version_order(name: str) -> tuple[int, int, str]:
    return (1, int(name), "") if name.isdigit() else (0, 0, name)


# -- text -------------------------------------------------------------------------------


def _last(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def describe_item(part: str, item: Item) -> str:
    """Write one item of a version's part as a reader of the evidence expects it."""
    if part == "roles":
        return f"execution role {item[0]} (policy digest {item[1][:12]})"
    if part in ("permissions", "function_permissions"):
        return f"{_last(item[0])} {item[1]} {item[2]} ({', '.join(item[3])})"
    if part == "action_groups":
        return f"action group {item[0]} -> {item[1] or 'return of control'}{'' if item[2] else ' (disabled)'}"
    if part == "functions":
        role = f"{_last(item[1])} (policy digest {item[2][:12]})" if item[1] else "no role in the snapshot"
        invocable = "" if item[3] else ", which Bedrock may not invoke"
        return f"function {item[0]} runs with {role}{invocable}"
    return f"knowledge base {item[0]}{'' if item[1] else ' (disabled)'}"


def _route_text(route: Route | None) -> str:
    if not route:
        return "no version (it rejects invocations)"
    noun = "version" if len(route) == 1 else "versions"
    return f"{noun} {' and '.join(route)}"


# -- comparison -------------------------------------------------------------------------


@dataclass(slots=True)
class _Drift:
    """The evidence of one agent's changes, with the parts it names and whether reach grew."""

    evidence: list[Evidence] = field(default_factory=list)
    parts: set[str] = field(default_factory=set)
    grew: bool = False
    reported: set[tuple[str, str, Item]] = field(default_factory=set)  # (added or removed, part, item)
    aliases: set[str] = field(default_factory=set)  # the aliases whose service changed

    def add_items(
        self, part: str, added: set[Item], removed: set[Item], what: str, label: str, *, what_before: str | None = None
    ) -> None:
        """Record the items of one part that `what` (an alias's service, a version) gained or lost.

        `what_before` names where a removed item was, when that differs from `what`, such
        as the version an alias served before it was re-routed.
        """
        for verb, preposition, items, where in (
            ("added", "to", added, what),
            ("removed", "from", removed, what_before or what),
        ):
            for item in sorted(items):
                detail = f"{verb} since {label} {preposition} {where}: {describe_item(part, item)}"
                self.evidence.append(Evidence(detail=detail, setting=part))
                self.reported.add((verb, part, item))
                self.parts.add(part)
        self.grew = self.grew or (bool(added) and part in GROWING_PARTS)


def _changed(part: str, before: Mapping[str, set[Item]], after: Mapping[str, set[Item]]) -> tuple[set[Item], set[Item]]:
    """Return the items of one part that were added and removed.

    The permissions of an action-group function's role count only for a role that a
    function of both builds runs with: for a function that is new or gone, the function
    item already names its role.
    """
    added, removed = after[part] - before[part], before[part] - after[part]
    if part != "function_permissions":
        return added, removed
    shared_roles = {item[1] for item in before["functions"]} & {item[1] for item in after["functions"]}
    return {item for item in added if item[0] in shared_roles}, {item for item in removed if item[0] in shared_roles}


def _served_drift(old: AgentState, new: AgentState, label: str) -> _Drift:
    """Compare what each alias other than the test alias serves now with what it served in the previous build."""
    drift = _Drift()
    before, after = old.released_routes(), new.released_routes()
    agent_before = old.served(tuple(sorted({v for route in before.values() for v in route}, key=_version_order)))
    groups: dict[tuple[Route | None, Route | None], list[str]] = defaultdict(list)
    for alias in sorted(set(before) | set(after)):
        groups[(before.get(alias), after.get(alias))].append(alias)
    for (was, now), aliases in sorted(groups.items(), key=lambda entry: entry[1]):
        one = len(aliases) == 1
        names = ", ".join(new.alias_names.get(alias) or old.alias_names[alias] for alias in aliases)
        subject = f"{'alias' if one else 'aliases'} {names}"
        count = len(drift.evidence)
        if now is None:
            detail = f"{subject} routed to {_route_text(was)} in {label} and no longer {'exists' if one else 'exist'}"
            drift.evidence.append(Evidence(detail=detail, setting="routing"))
            drift.parts.add("routing")
            drift.aliases.update(aliases)
            continue
        route = "routes" if one else "route"
        if was is None:
            detail = f"{subject} did not exist in {label} and now {route} to {_route_text(now)}"
        else:
            detail = f"{subject} routed to {_route_text(was)} in {label} and now {route} to {_route_text(now)}"
        if was != now:
            drift.evidence.append(Evidence(detail=detail, setting="routing"))
            drift.parts.add("routing")
        # A new alias is compared with what the agent's aliases served before.
        baseline = agent_before if was is None else old.served(was)
        current = new.served(now)
        what = f"what {subject} {'serves' if one else 'serve'} ({_route_text(now)})"
        if was is None:
            what_before = "what the agent's aliases served"
        else:
            what_before = f"what {subject} served ({_route_text(was)})"
        for part in PARTS:
            added, removed = _changed(part, baseline, current)
            drift.add_items(part, added, removed, what, label, what_before=what_before)
        if len(drift.evidence) > count:
            drift.aliases.update(aliases)
    return drift


def _unreleased_drift(old: AgentState, new: AgentState, label: str, served: _Drift) -> tuple[_Drift, list[str]]:
    """Compare the versions that no alias but the test alias serves now, leaving out what `served` reports."""
    drift = _Drift()
    released = {v for route in new.released_routes().values() for v in route}
    tested = {v for alias, route in new.routes.items() if is_test_alias(alias) for v in route}
    versions = []
    for version in sorted(set(old.versions) & set(new.versions) - released, key=_version_order):
        before, after = old.versions[version], new.versions[version]
        how = "which only the test alias serves" if version in tested else "which no alias serves"
        what = f"version {version}, {how}"
        count = len(drift.evidence)
        before_parts = {part: before.part(part) for part in PARTS}
        after_parts = {part: after.part(part) for part in PARTS}
        for part in PARTS:
            added, removed = _changed(part, before_parts, after_parts)
            added = {item for item in added if ("added", part, item) not in served.reported}
            removed = {item for item in removed if ("removed", part, item) not in served.reported}
            drift.add_items(part, added, removed, what, label)
        if len(drift.evidence) > count:
            versions.append(version)
    return drift, versions


def drift_findings(previous: Rows, current: Rows, *, previous_label: str = "the previous build") -> list[Finding]:
    """DG011: per agent present in both builds, one finding for served changes and one for unreleased ones."""
    before = states_from_rows(previous)
    after = states_from_rows(current)
    findings: list[Finding] = []
    for agent in sorted(set(before) & set(after)):
        old, new = before[agent], after[agent]
        served = _served_drift(old, new, previous_label)
        if served.evidence:
            findings.append(_served_finding(agent, new, served, previous_label))
        unreleased, versions = _unreleased_drift(old, new, previous_label, served)
        if unreleased.evidence:
            findings.append(_unreleased_finding(agent, new, unreleased, versions, previous_label))
    return findings


def _parts_text(parts: set[str]) -> str:
    return ", ".join(PART_WORDS[part] for part in sorted(parts, key=list(PART_WORDS).index))


def _served_finding(agent: str, state: AgentState, drift: _Drift, label: str) -> Finding:
    return Finding(
        rule_id="DG011",
        rule="agent-drift",
        severity=Severity.HIGH if drift.grew else Severity.MEDIUM,
        title=f"Agent {state.name} changed since {label}: {_parts_text(drift.parts)}",
        key=agent,
        resources=(agent, *sorted(drift.aliases)),
        evidence=tuple(drift.evidence),
        remediation=(
            f"Review {state.name} again: confirm that the versions its aliases now serve, with their action groups, "
            "knowledge bases and role permissions, belong to its purpose, and re-run deputy analyze to see the "
            "blast radius they add."
        ),
        score=float(len(drift.evidence)),
        details={"changed": sorted(drift.parts), "served": True, "aliases": sorted(drift.aliases)},
    )


def _unreleased_finding(agent: str, state: AgentState, drift: _Drift, versions: list[str], label: str) -> Finding:
    noun = "version" if len(versions) == 1 else "versions"
    return Finding(
        rule_id="DG011",
        rule="agent-drift",
        severity=Severity.LOW,
        title=f"Agent {state.name} has unreleased changes since {label} in {noun} {', '.join(versions)}: "
        f"{_parts_text(drift.parts)}",
        key=f"{agent}|unreleased",
        resources=(agent,),
        evidence=tuple(drift.evidence),
        remediation=(
            f"Review the change to {state.name} before an alias serves it. The test alias {TEST_ALIAS_ID} "
            "invokes the DRAFT already, so allow bedrock:InvokeAgent on it only to the agent's builders."
            if "DRAFT" in versions
            else f"Review the change to {state.name} before an alias serves it."
        ),
        score=float(len(drift.evidence)),
        details={"changed": sorted(drift.parts), "served": False, "versions": versions},
    )
