"""The findings of the graph that the service reads: `GET /v1/findings`.

The embedded backend runs the finding rules once, on first request, over its graph.
The Neo4j backend reads the findings that `deputy load` stored with the current build,
and adds drift (DG011) since the ready build before it, compared in Neo4j.
"""

from __future__ import annotations

import threading
import weakref
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from pydantic import BaseModel, Field

from api.http.backends import Backend, BackendUnavailableError, EmbeddedBackend, Neo4jBackend, page_of
from api.http.models import Page
from api.http.routes import Limit, Offset, backend_of, run_blocking
from engine.findings import RULES, Severity, find_all
from queries.findings_store import build_findings

router = APIRouter(prefix="/v1", tags=["findings"])

SEVERITY_RANK = {str(severity): severity.rank for severity in Severity}
RULE_NAMES = {rule.rule_id: rule.name for rule in RULES}
_embedded_cache: weakref.WeakKeyDictionary[EmbeddedBackend, list[dict[str, Any]]] = weakref.WeakKeyDictionary()
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


def _embedded_findings(backend: EmbeddedBackend) -> list[dict[str, Any]]:
    with _embedded_lock:
        cached = _embedded_cache.get(backend)
        if cached is None:
            cached = [finding.to_json() for finding in find_all(backend.deputy)]
            _embedded_cache[backend] = cached
        return cached


def _neo4j_findings(backend: Neo4jBackend) -> list[dict[str, Any]]:
    try:
        current = backend.store.current_build()
        if current is None:
            raise BackendUnavailableError("Neo4j holds no current build; run deputy load SNAPSHOT first")
        return build_findings(backend.store, current)
    except (ServiceUnavailable, SessionExpired, DriverError, OSError, Neo4jError) as error:
        raise BackendUnavailableError("the graph store is unavailable; try again later") from error


def findings_of(backend: Backend) -> list[dict[str, Any]]:
    """Every finding the backend's graph gives, in the order of `Finding.sort_key`."""
    if isinstance(backend, EmbeddedBackend):
        findings = _embedded_findings(backend)
    elif isinstance(backend, Neo4jBackend):
        findings = _neo4j_findings(backend)
    else:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, f"the {backend.name} backend has no findings")
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f["severity"]], -f["score"], f["rule_id"], f["key"]))


def _values(raw: list[str] | None, name: str, allowed: set[str]) -> set[str]:
    """Split repeated or comma-separated values; reject unknown ones with 400."""
    values = {value.strip() for item in raw or [] for value in item.split(",") if value.strip()}
    unknown = sorted(values - allowed)
    if unknown:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{name} {', '.join(unknown)} is invalid; use one of {', '.join(sorted(allowed))}",
        )
    return values


@router.get("/findings", response_model=Page[FindingResult])
async def findings(
    request: Request,
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
    backend = backend_of(request)

    def work() -> Page[FindingResult]:
        chosen = [
            finding
            for finding in findings_of(backend)
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

    return await run_blocking(request, work)
