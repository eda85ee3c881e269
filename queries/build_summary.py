"""What one build exposes, kept with the build so that two builds can be compared.

A summary holds two sets, computed from the graph with engine.paths when the build is
made, so the comparison costs no graph query and gives the same answer on both backends:

- the attack paths: every confused-deputy path of an invoker, as (invoker, target, access),
  exactly the rows `confused-deputy-paths` lists;
- the reach of every user and role: the sensitive (target, access) pairs of its blast radius;
- the build's "not analysed" notes, and for each principal the notes about nodes that a
  walk from it can meet (`engine.paths.not_seen_for`), so an answer can name what the
  snapshot could not show.

A diff compares only these keys. It does not report a path whose route changed while its
invoker, target and access stayed the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.errors import DeputyError
from engine.graph import DeputyGraph
from engine.paths import PRINCIPAL_LABELS, blast_radius, invokers, principals_reaching

FORMAT_VERSION = 1

AttackPath = tuple[str, str, str]  # (invoker, target, access)
Access = tuple[str, str]  # (target, access)


class SummaryError(DeputyError):
    """A stored summary that cannot be read."""


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """The attack paths and the sensitive reach of each principal in one build."""

    attack_paths: frozenset[AttackPath]
    reach: Mapping[str, frozenset[Access]]  # principals with an empty reach are left out
    notes: tuple[str, ...] = ()
    # Indexes into `notes`: the notes about particular nodes, and for each principal those
    # about nodes it can reach. Every other note concerns all principals.
    scoped_notes: frozenset[int] = frozenset()
    principal_notes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def not_seen(self, principal: str) -> list[str]:
        """Return the notes that can change this principal's blast radius and paths, in build order."""
        own = set(self.principal_notes.get(principal, ()))
        return [note for index, note in enumerate(self.notes) if index not in self.scoped_notes or index in own]

    def to_json(self) -> str:
        document = {
            "version": FORMAT_VERSION,
            "attack_paths": sorted(self.attack_paths),
            "reach": {principal: sorted(self.reach[principal]) for principal in sorted(self.reach)},
            "notes": list(self.notes),
            "scoped_notes": sorted(self.scoped_notes),
            "principal_notes": {p: list(self.principal_notes[p]) for p in sorted(self.principal_notes)},
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> BuildSummary:
        """Read a summary that to_json wrote; raise SummaryError when it is not one."""
        try:
            document = json.loads(text)
            if document.get("version") != FORMAT_VERSION:
                raise SummaryError(f"build summary has version {document.get('version')!r}, not {FORMAT_VERSION}")
            paths = frozenset((str(i), str(t), str(a)) for i, t, a in document["attack_paths"])
            reach = {
                str(principal): frozenset((str(t), str(a)) for t, a in pairs)
                for principal, pairs in document["reach"].items()
            }
            # Summaries written before the notes were kept have none.
            notes = tuple(str(note) for note in document.get("notes", []))
            scoped = frozenset(int(index) for index in document.get("scoped_notes", []))
            principal_notes = {
                str(principal): tuple(int(index) for index in indexes)
                for principal, indexes in document.get("principal_notes", {}).items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise SummaryError(f"build summary is not valid: {error}") from error
        return cls(paths, reach, notes, scoped, principal_notes)


@dataclass(frozen=True, slots=True)
class ReachGrowth:
    """A principal that reaches sensitive targets in the newer build that it did not reach in the older one."""

    principal: str
    added: tuple[Access, ...]


@dataclass(frozen=True, slots=True)
class SummaryDiff:
    """The changes from an older build to a newer one, each list sorted."""

    paths_added: tuple[AttackPath, ...]
    paths_removed: tuple[AttackPath, ...]
    reach_grew: tuple[ReachGrowth, ...]


def summarize(deputy: DeputyGraph) -> BuildSummary:
    """Compute the attack paths and the sensitive reach of every user and role."""
    graph = deputy.graph
    invoking = set(invokers(deputy))
    paths: set[AttackPath] = set()
    reach: dict[str, frozenset[Access]] = {}
    for node, data in sorted(graph.nodes(data=True)):
        if data["label"] not in PRINCIPAL_LABELS:
            continue
        reaches = blast_radius(deputy, node, sensitive_only=True)
        if reaches:
            reach[node] = frozenset((r.target, r.access) for r in reaches)
        if node in invoking:
            paths.update((node, r.target, r.access) for r in reaches if r.confused_deputy)
    notes = tuple(deputy.notes)
    scoped = frozenset(index for index, note in enumerate(notes) if note in deputy.note_subjects)
    principal_notes: dict[str, list[int]] = {}
    for index in sorted(scoped):
        for principal in principals_reaching(deputy, deputy.note_subjects[notes[index]]):
            principal_notes.setdefault(principal, []).append(index)
    return BuildSummary(
        frozenset(paths), reach, notes, scoped, {p: tuple(indexes) for p, indexes in principal_notes.items()}
    )


def diff(older: BuildSummary, newer: BuildSummary) -> SummaryDiff:
    """Compare two summaries: attack paths added and removed, and principals whose reach grew."""
    grew: list[ReachGrowth] = []
    for principal in sorted(newer.reach):
        added = newer.reach[principal] - older.reach.get(principal, frozenset())
        if added:
            grew.append(ReachGrowth(principal, tuple(sorted(added))))
    return SummaryDiff(
        paths_added=tuple(sorted(newer.attack_paths - older.attack_paths)),
        paths_removed=tuple(sorted(older.attack_paths - newer.attack_paths)),
        reach_grew=tuple(grew),
    )
