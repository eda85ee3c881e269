"""The HTML form of `deputy report`: one self-contained page.

Everything the page shows is inside the file: the style sheet is inline, each attack
path is an inline SVG drawing, and the page loads no script, font or image, so it
reads the same offline. Every value from the snapshot is HTML-escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from api.report import path_text

SEVERITY_COLOURS = {"critical": "#7f1d1d", "high": "#b91c1c", "medium": "#b45309", "low": "#1d4ed8"}
LABEL_COLOURS = {
    "User": "#2563eb",
    "Role": "#2563eb",
    "Group": "#2563eb",
    "AgentAlias": "#7c3aed",
    "AgentVersion": "#7c3aed",
    "ActionGroup": "#7c3aed",
    "KnowledgeBase": "#7c3aed",
    "DataSource": "#7c3aed",
    "BedrockAgent": "#7c3aed",
    "LambdaFunction": "#d97706",
    "S3Bucket": "#dc2626",
    "VpcApi": "#dc2626",
    "Guardrail": "#dc2626",
}
NODE_WIDTH = 330
NODE_HEIGHT = 48
STEP = 96  # vertical distance between two nodes of a path, in SVG units
REASON_WIDTH = 80  # characters of an edge's reason per line beside the arrow

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #111827;
       background: #f3f4f6; line-height: 1.45; }
header { background: #111827; color: #f9fafb; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #d1d5db; font-size: 14px; }
main { padding: 20px 32px 40px; max-width: 1200px; }
section { background: #fff; border-radius: 8px; padding: 16px 20px; margin-bottom: 20px;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border-radius: 6px; padding: 10px 16px; color: #fff; min-width: 110px; }
.card b { display: block; font-size: 26px; }
.facts { margin-top: 12px; font-size: 14px; color: #374151; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; }
.sev { display: inline-block; border-radius: 4px; padding: 1px 6px; color: #fff; font-size: 12px; font-weight: 600; }
details { border-top: 1px solid #e5e7eb; padding: 8px 0; }
summary { cursor: pointer; font-size: 14px; }
details ul { margin: 6px 0 6px 18px; padding: 0; font-size: 13px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
pre { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px; overflow-x: auto; }
.path { margin: 8px 0 20px; }
.muted { color: #6b7280; }
"""


def _severity(severity: str) -> str:
    return f'<span class="sev" style="background:{SEVERITY_COLOURS[severity]}">{escape(severity)}</span>'


def _wrap(text: str, width: int, lines: int) -> list[str]:
    # An ARN has no spaces, so a word longer than a line is cut into pieces of a line each.
    words = [word[i : i + width] for word in text.split() for i in range(0, len(word), width)]
    result: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            result.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        result.append(current)
    if len(result) > lines:
        result = [*result[: lines - 1], result[lines - 1][: width - 1] + "…"]
    return result


