"""The findings of the graph that the service reads: `GET /v1/findings`.

Each request reads one build, named in the X-Deputy-Build header like the other reads.
On the embedded backend the finding rules run once per build, on its first request, and
drift (DG011) compares the build with the one it replaced. The Neo4j backend reads the
findings that `deputy load` stored with the build, and adds drift since the succeeded
build before it, compared in Neo4j.
"""

from __future__ import annotations

import threading
import weakref
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from pydantic import BaseModel, Field

from api.http.backends import BackendUnavailableError, GraphView, page_of
from api.http.embedded import EmbeddedView
from api.http.models import Page
from api.http.neo4j_backend import Neo4jView
from api.http.routes import Limit, Offset, error_responses, read_view
from engine.findings import RULES, Severity, drift_findings, find_all, sort_findings
from queries.findings_store import build_findings

router = APIRouter(prefix="/v1", tags=["findings"], responses=error_responses(400, 401, 501, 503))

SEVERITY_RANK = {str(severity): severity.rank for severity in Severity}
RULE_NAMES = {rule.rule_id: rule.name for rule in RULES}
_embedded_cache: weakref.WeakKeyDictionary[EmbeddedView, list[dict[str, Any]]] = weakref.WeakKeyDictionary()
_embedded_lock = threading.Lock()


class FindingEvidence(BaseModel):
    """Why a finding holds: a policy statement, or a setting."""

    detail: str = Field(description="sentence that states the evidence")
    policy: str | None = Field(description="policy id of the statement: a managed policy ARN or OWNER_ARN#inline:NAME")
    statement_index: int | None = Field(description="position of the statement in the policy, from 0")
    sid: str | None = Field(description="the statement's Sid")
    setting: str | None = Field(description="the missing or wrong setting, for evidence that is not a statement")


class FindingResult(BaseModel):
    """One finding: what to fix, how severe, the resources, the evidence and the remediation."""

    id: str = Field(description="stable id: the rule id and a digest of `key`")
    key: str = Field(description="what the finding is about within its rule, such as a role ARN")
    rule_id: str = Field(description="DG001 to DG011")
    type: str = Field(description="the rule's name, such as confused-deputy")
    severity: str = Field(description="critical, high, medium or low")
    title: str
    resources: list[str] = Field(description="ARNs (or node ids) of the resources involved, most relevant first")
    evidence: list[FindingEvidence]
    remediation: str
    score: float = Field(description="orders findings of the same severity, larger first")
    path: dict[str, Any] | None = Field(description="an explaining path with nodes and edges, for DG003")
    details: dict[str, Any] = Field(description="rule-specific values, such as the invokers of DG003")


def _embedded_findings(view: EmbeddedView) -> list[dict[str, Any]]:
    with _embedded_lock:
        cached = _embedded_cache.get(view)
        if cached is None:
            found = find_all(view.deputy)
            previous = view.previous
            if previous is not None:
                label = f"build {previous.build_id}"
                found += drift_findings(previous.drift_rows, view.drift_rows, previous_label=label)
            cached = [finding.to_json() for finding in sort_findings(found)]
            _embedded_cache[view] = cached
        return cached


def _neo4j_findings(view: Neo4jView) -> list[dict[str, Any]]:
    try:
        return build_findings(view.store, view.build_id)
    except (ServiceUnavailable, SessionExpired, DriverError, OSError, Neo4jError) as error:
        raise BackendUnavailableError("the graph store is unavailable; try again later") from error


def findings_of(view: GraphView) -> list[dict[str, Any]]:
    """Every finding of the view's build, in the order of `Finding.sort_key`."""
    if isinstance(view, EmbeddedView):
        findings = _embedded_findings(view)
    elif isinstance(view, Neo4jView):
        findings = _neo4j_findings(view)
    else:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, "this backend has no findings")
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f["severity"]], -f["score"], f["rule_id"], f["key"]))


def _values(raw: list[str] | None, name: str, allowed: set[str]) -> set[str]:
    """Split repeated or comma-separated values. Reject an unknown value with 400, without repeating it."""
    values = {value.strip() for item in raw or [] for value in item.split(",") if value.strip()}
    if values - allowed:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"query parameter {name} contains an invalid value; use one or more of {', '.join(sorted(allowed))}",
        )
    return values


@router.get("/findings", response_model=Page[FindingResult])
async def findings(
    request: Request,
    response: Response,
    *,
    severity: Annotated[
        list[str] | None,
        Query(description="only these severities: critical, high, medium, low (repeat or comma-separate)"),
    ] = None,
    finding_type: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="only these rules, by id (DG003) or name (confused-deputy); repeat or comma-separate",
        ),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[FindingResult]:
    """Return the findings, most severe first, optionally only some severities and rules."""
    severities = _values(severity, "severity", set(SEVERITY_RANK))
    types = _values(finding_type, "type", set(RULE_NAMES) | set(RULE_NAMES.values()))
    rule_ids = {rule_id for rule_id, name in RULE_NAMES.items() if rule_id in types or name in types}

    def work(view: GraphView) -> Page[FindingResult]:
        chosen = [
            finding
            for finding in findings_of(view)
            if (not severities or finding["severity"] in severities)
            and (not rule_ids or finding["rule_id"] in rule_ids)
        ]
        page = page_of(chosen, offset=offset, limit=limit)
        return Page[FindingResult](
            items=[FindingResult(**finding) for finding in page.items],
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            next_offset=page.next_offset,
        )

    return await read_view(request, response, work)
