"""Findings: what to fix first, each with a stable id, severity, evidence and remediation.

`find_all` runs every rule of `RULE_FUNCTIONS` over one built graph, in the order of
their ids, and returns the findings sorted by severity, then by score. Drift (DG011)
needs a second build: pass the earlier graph as `previous`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from engine.findings.cloudtrail import bedrock_logging
from engine.findings.context import FindingContext
from engine.findings.deputy import agent_reconfiguration, confused_deputies
from engine.findings.drift import Rows, drift_findings, rows_from_graph
from engine.findings.guardrails import guardrail_tampering, production_aliases_without_guardrail
from engine.findings.model import RULES, RULES_BY_ID, Evidence, Finding, Rule, Severity
from engine.findings.organization import bedrock_scp
from engine.findings.permissions import shared_execution_roles, wildcard_permissions
from engine.findings.resources import unrestricted_sensitive_resources
from engine.findings.trust import cross_service_confused_deputy
from engine.graph import DeputyGraph
from engine.paths import Reach
from engine.sensitivity import Sensitivity

logger = logging.getLogger(__name__)

RuleFunction = Callable[[FindingContext], list[Finding]]

RULE_FUNCTIONS: tuple[tuple[str, RuleFunction], ...] = (
    ("DG001", wildcard_permissions),
    ("DG002", shared_execution_roles),
    ("DG003", confused_deputies),
    ("DG004", agent_reconfiguration),
    ("DG005", bedrock_scp),
    ("DG006", bedrock_logging),
    ("DG007", production_aliases_without_guardrail),
    ("DG008", guardrail_tampering),
    ("DG009", cross_service_confused_deputy),
    ("DG010", unrestricted_sensitive_resources),
)

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "Evidence",
    "Finding",
    "Rows",
    "Rule",
    "Severity",
    "drift_findings",
    "find_all",
    "rows_from_graph",
    "sort_findings",
]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def find_all(
    deputy: DeputyGraph,
    sensitivity: Sensitivity | None = None,
    *,
    previous: DeputyGraph | None = None,
    progress: Callable[[str], None] | None = None,
    blast_radii: Mapping[str, Sequence[Reach]] | None = None,
) -> list[Finding]:
    """Run every rule over one graph; with `previous`, also compare the two builds (DG011).

    `blast_radii` maps every invoker to its sensitive `engine.paths.blast_radius`, for a
    caller that has computed them already; without it DG003 computes them.
    """
    context = FindingContext(deputy, sensitivity or deputy.sensitivity, blast_radii)
    findings: list[Finding] = []
    for rule_id, function in RULE_FUNCTIONS:
        started = time.perf_counter()
        found = function(context)
        elapsed = time.perf_counter() - started
        logger.info("rule %s: %s findings in %.2f s", rule_id, len(found), elapsed)
        if progress is not None:
            noun = "finding" if len(found) == 1 else "findings"
            progress(f"{rule_id} {RULES_BY_ID[rule_id].name}: {len(found)} {noun} in {elapsed:.1f} s")
        findings += found
    if previous is not None:
        found = drift_findings(
            rows_from_graph(previous), rows_from_graph(deputy), previous_label=previous.snapshot.path
        )
        if progress is not None:
            progress(f"DG011 agent-drift: {len(found)} finding{'' if len(found) == 1 else 's'}")
        findings += found
    return sort_findings(findings)
