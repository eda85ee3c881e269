"""The results that depend on a collection gap, which is data that `deputy collect` could not read.

A gap never becomes "no permissions". Each path is checked against the gaps of its
snapshot, and a path that passes through the scope of a gap is marked, because the
missing data (a bucket policy, an SCP, an agent's action groups) could change it.
The scope is deliberately wide. A gap with a resource matches paths through that
resource, and a gap without one matches every node of its account (and region). An
organization gap matches every path, because an unknown SCP may deny any step.

Not modelled: paths that a gap hides completely. Those are reported only by the gap's
"not analysed" sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.graph import DeputyGraph
from engine.inventory import CollectionGap

# Gaps in these services leave no permission unknown: trails only record activity, and
# the region list only chooses where to collect.
NO_PERMISSION_DATA = frozenset({"cloudtrail", "ec2"})
# Operations whose output the analysis does not read: usage reports and Block Public Access.
NO_PERMISSION_OPERATIONS = frozenset(
    {"GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails", "GetPublicAccessBlock"}
)
# Services whose gaps name one resource that appears as a node of the graph.
RESOURCE_SERVICES = frozenset({"s3", "lambda", "bedrock-agent", "bedrock"})


def path_gaps(deputy: DeputyGraph, nodes: Iterable[str]) -> list[int]:
    """Return the indexes into `deputy.snapshot.gaps` of the gaps that a path through `nodes` depends on."""
    gaps = deputy.snapshot.gaps
    if not gaps:
        return []
    path = [(node, deputy.graph.nodes[node]) for node in nodes]
    return [index for index, gap in enumerate(gaps) if _depends_on(path, gap)]


def _depends_on(path: list[tuple[str, Mapping[str, Any]]], gap: CollectionGap) -> bool:
    if gap.service in NO_PERMISSION_DATA or gap.operation in NO_PERMISSION_OPERATIONS:
        return False
    if gap.account is None or gap.service == "organizations":
        return True
    if gap.resource and gap.service in RESOURCE_SERVICES:
        return any(_is_resource(node, data, gap.resource) for node, data in path)
    return any(_in_scope(data, gap) for _, data in path)


def _is_resource(node: str, data: Mapping[str, Any], resource: str) -> bool:
    """Tell whether a node is the resource, or a part of it such as an agent's alias or version."""
    return node == resource or node.startswith((f"{resource}#", f"{resource}/")) or data.get("agent") == resource


def _in_scope(data: Mapping[str, Any], gap: CollectionGap) -> bool:
    if data.get("account") != gap.account:
        return False
    return gap.region is None or data.get("region") == gap.region
