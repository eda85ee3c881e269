"""Collection gaps: the calls that failed, and the counts of what was collected.

A gap is data the collector could not read, recorded so that the analysis reports it
instead of reading the missing file as "no permissions". Both records are shared by
the worker threads of one run, so every change takes a lock.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Gap:
    """One call that failed, the scope it leaves unknown, and why.

    `cause` is `access-denied`, `scp` (an access denied that names a service control
    policy), `throttled`, `unreachable` (the account could not be entered) or `error`.
    `subject` completes "not analysed: ..." with what the missing data would have shown.
    """

    service: str
    operation: str
    action: str | None
    cause: str
    error_code: str
    message: str
    subject: str
    account: str | None = None
    region: str | None = None
    resource: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "service": self.service,
            "operation": self.operation,
            "action": self.action,
            "resource": self.resource,
            "cause": self.cause,
            "error_code": self.error_code,
            "message": self.message,
            "subject": self.subject,
        }


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A service that does not exist in a region, skipped without a gap."""

    account: str
    region: str
    service: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"account": self.account, "region": self.region, "service": self.service, "message": self.message}


class CollectionLog:
    """The gaps, skipped services and counts of one run, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gaps: list[Gap] = []
        self._unavailable: list[Unavailable] = []
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add_gap(self, gap: Gap) -> None:
        with self._lock:
            self._gaps.append(gap)

    def add_unavailable(self, entry: Unavailable) -> None:
        with self._lock:
            self._unavailable.append(entry)

    def count(self, service: str, kind: str, number: int = 1) -> None:
        """Add `number` collected records of one kind, such as ("lambda", "functions")."""
        with self._lock:
            self._counts[service][kind] += number

    @property
    def gaps(self) -> list[Gap]:
        with self._lock:
            return sorted(self._gaps, key=_gap_order)

    @property
    def unavailable(self) -> list[Unavailable]:
        with self._lock:
            return sorted(self._unavailable, key=lambda entry: (entry.account, entry.region, entry.service))

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {service: dict(sorted(kinds.items())) for service, kinds in sorted(self._counts.items())}


def _gap_order(gap: Gap) -> tuple[str, str, str, str, str]:
    return (gap.account or "", gap.region or "", gap.service, gap.operation, gap.resource or "")