def path_svg(path: dict[str, Any], title: str) -> str:
    """Draw a path top to bottom: one box per node, one arrow per relationship with its reason beside it."""
    nodes = path["nodes"]
    height = (len(nodes) - 1) * STEP + NODE_HEIGHT + 20
    width = 1020
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#4b5563"/></marker></defs>',
    ]
    for index, node in enumerate(nodes):
        y = 10 + index * STEP
        colour = LABEL_COLOURS.get(node["label"], "#4b5563")
        parts.append(
            f'<rect x="10" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8" fill="#fff" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<rect x="10" y="{y}" width="8" height="{NODE_HEIGHT}" rx="3" fill="{colour}"/>'
            f'<text x="28" y="{y + 20}" font-size="14" font-weight="600" fill="#111827">'
            f"{escape(_wrap(node['name'], 40, 1)[0])}</text>"
            f'<text x="28" y="{y + 38}" font-size="12" fill="{colour}">{escape(node["label"])}</text>'
        )
    for index, edge in enumerate(path["edges"]):
        top = 10 + index * STEP + NODE_HEIGHT
        bottom = 10 + (index + 1) * STEP
        parts.append(
            f'<line x1="{10 + NODE_WIDTH // 2}" y1="{top}" x2="{10 + NODE_WIDTH // 2}" y2="{bottom - 2}" '
            'stroke="#4b5563" stroke-width="2" marker-end="url(#arrow)"/>'
            f'<text x="{NODE_WIDTH // 2 + 24}" y="{top + 17}" font-size="12" font-weight="700" fill="#374151">'
            f"{escape(edge['type'])}</text>"
        )
        for line_number, line in enumerate(_wrap(edge.get("reason") or "", REASON_WIDTH, 3)):
            parts.append(
                f'<text x="{NODE_WIDTH + 80}" y="{top + 17 + line_number * 15}" font-size="12" fill="#4b5563">'
                f"{escape(line)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _evidence_list(finding: dict[str, Any]) -> str:
    items = []
    for item in finding["evidence"]:
        where = ""
        if item["policy"]:
            sid = f" ({escape(item['sid'])})" if item["sid"] else ""
            where = f'<br><span class="muted">{escape(item["policy"])} statement {item["statement_index"]}{sid}</span>'
        elif item["setting"]:
            where = f'<br><span class="muted">setting: {escape(item["setting"])}</span>'
        items.append(f"<li>{escape(item['detail'])}{where}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def render_html(report: dict[str, Any]) -> str:
    summary = report["summary"]
    by_id = {finding["id"]: finding for finding in report["findings"]}
    cards = "".join(
        f'<div class="card" style="background:{SEVERITY_COLOURS[severity]}"><b>{count}</b>{escape(severity)}</div>'
        for severity, count in summary["by_severity"].items()
    )
    drift = f" Drift compared with {escape(report['previous_snapshot'])}." if report["previous_snapshot"] else ""

    body = [
        "<header>",
        f"<h1>deputygraph report: {escape(report['snapshot'])}</h1>",
        f"<p>Collected {escape(report['collected_at'] or 'at an unknown time')}; "
        f"deputygraph {escape(report['tool']['version'])}.{drift}</p>",
        "</header><main>",
        '<section id="summary"><h2>Summary</h2>',
        f'<div class="cards">{cards}</div>',
        f'<p class="facts">{summary["findings"]} finding{"" if summary["findings"] == 1 else "s"}. '
        f"{summary['invokers']} principals can invoke "
        f"{summary['agent_aliases']} aliases of {summary['agents']} agents in {summary['accounts']} account(s).</p>",
        "</section>",
    ]

    if report["top_attack_paths"]:
        body.append('<section id="attack-paths"><h2>Top attack paths</h2>')
        for number, finding_id in enumerate(report["top_attack_paths"], start=1):
            finding = by_id[finding_id]
            text = "\n".join(path_text(finding["path"]))
            body.append(
                f'<div class="path"><h3>{number}. {_severity(finding["severity"])} {escape(finding["title"])}</h3>'
                f"{path_svg(finding['path'], finding['title'])}"
                f"<details><summary>Path as text</summary><pre>{escape(text)}</pre></details></div>"
            )
        body.append("</section>")

    body.append('<section id="findings"><h2>Findings</h2>')
    body.append("<table><tr><th>#</th><th>Severity</th><th>Rule</th><th>Title</th></tr>")
    for number, finding in enumerate(report["findings"], start=1):
        body.append(
            f"<tr><td>{number}</td><td>{_severity(finding['severity'])}</td><td>{escape(finding['rule_id'])}</td>"
            f'<td><a href="#{escape(finding["id"])}">{escape(finding["title"])}</a></td></tr>'
        )
    body.append("</table>")
    for number, finding in enumerate(report["findings"], start=1):
        resources = ", ".join(f"<code>{escape(resource)}</code>" for resource in finding["resources"])
        body.append(
            f'<details id="{escape(finding["id"])}"><summary>{number}. {_severity(finding["severity"])} '
            f"<b>{escape(finding['rule_id'])}</b> {escape(finding['title'])}</summary>"
            f"<p><b>Resources:</b> {resources}</p><p><b>Evidence:</b></p>{_evidence_list(finding)}"
            f"<p><b>Remediation:</b> {escape(finding['remediation'])}</p>"
            f'<p class="muted">Finding id {escape(finding["id"])}</p></details>'
        )
    body.append("</section>")
    body += _least_privilege_html(report)
    if report["not_seen"]:
        body.append('<section id="not-seen"><h2>Not analysed</h2><ul>')
        body += [f"<li>{escape(note)}</li>" for note in report["not_seen"]]
        body.append("</ul></section>")
    body.append("</main>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>deputygraph report: {escape(report['snapshot'])}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _least_privilege_html(report: dict[str, Any]) -> list[str]:
    if not report["least_privilege"]:
        return []
    rows = []
    for item in report["least_privilege"]:
        before, after = item["before"], item["after"]
        rows.append(
            f"<tr><td>{escape(item['role_name'])}</td><td>{escape(item['purpose'])}</td>"
            f"<td>{before['invoker_paths']} → {after['invoker_paths']}</td>"
            f"<td>{before['sensitive_targets']} → {after['sensitive_targets']}</td>"
            f"<td>{before['role_sensitive_reach']} → {after['role_sensitive_reach']}</td></tr>"
        )
    body = [
        '<section id="least-privilege"><h2>Least-privilege policies</h2>',
        "<p>Each figure comes from evaluating the role's permissions again with the proposal in place of its "
        "policies.</p>",
        "<table><tr><th>Role</th><th>Purpose</th><th>Invoker paths</th><th>Sensitive targets</th>"
        "<th>Role's own sensitive reach</th></tr>",
        *rows,
        "</table>",
    ]
    for item in report["least_privilege"]:
        notes = "".join(f"<li>{escape(note)}</li>" for note in item["notes"])
        body.append(
            f"<details><summary>Proposed policy for {escape(item['role_name'])}</summary><ul>{notes}</ul>"
            f"<pre>{escape(json.dumps(item['policy'], indent=2))}</pre></details>"
        )
    body.append("</section>")
    return body
