"""`deputy report`: findings, least-privilege proposals and top attack paths for people and dashboards.

`build_report` gathers everything once, as JSON-ready data; the renderers turn it into
Markdown, a self-contained HTML page (`api.report_html`), SARIF 2.1.0 or JSON. The JSON
form is the report data itself and is the stable interface for scripts.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from api.render import node_name
from api.snapshot_files import evidence_file
from engine.findings import RULES, Finding, find_all
from engine.graph import DeputyGraph
from engine.least_privilege import propose
from engine.paths import invokers
from queries.embedded import summary

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0.0 to 10.0) to rank security results.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
TOP_PATHS = 5
# The SARIF base id of artifact URIs, which are relative to the snapshot folder.
SNAPSHOT_BASE_ID = "SNAPSHOT_ROOT"

Progress = Callable[[str], None]


def tool_version() -> str:
    try:
        return version("deputygraph")
    except PackageNotFoundError:
        return "0+unknown"


def build_report(
    deputy: DeputyGraph, *, previous: DeputyGraph | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Run every finding rule and the least-privilege proposals; return the report data."""
    findings: list[Finding] = find_all(deputy, previous=previous, progress=progress)
    proposals = propose(deputy, progress=progress)
    counts = Counter(str(finding.severity) for finding in findings)
    top_paths = [finding for finding in findings if finding.path is not None][:TOP_PATHS]
    invoker_list = invokers(deputy)
    totals = summary(deputy, invoker_list, {})
    return {
        "tool": {"name": "deputygraph", "version": tool_version()},
        "snapshot": deputy.snapshot.path,
        "collected_at": deputy.snapshot.collected_at,
        "previous_snapshot": previous.snapshot.path if previous is not None else None,
        "summary": {
            "findings": len(findings),
            "by_severity": {severity: counts.get(severity, 0) for severity in SARIF_LEVELS},
            "by_rule": dict(sorted(Counter(finding.rule_id for finding in findings).items())),
            "accounts": totals["accounts"],
            "invokers": len(invoker_list),
            "agents": totals["nodes"]["BedrockAgent"],
            "agent_aliases": totals["nodes"]["AgentAlias"],
        },
        "rules": [
            {
                "id": rule.rule_id,
                "name": rule.name,
                "summary": rule.summary,
                "default_severity": str(rule.default_severity),
            }
            for rule in RULES
        ],
        "findings": [finding.to_json() for finding in findings],
        "top_attack_paths": [finding.finding_id for finding in top_paths],
        "least_privilege": [proposal.to_json() for proposal in proposals],
        # The graph adds one note per agent version, so a gap that several versions share
        # (a missing action-group function) repeats word for word: keep the first.
        "not_seen": list(dict.fromkeys(deputy.notes)),
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


# -- SARIF ------------------------------------------------------------------------------


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def render_sarif(report: dict[str, Any]) -> str:
    """The findings as one SARIF 2.1.0 run; each result names a snapshot file and its resource ARNs."""
    rule_index = {rule["id"]: index for index, rule in enumerate(report["rules"])}
    rules = [
        {
            "id": rule["id"],
            "name": _camel(rule["name"]),
            "shortDescription": {"text": rule["summary"]},
            "fullDescription": {"text": rule["summary"]},
            "defaultConfiguration": {"level": SARIF_LEVELS[rule["default_severity"]]},
            "properties": {
                "security-severity": SECURITY_SEVERITY[rule["default_severity"]],
                "tags": ["security", "aws", "bedrock"],
            },
        }
        for rule in report["rules"]
    ]
    root = Path(report["snapshot"])
    results = []
    for finding in report["findings"]:
        # Items that end with a colon introduce the path steps after them and read badly alone.
        sentences = [str(item["detail"]) for item in finding["evidence"] if not str(item["detail"]).endswith(":")]
        evidence = "; ".join(sentences[:3])
        results.append(
            {
                "ruleId": finding["rule_id"],
                "ruleIndex": rule_index[finding["rule_id"]],
                "level": SARIF_LEVELS[finding["severity"]],
                "message": {"text": f"{finding['title']}. {evidence}. Fix: {finding['remediation']}"},
                # GitHub code scanning rejects a result without an artifact location, so the
                # one location names the snapshot file that contains the evidence.
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": evidence_file(root, finding["resources"], finding["evidence"]),
                                "uriBaseId": SNAPSHOT_BASE_ID,
                            },
                            "region": {"startLine": 1},
                        },
                        "logicalLocations": [
                            {"fullyQualifiedName": resource, "kind": "resource"}
                            for resource in finding["resources"][:10]
                        ],
                    }
                ],
                "partialFingerprints": {"deputygraphFindingId/v1": finding["id"]},
                "properties": {
                    "security-severity": SECURITY_SEVERITY[finding["severity"]],
                    "severity": finding["severity"],
                    "resources": finding["resources"],
                    "evidence": finding["evidence"],
                    "remediation": finding["remediation"],
                    "details": finding["details"],
                },
            }
        )
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "deputygraph", "version": report["tool"]["version"], "rules": rules}},
                "invocations": [{"executionSuccessful": True}],
                "originalUriBaseIds": {SNAPSHOT_BASE_ID: {"uri": root.resolve().as_uri() + "/"}},
                "properties": {"snapshot": report["snapshot"], "not_seen": report["not_seen"]},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


