"""The finding record that every rule returns, and the severities it is ranked by."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for the most severe, so that sorting by rank puts it first."""
        return list(Severity).index(self)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a finding holds: one policy statement, or one setting that is missing or wrong.

    `policy` and `statement_index` name a statement as the graph's edges do (a managed
    policy ARN, or an id such as `ROLE_ARN#inline:NAME`). A finding about a missing
    setting has no policy and names the setting in `setting`.
    """

    detail: str
    policy: str | None = None
    statement_index: int | None = None
    sid: str | None = None
    setting: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "policy": self.policy,
            "statement_index": self.statement_index,
            "sid": self.sid,
            "setting": self.setting,
        }


@dataclass(frozen=True, slots=True)
class PathNode:
    arn: str
    label: str
    name: str


@dataclass(frozen=True, slots=True)
class PathEdge:
    source: str
    target: str
    rel: str
    reason: str


@dataclass(frozen=True, slots=True)
class AttackPath:
    """One explaining path of a finding, kept so that reports can draw it."""

    nodes: tuple[PathNode, ...]
    edges: tuple[PathEdge, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [{"arn": n.arn, "label": n.label, "name": n.name} for n in self.nodes],
            "edges": [{"from": e.source, "to": e.target, "type": e.rel, "reason": e.reason} for e in self.edges],
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing to fix: which rule, how severe, what it touches, the evidence and the fix.

    `key` tells findings of one rule apart (a role ARN, a target and access); with the
    rule id it gives `finding_id`, which stays the same from one run to the next while
    the finding holds. `score` orders findings of the same severity, larger first.
    """

    rule_id: str
    rule: str
    severity: Severity
    title: str
    key: str
    resources: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    remediation: str
    score: float = 0.0
    path: AttackPath | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def finding_id(self) -> str:
        digest = hashlib.sha256(f"{self.rule_id}\n{self.key}".encode()).hexdigest()[:16]
        return f"{self.rule_id}-{digest}"

    def sort_key(self) -> tuple[int, float, str, str]:
        return (self.severity.rank, -self.score, self.rule_id, self.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.finding_id,
            "key": self.key,
            "rule_id": self.rule_id,
            "type": self.rule,
            "severity": str(self.severity),
            "title": self.title,
            "resources": list(self.resources),
            "evidence": [item.to_json() for item in self.evidence],
            "remediation": self.remediation,
            "score": self.score,
            "path": self.path.to_json() if self.path else None,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    """A finding type: its stable id, its name in output and what it looks for."""

    rule_id: str
    name: str
    summary: str
    default_severity: Severity


RULES: tuple[Rule, ...] = (
    Rule(
        "DG001",
        "wildcard-permissions",
        "Agent or action-group Lambda role allows wildcard actions or wildcard resources on data actions",
        Severity.HIGH,
    ),
    Rule(
        "DG002",
        "shared-execution-role",
        "One execution role is shared by several agents or other workloads",
        Severity.MEDIUM,
    ),
    Rule(
        "DG003",
        "confused-deputy",
        "An invoker reaches a sensitive resource through an agent without direct access",
        Severity.CRITICAL,
    ),
    Rule("DG004", "agent-reconfiguration", "A principal can reconfigure an agent and gain its reach", Severity.HIGH),
    Rule("DG005", "bedrock-scp-missing", "No SCP restricts Bedrock to approved accounts and regions", Severity.MEDIUM),
    Rule(
        "DG006",
        "bedrock-logging-missing",
        "Bedrock agent invocations or management events are not logged by CloudTrail",
        Severity.MEDIUM,
    ),
    Rule(
        "DG007",
        "production-alias-without-guardrail",
        "A production agent alias runs without a guardrail",
        Severity.HIGH,
    ),
    Rule(
        "DG008",
        "guardrail-tampering",
        "A guardrail can be changed by principals other than its admins, or is not enforced",
        Severity.MEDIUM,
    ),
    Rule(
        "DG009",
        "cross-service-confused-deputy",
        "Bedrock may act for any account's agent: no aws:SourceAccount or aws:SourceArn condition",
        Severity.HIGH,
    ),
    Rule(
        "DG010",
        "unrestricted-sensitive-resource",
        "A sensitive bucket or function has no resource-based policy limiting who may use it",
        Severity.MEDIUM,
    ),
    Rule(
        "DG011",
        "agent-drift",
        "What an agent's aliases serve (versions, role permissions, action groups, knowledge bases) changed since "
        "the previous build",
        Severity.MEDIUM,
    ),
)
RULES_BY_ID = {rule.rule_id: rule for rule in RULES}
