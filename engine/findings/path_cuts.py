"""Cut points of confused-deputy paths, one sentence per path kind, for the DG003 remediation.

A path of kind agent-knowledge-base is cut at the knowledge base association or its data
source, agent-action-group at the action group or its Lambda function's role, and
agent-execution-role at the execution role's statements. Other kinds (an assumed role, an
escalation) are cut at the statements along the path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine.findings.context import FindingContext
from engine.model import Rel
from engine.paths import Reach, Step


def statement_name(statement: dict[str, Any], *, owner: bool = True) -> str:
    """Name a statement of an edge's `statements` list; `owner=False` leaves out an inline policy's role."""
    policy = str(statement["policy"])
    index = statement["statement_index"]
    sid = statement.get("sid")
    if "#inline:" in policy:
        entity, inline = policy.split("#inline:", 1)
        where = f"inline policy {inline}" + (f" of {entity.rsplit('/', 1)[-1]}" if owner else "")
    elif policy.endswith("#resource-policy"):
        where = f"the resource-based policy of {policy.removesuffix('#resource-policy').rsplit(':', 1)[-1]}"
    else:
        where = f"policy {policy.rsplit('/', 1)[-1]}"
    return f"{where} statement {index}" + (f" ({sid})" if sid else "")


def _statements(steps: Iterable[Step], *, owner: bool = True) -> list[str]:
    names: list[str] = []
    for step in steps:
        for statement in step.properties.get("statements") or []:
            name = statement_name(statement, owner=owner)
            if name not in names:
                names.append(name)
    return names


def _after_role(path: Reach) -> list[Step]:
    """Return the steps after the last HAS_EXECUTION_ROLE step, which that role's permissions grant."""
    steps = list(path.steps)
    last = max((i for i, step in enumerate(steps) if step.rel == Rel.HAS_EXECUTION_ROLE), default=-1)
    return steps[last + 1 :]


def _first(path: Reach, rel: str) -> Step | None:
    return next((step for step in path.steps if step.rel == rel), None)


def _or_statements(names: Sequence[str]) -> str:
    return " or ".join(names) if names else "the statements named in the evidence"


def path_cut(context: FindingContext, path: Reach) -> str:
    """Write one sentence that names where to cut one path, for its kind."""
    name = context.node_name
    kind = path.kind
    if kind == "agent-knowledge-base":
        uses = _first(path, Rel.USES_KNOWLEDGE_BASE)
        source = _first(path, Rel.HAS_DATA_SOURCE)
        if uses is not None:
            text = f"disassociate knowledge base {name(uses.target)} from {name(uses.source)}"
            if source is not None:
                text += f", or remove its data source {name(source.target)}"
            return text
    if kind == "agent-action-group":
        group = _first(path, Rel.HAS_ACTION_GROUP)
        role = _first(path, Rel.HAS_EXECUTION_ROLE)
        if group is not None and role is not None:
            return (
                f"remove action group {name(group.target)} from {name(group.source)}, or in {name(role.target)} "
                f"(the role of Lambda function {name(role.source)}) remove "
                f"{_or_statements(_statements(_after_role(path), owner=False))}"
            )
    if kind == "agent-execution-role":
        role = _first(path, Rel.HAS_EXECUTION_ROLE)
        if role is not None:
            return (
                f"in execution role {name(role.target)} of {name(role.source)} remove "
                f"{_or_statements(_statements(_after_role(path), owner=False))}"
            )
    return f"remove {_or_statements(_statements(path.steps))}"


def remediation(context: FindingContext, paths: Sequence[Reach]) -> str:
    """Write the DG003 remediation: one cut per listed path, and the note that each must be cut."""
    cuts: list[str] = []
    for path in paths:
        agent = _agent_of(context, path) or "the agent"
        line = f"for the {path.kind} path through {agent}, {path_cut(context, path)}"
        if line not in cuts:
            cuts.append(line)
    return (
        "Cut every path listed in the evidence, because each one alone leads to the target: "
        + "; ".join(cuts)
        + ". Alternatively, limit who may invoke the aliases with bedrock:InvokeAgent on named alias ARNs."
    )


def _agent_of(context: FindingContext, path: Reach) -> str | None:
    graph = context.deputy.graph
    for node in path.nodes:
        agent = graph.nodes[node].get("agent")
        if agent:
            return context.node_name(str(agent))
    return None