# -- Markdown ---------------------------------------------------------------------------


# Characters that Markdown (CommonMark with GitHub's tables) reads as markup wherever they
# stand: a backslash before each makes it literal. `<` and `&` become entities, so that text
# from a snapshot cannot open raw HTML, an autolink or an entity.
MARKDOWN_SPECIAL = frozenset("\\`*[]|")
HTML_ENTITIES = {"<": "&lt;", "&": "&amp;"}


def _md(text: Any) -> str:
    """Escape text for a Markdown table cell, list item or heading, on one line."""
    escaped = []
    for char in str(text).replace("\n", " ").replace("\r", " "):
        if char in HTML_ENTITIES:
            escaped.append(HTML_ENTITIES[char])
        elif char in MARKDOWN_SPECIAL:
            escaped.append("\\" + char)
        else:
            escaped.append(char)
    return "".join(escaped)


def _code(text: Any) -> str:
    """Write text as a Markdown code span, with a fence longer than any run of backticks inside."""
    value = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{padding}{value}{padding}{fence}"


def _fence(lines: list[str]) -> str:
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _evidence_lines(finding: dict[str, Any]) -> list[str]:
    """Write the evidence as list items, nesting the steps of a path under the item that introduces it.

    An item that ends with a colon (`shortest path through agent ..., for alice:`)
    introduces the path steps (`a -[REL]-> b: ...`) that follow it.
    """
    lines = []
    nested = False
    for item in finding["evidence"]:
        detail = str(item["detail"])
        is_step = " -[" in detail and "]-> " in detail
        nested = nested and is_step
        where = ""
        # A step's detail names its statement already (`POLICY#INDEX(SID)`).
        if item["policy"] and f"{item['policy']}#{item['statement_index']}" not in detail:
            where = f" ({_code(item['policy'])} statement {item['statement_index']})"
        if item["setting"]:
            where += f" (setting: {_md(item['setting'])})"
        indent = "    " if nested else "  "
        lines.append(f"{indent}- {_md(detail)}{where}")
        if detail.endswith(":"):
            nested = True
    return lines


