"""Text output for people; scripts use `--format json`, whose shape is the stable interface."""

from __future__ import annotations

from typing import Any

from engine.graph import condition_text
from engine.model import Label

# Assumers listed per role in the table; JSON output lists all of them.
MAX_LISTED = 10

# The step by which a caller reaches each kind of EscalatedPrincipal, keyed by the node's
# `escalation` property. The node's name states the permissions, such as "any permission in
# account 111122223333", and the table prints the step after it in brackets.
ESCALATION_STEPS = {
    "any-policy": "after rewriting its policies",
    "group-member": "after joining the group",
    "no-boundary": "after removing its permissions boundary",
}


def node_name(node: dict[str, Any]) -> str:
    """Name a node for people: its name and label, or for an escalated principal how it came to be."""
    name = node.get("name") or node["arn"]
    if node["label"] == Label.ESCALATED_PRINCIPAL:
        return f"{name} ({ESCALATION_STEPS.get(node.get('escalation') or '', 'after a privilege escalation')})"
    return f"{name} ({node['label']})"


def path_lines(
    path: dict[str, Any], indent: str = "    ", statements: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """A path as one line per edge, with the granting statements under each permission."""
    flags = []
    if path["confused_deputy"]:
        flags.append("CONFUSED DEPUTY")
    if path["conditional"]:
        flags.append("conditional")
    if path["weak"]:
        flags.append("only through the agent's own role")
    if path.get("potential"):
        flags.append("potential: a step assumes what the snapshot does not show")
    if path.get("depends_on_gaps"):
        flags.append("depends on collection gaps " + ", ".join(f"#{index + 1}" for index in path["depends_on_gaps"]))
    target = path["nodes"][-1]
    header = f"{indent}{path['access']} {node_name(target)}  [{path['kind']}]"
    if flags:
        header += "  " + ", ".join(flags)
    lines = [header]
    names = {node["arn"]: node_name(node) for node in path["nodes"]}
    for edge in path["edges"]:
        lines.append(f"{indent}  {names[edge['from']]} -[{edge['type']}]-> {names[edge['to']]}")
        if edge.get("explanation"):
            lines.append(f"{indent}      {edge['explanation']}")
        shared = [
            (statements or {}).get(ref, {"policy": ref, "statement_index": ""})
            for ref in edge.get("statement_refs", [])
        ]
        for statement in [*shared, *edge.get("statements", [])]:
            lines.append(f"{indent}      granted by {_statement_name(statement)}")
        for condition in edge.get("conditions", []):
            lines.append(f"{indent}      {condition_text(condition)}")
        if edge.get("potential"):
            lines.append(f"{indent}      potential: {edge['potential']}")
        if edge.get("note"):
            lines.append(f"{indent}      note: {edge['note']}")
    return lines


def _statement_name(statement: dict[str, Any]) -> str:
    """Name a granting statement by its policy id, index and Sid.

    The policy that an escalated principal's caller writes has no ARN, only an id such as
    `any-policy:111122223333#attacker-policy`, so it is named by its description instead.
    """
    if not str(statement["policy"]).startswith("arn:") and statement.get("policy_name"):
        return str(statement["policy_name"])
    sid = f" {statement['sid']}" if statement.get("sid") else ""
    return f"{statement['policy']} statement {statement['statement_index']}{sid}"


def _node(result: dict[str, Any], arn: str) -> dict[str, Any]:
    """Look up a node of an analysis result in its `nodes` table."""
    return {"arn": arn, **result["nodes"][arn]}


def _expand(result: dict[str, Any], path: dict[str, Any]) -> dict[str, Any]:
    """Replace a path's edge references with the edges and their nodes."""
    edges = [result["edges"][edge_id] for edge_id in path["edges"]]
    arns = [path["from"], *(edge["to"] for edge in edges)]
    return {**path, "nodes": [_node(result, arn) for arn in arns], "edges": edges}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def analyze_text(result: dict[str, Any]) -> str:
    summary = result["summary"]
    lines = [f"deputygraph analysis of {result['snapshot']}", "", "Summary"]
    lines.append(f"  accounts: {summary['accounts']}, relationships: {summary['relationships']}")
    lines.append("  " + ", ".join(f"{label}: {count}" for label, count in summary["nodes"].items()))
    lines.append(f"  principals that can invoke an agent: {summary['invokers']}")
    lines.append(f"  sensitive targets reached through agents: {summary['sensitive_targets_reached_through_agents']}")
    lines.append(
        f"  confused-deputy paths: {summary['confused_deputy_paths']} "
        f"(held by {_count(summary['invokers_with_confused_deputy_paths'], 'invoker')})"
    )
    if result["not_seen"]:
        lines += ["", "Not analysed (missing from the snapshot)"]
        lines += [f"  - {note}" for note in result["not_seen"]]
    if result.get("collection_gaps"):
        lines += ["", "Collection gaps (calls that failed; results marked with a gap number depend on them)"]
        lines += [f"  #{index}: {sentence}" for index, sentence in enumerate(result["collection_gaps"], start=1)]
    lines += findings_summary_lines(result.get("findings", []))
    lines += _finding_lines(result)
    # Invokers holding confused-deputy paths come first, the most paths first.
    entries = sorted(result["invokers"], key=lambda entry: -sum(p["confused_deputy"] for p in entry["blast_radius"]))
    for entry in entries:
        lines += ["", f"Invoker {node_name(_node(result, entry['principal']))}"]
        for alias in entry["agent_aliases"]:
            flag = " (conditional)" if alias["conditional"] else ""
            lines.append(f"  can invoke {node_name(_node(result, alias['alias']))}{flag}")
        through_agents = [path for path in entry["blast_radius"] if path["kind"].startswith("agent-")]
        if not through_agents:
            lines.append("  reaches no sensitive target through an agent")
        for path in through_agents:
            lines += path_lines(_expand(result, path), statements=result.get("statements"))
        others = len(entry["blast_radius"]) - len(through_agents)
        if others:
            lines.append(
                f"  also reaches {_count(others, 'sensitive target')} without an agent, with its own permissions, "
                "by assuming roles or by invoking a Lambda function (see --format json)"
            )
    lines += _role_lines(result)
    lines += _escalation_note(lines)
    return "\n".join(lines)


def _escalation_note(lines: list[str]) -> list[str]:
    """Explain escalated principals once, when a line of the output names one."""
    suffixes = [f"({step})" for step in ESCALATION_STEPS.values()]
    if not any(suffix in line for line in lines for suffix in suffixes):
        return []
    return [
        "",
        "A name followed by (after rewriting its policies), (after joining the group) or (after removing its",
        "permissions boundary) is an escalated principal: a user or role of the account as it is after a caller",
        "made that change. docs/graph-model.md lists the techniques.",
    ]


def findings_summary_lines(findings: list[dict[str, Any]]) -> list[str]:
    """Build one line per finding, most severe first. `deputy report` gives the evidence and the fixes."""
    if not findings:
        return ["", "Findings: none"]
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    lines = ["", f"Findings: {len(findings)} ({', '.join(f'{n} {s}' for s, n in counts.items())}; see deputy report)"]
    lines += [f"  {f['severity'].upper():<8} {f['rule_id']}  {f['title']}" for f in findings]
    return lines


def _finding_lines(result: dict[str, Any]) -> list[str]:
    """One line per confused-deputy path, before the detail of each invoker."""
    findings = result["confused_deputy_paths"]
    if not findings:
        return []
    names = {arn: node_name(_node(result, arn)) for arn in result["nodes"]}
    lines = ["", "Confused-deputy paths (invoker, access, resource, how)"]
    for finding in findings:
        flag = ", conditional" if finding["conditional"] else ""
        if finding.get("depends_on_gaps"):
            flag += ", depends on collection gaps " + ", ".join(f"#{index + 1}" for index in finding["depends_on_gaps"])
        lines.append(
            f"  {names.get(finding['from'], finding['from'])}  {finding['access']}  "
            f"{names.get(finding['to'], finding['to'])}  [{finding['kind']}{flag}]"
        )
    return lines


def _role_lines(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    assumable = result.get("role_assumption", [])
    if assumable:
        lines += ["", "Roles that users, roles or outside accounts can assume"]
    for entry in assumable:
        lines.append(f"  {node_name(entry['role'])}")
        for assumer in entry["assumed_by"][:MAX_LISTED]:
            flag = " (conditional)" if assumer.get("conditional") else ""
            note = f" ({assumer['note']})" if assumer.get("note") else ""
            lines.append(f"    <- {_assumer_name(assumer, entry['role'])}{flag}{note}")
        hidden = len(entry["assumed_by"]) - MAX_LISTED
        if hidden > 0:
            lines.append(f"    ... and {hidden} more (see --format json)")
    federated = result.get("roles_assumed_through_federation", [])
    if federated:
        lines += ["", f"Roles assumed through identity federation: {len(federated)}"]
        for role in federated:
            lines.append(f"  {role['arn'].rsplit('/', 1)[-1]}: {', '.join(role['identity_providers'])}")
    service_only = result.get("roles_assumable_only_by_services", [])
    if service_only:
        lines += ["", f"Roles only AWS services can assume: {len(service_only)}"]
        for role in service_only:
            services = ", ".join(role["trusted_services"]) or "no trusted principal in the snapshot"
            lines.append(f"  {role['arn'].rsplit('/', 1)[-1]}: {services}")
    return lines


def _session_lines(result: dict[str, Any]) -> list[str]:
    session = result.get("session")
    return [f"note: {session['note']}", ""] if session else []


def _assumer_name(assumer: dict[str, Any], role: dict[str, Any]) -> str:
    """Name a principal that may assume the role, saying what it means when that is the role itself."""
    if assumer["arn"] != role["arn"]:
        return node_name(assumer)
    # A trust policy that names the role or its account lets a session of the role assume it
    # again (IAM User Guide, "Update a role trust policy"). The new session has no permission
    # that the old one lacked, so this line adds no reach.
    return "itself: a session of the role may assume it again, which adds no permission"


def blast_radius_text(result: dict[str, Any]) -> str:
    lines = [*_session_lines(result), f"Blast radius of {node_name(result['principal'])}"]
    for alias in result["agent_aliases"]:
        lines.append(f"  can invoke {node_name(alias['nodes'][-1])}")
    if not result["blast_radius"]:
        lines.append("  reaches no sensitive target")
    for path in result["blast_radius"]:
        lines += path_lines(path)
    lines.append(f"confused-deputy paths: {result['confused_deputy_count']}")
    lines += _escalation_note(lines)
    lines += _not_seen_lines(result)
    return "\n".join(lines)


def _not_seen_lines(result: dict[str, Any]) -> list[str]:
    """Return the lines naming what the snapshot could not show, which may hide paths from this output."""
    notes = result.get("not_seen") or []
    return ["Not analysed (paths may be missing):", *(f"  {note}" for note in notes)] if notes else []


def paths_text(result: dict[str, Any]) -> str:
    lines = _session_lines(result)
    if not result["paths"]:
        return "\n".join([*lines, "no path", *_not_seen_lines(result)])
    for index, path in enumerate(result["paths"]):
        if index > 0:
            lines.append("")
        lines += path_lines(path, indent="")
    lines += _escalation_note(lines)
    lines += _not_seen_lines(result)
    return "\n".join(lines)


def _statement_lines(title: str, statements: list[dict[str, Any]]) -> list[str]:
    if not statements:
        return []
    lines = [f"{title}:"]
    for statement in statements:
        sid = f" ({statement['sid']})" if statement.get("sid") else ""
        lines.append(f"  {statement['effect']} {statement['policy']} statement {statement['statement_index']}{sid}")
    return lines


def check_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['action']} ({result['access_level']}) on {result['resource']}",
        f"decision: {result['decision']}",
        f"reason: {result['reason']}",
    ]
    lines += _statement_lines("granted by", result["granting"])
    lines += _statement_lines("within", result["permitting"])
    lines += _statement_lines("denied by", result["denying"])
    for condition in result["conditions"]:
        lines.append(condition_text(condition))
    if result["missing_context_keys"]:
        lines.append("condition keys read but not given: " + ", ".join(result["missing_context_keys"]))
    return "\n".join(lines)