def path_text(path: dict[str, Any]) -> list[str]:
    """A path as one line per step: node, then the relationship that leads on."""
    names = {node["arn"]: node_name(node) for node in path["nodes"]}
    lines = [names[path["nodes"][0]["arn"]]]
    for edge in path["edges"]:
        lines.append(f"  -[{edge['type']}]-> {names[edge['to']]}")
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    counts = report["summary"]["by_severity"]
    lines = [
        f"# deputygraph report: {_md(report['snapshot'])}",
        "",
        f"Collected {report['collected_at'] or 'at an unknown time'}; deputygraph {report['tool']['version']}."
        + (f" Drift compared with {_md(report['previous_snapshot'])}." if report["previous_snapshot"] else ""),
        "",
        "## Summary",
        "",
        "| Severity | Findings |",
        "| --- | --- |",
        *[f"| {severity} | {count} |" for severity, count in counts.items()],
        "",
        f"{report['summary']['invokers']} principals can invoke {report['summary']['agent_aliases']} aliases of "
        f"{report['summary']['agents']} agents in {report['summary']['accounts']} account(s).",
    ]
    by_id = {finding["id"]: finding for finding in report["findings"]}
    if report["top_attack_paths"]:
        lines += ["", "## Top attack paths", ""]
        for number, finding_id in enumerate(report["top_attack_paths"], start=1):
            finding = by_id[finding_id]
            steps = path_text(finding["path"])
            fence = _fence(steps)
            lines += [f"{number}. **{_md(finding['title'])}** ({finding['severity']})", "", f"   {fence}"]
            lines += [f"   {line}" for line in steps]
            lines += [f"   {fence}", ""]
    lines += ["", "## Findings", ""]
    lines += ["| # | Severity | Rule | Title |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {number} | {finding['severity']} | {finding['rule_id']} | {_md(finding['title'])} |"
        for number, finding in enumerate(report["findings"], start=1)
    ]
    for number, finding in enumerate(report["findings"], start=1):
        lines += ["", f"### {number}. {_md(finding['title'])}", ""]
        lines += [f"- **Id:** `{finding['id']}` ({finding['rule_id']} {finding['type']}, {finding['severity']})"]
        lines += ["- **Resources:** " + ", ".join(_code(resource) for resource in finding["resources"])]
        lines += ["- **Evidence:**", *_evidence_lines(finding)]
        lines += [f"- **Remediation:** {_md(finding['remediation'])}"]
    lines += _markdown_least_privilege(report)
    if report["not_seen"]:
        lines += ["", "## Not analysed", ""]
        lines += [f"- {_md(note)}" for note in report["not_seen"]]
    return "\n".join(lines) + "\n"


def _markdown_least_privilege(report: dict[str, Any]) -> list[str]:
    if not report["least_privilege"]:
        return []
    lines = [
        "",
        "## Least-privilege policies",
        "",
        "Each figure comes from evaluating the role's permissions again with the proposal in place of its policies.",
        "",
        "| Role | Purpose | Invoker paths before → after | Sensitive targets before → after "
        "| Role's own sensitive reach before → after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for item in report["least_privilege"]:
        before, after = item["before"], item["after"]
        lines.append(
            f"| {_md(item['role_name'])} | {_md(item['purpose'])} "
            f"| {before['invoker_paths']} → {after['invoker_paths']} "
            f"| {before['sensitive_targets']} → {after['sensitive_targets']} "
            f"| {before['role_sensitive_reach']} → {after['role_sensitive_reach']} |"
        )
    for item in report["least_privilege"]:
        lines += ["", f"### {_md(item['role_name'])}", "", f"{_code(item['role'])}, {_md(item['purpose'])}.", ""]
        lines += [f"- {_md(note)}" for note in item["notes"]]
        removed = item["removed"]
        if removed["invoker_paths"]:
            lines.append(f"- Removes {len(removed['invoker_paths'])} invoker paths, for example:")
            lines += [
                f"  - {_md(path['invoker'])} through {_md(path['alias'])}: {path['access']} {_md(path['target'])}"
                for path in removed["invoker_paths"][:5]
            ]
        lines += ["", "```json", json.dumps(item["policy"], indent=2), "```"]
    return lines
