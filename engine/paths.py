"""Path search over the built graph: blast radius and confused-deputy paths.

A walk starts at a user or role and may take these steps:

    principal --CAN_ASSUME--> role                    (act with the role's permissions)
    principal --CAN_INVOKE_AGENT--> alias --ROUTES_TO--> version
    version --HAS_ACTION_GROUP--> action group --CALLS_FUNCTION--> Lambda   (if Bedrock may invoke it)
    principal --CAN_INVOKE_FUNCTION--> Lambda
    Lambda --HAS_EXECUTION_ROLE--> role
    version --USES_KNOWLEDGE_BASE--> knowledge base --HAS_DATA_SOURCE--> data source --INGESTS_FROM--> bucket
    version --HAS_EXECUTION_ROLE--> role              (weaker: see below)
    principal --CAN_READ / CAN_WRITE / CAN_CALL / CAN_MODIFY_GUARDRAIL--> target (the walk ends)
    principal --escalation edge--> user, role, escalated principal or Lambda   (see engine/escalation.py)

When an agent is invoked it calls its action-group Lambdas and retrieves from its
knowledge bases; those steps run on every invocation. Reach that only the agent's
execution role gives (the role's own S3 or EC2 permissions) needs the model to be
steered into using them, so such paths are marked `weak`.

A path through an agent is a confused deputy when the invoker could not do the
final action on that resource itself, with its own permissions or through roles it
can assume. A direct access that holds only under conditions does not clear an
unconditional path through an agent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from engine.graph import DeputyGraph
from engine.model import ACT_AS_RELS, ESCALATION_RELS, Label, Rel

TERMINAL_RELS = {
    Rel.CAN_READ: "read",
    Rel.CAN_WRITE: "write",
    Rel.CAN_CALL: "call",
    Rel.CAN_MODIFY_GUARDRAIL: "modify",
}
PRINCIPAL_LABELS = {Label.USER, Label.ROLE, Label.ESCALATED_PRINCIPAL}


@dataclass(frozen=True, slots=True)
class Step:
    source: str
    target: str
    rel: str
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reach:
    """One target reached by one principal, with the shortest explaining path."""

    principal: str
    target: str
    access: str
    steps: tuple[Step, ...]
    through_agent: bool
    weak: bool
    conditional: bool
    confused_deputy: bool = False

    @property
    def nodes(self) -> list[str]:
        return [self.principal, *(step.target for step in self.steps)]

    @property
    def kind(self) -> str:
        """How the target is reached: the first step that hands over someone else's access."""
        rels = [step.rel for step in self.steps]
        if Rel.CALLS_FUNCTION in rels:
            return "agent-action-group"
        if Rel.INGESTS_FROM in rels:
            return "agent-knowledge-base"
        if self.weak:
            return "agent-execution-role"
        if Rel.CAN_INVOKE_FUNCTION in rels:
            return "lambda-function"
        if any(rel in ESCALATION_RELS for rel in rels):
            return "privilege-escalation"
        if Rel.CAN_ASSUME in rels:
            return "assumed-role"
        return "direct"


@dataclass(frozen=True, slots=True)
class _State:
    node: str
    weak: bool
    through_agent: bool


def _next_steps(deputy: DeputyGraph, state: _State) -> Iterator[tuple[Step, _State, str | None]]:
    """Yield (step, next state, access) for each allowed move; access is set when the walk ends."""
    graph = deputy.graph
    label = graph.nodes[state.node]["label"]
    for _, target, rel, data in graph.out_edges(state.node, keys=True, data=True):
        step = Step(state.node, target, rel, data)
        if label in PRINCIPAL_LABELS:
            if rel in TERMINAL_RELS:
                yield step, state, TERMINAL_RELS[Rel(rel)]
            elif rel in ACT_AS_RELS or rel == Rel.CAN_INVOKE_FUNCTION:
                yield step, _State(target, state.weak or bool(data.get("weak")), state.through_agent), None
            elif rel == Rel.CAN_INVOKE_AGENT:
                yield step, _State(target, state.weak, True), None
            continue
        moved = _structural_move(label, rel, data, state, target)
        if moved is not None:
            yield step, moved[0], moved[1]


def _structural_move(
    label: str, rel: str, data: dict[str, Any], state: _State, target: str
) -> tuple[_State, str | None] | None:
    keep = _State(target, state.weak, state.through_agent)
    if label == Label.AGENT_ALIAS and rel == Rel.ROUTES_TO and data.get("active", True):
        return keep, None
    if label == Label.AGENT_VERSION:
        if rel == Rel.HAS_ACTION_GROUP and data.get("enabled", True):
            return keep, None
        if rel == Rel.USES_KNOWLEDGE_BASE and data.get("enabled", True) and data.get("retrievable", True):
            return keep, None
        if rel == Rel.HAS_EXECUTION_ROLE:
            return _State(target, True, state.through_agent), None
        return None
    if label == Label.ACTION_GROUP and rel == Rel.CALLS_FUNCTION and data.get("invocable"):
        return keep, None
    if label == Label.LAMBDA_FUNCTION and rel == Rel.HAS_EXECUTION_ROLE:
        return keep, None
    if label == Label.KNOWLEDGE_BASE and rel == Rel.HAS_DATA_SOURCE:
        return keep, None
    if label == Label.DATA_SOURCE and rel == Rel.INGESTS_FROM:
        return keep, "read"
    return None


def reach_from(deputy: DeputyGraph, principal: str, *, agents: bool = True, functions: bool = True) -> list[Reach]:
    """Every target a principal reaches, with one explaining path for each (target, access).

    The path is chosen in four passes, each a breadth-first walk: strong paths over
    unconditional edges, strong paths over any edge, then the same two allowing the
    agent's own execution role. The first pass that reaches a (target, access) gives its
    path, so `conditional` means no unconditional path of that strength exists and
    `weak` means no strong path exists. With `agents=False` and `functions=False` only
    the principal's own permissions and role assumption are followed: its direct reach.
    """
    if principal not in deputy.graph:
        return []
    chosen: dict[tuple[str, str], Reach] = {}
    for allow_weak, allow_conditional in ((False, False), (False, True), (True, False), (True, True)):
        walk = _Walk(agents=agents, functions=functions, weak=allow_weak, conditional=allow_conditional)
        for reach in _breadth_first(deputy, principal, walk):
            chosen.setdefault((reach.target, reach.access), reach)
    return sorted(chosen.values(), key=lambda reach: (reach.target, reach.access))


@dataclass(frozen=True, slots=True)
class _Walk:
    """Which edges one pass may follow."""

    agents: bool
    functions: bool
    weak: bool
    conditional: bool

    def allows(self, step: Step, following: _State) -> bool:
        if not self.agents and step.rel == Rel.CAN_INVOKE_AGENT:
            return False
        if not self.functions and step.rel == Rel.CAN_INVOKE_FUNCTION:
            return False
        if not self.weak and following.weak:
            return False
        return self.conditional or not step.properties.get("conditional")


def _breadth_first(deputy: DeputyGraph, principal: str, walk: _Walk) -> Iterator[Reach]:
    start = _State(principal, False, False)
    parents: dict[_State, tuple[_State, Step] | None] = {start: None}
    queue: deque[_State] = deque([start])
    seen: set[tuple[str, str]] = set()
    while queue:
        state = queue.popleft()
        for step, following, access in _next_steps(deputy, state):
            if not walk.allows(step, following):
                continue
            if access is not None:
                if (step.target, access) in seen:
                    continue
                seen.add((step.target, access))
                steps = (*_steps_to(parents, state), step)
                yield Reach(
                    principal=principal,
                    target=step.target,
                    access=access,
                    steps=steps,
                    through_agent=state.through_agent,
                    weak=state.weak,
                    conditional=any(s.properties.get("conditional") for s in steps),
                )
                continue
            if following not in parents:
                parents[following] = (state, step)
                queue.append(following)


def _steps_to(parents: dict[_State, tuple[_State, Step] | None], state: _State) -> list[Step]:
    steps: list[Step] = []
    entry = parents[state]
    while entry is not None:
        previous, step = entry
        steps.append(step)
        entry = parents[previous]
    return list(reversed(steps))


def blast_radius(deputy: DeputyGraph, principal: str, *, sensitive_only: bool = True) -> list[Reach]:
    """Every (sensitive) target a principal reaches, each flagged when it is a confused deputy.

    A path through an agent is a confused deputy unless the principal has an
    unconditional direct path to the same (target, access), or has only a conditional
    one while the path through the agent is conditional too.
    """
    # NOTE: only the chosen path is judged, so when a direct Lambda invocation reaches a
    # target in fewer steps than an agent does, the agent path is neither shown nor flagged.
    direct = {(r.target, r.access): r for r in reach_from(deputy, principal, agents=False, functions=False)}
    result: list[Reach] = []
    for reach in reach_from(deputy, principal):
        if sensitive_only and not deputy.graph.nodes[reach.target].get("sensitive"):
            continue
        own = direct.get((reach.target, reach.access))
        confused = reach.through_agent and (own is None or (own.conditional and not reach.conditional))
        result.append(replace(reach, confused_deputy=confused))
    return result


def invokers(deputy: DeputyGraph) -> list[str]:
    """Users and roles that can invoke some agent alias, directly or by assuming roles."""
    graph = deputy.graph
    found: list[str] = []
    for node, data in graph.nodes(data=True):
        if data["label"] not in (Label.USER, Label.ROLE):
            continue
        if any(
            reach.through_agent or graph.nodes[reach.target]["label"] == Label.AGENT_ALIAS
            for reach in _alias_reach(deputy, node)
        ):
            found.append(node)
    return sorted(found)


def _alias_reach(deputy: DeputyGraph, principal: str) -> list[Reach]:
    """Aliases a principal can invoke, directly or through role assumption."""
    graph = deputy.graph
    seen = {principal}
    queue: deque[tuple[str, tuple[Step, ...]]] = deque([(principal, ())])
    reached: list[Reach] = []
    while queue:
        node, steps = queue.popleft()
        for _, target, rel, data in graph.out_edges(node, keys=True, data=True):
            step = Step(node, target, rel, data)
            if rel == Rel.CAN_INVOKE_AGENT:
                path = (*steps, step)
                conditional = any(s.properties.get("conditional") for s in path)
                reached.append(Reach(principal, target, "invoke", path, True, False, conditional))
            elif rel in ACT_AS_RELS and target not in seen and graph.nodes[target]["label"] in PRINCIPAL_LABELS:
                seen.add(target)
                queue.append((target, (*steps, step)))
    return reached


def invocable_aliases(deputy: DeputyGraph, principal: str) -> list[Reach]:
    """The agent aliases a principal can invoke, with the shortest path to each."""
    best: dict[str, Reach] = {}
    for reach in _alias_reach(deputy, principal):
        current = best.get(reach.target)
        if current is None or len(reach.steps) < len(current.steps):
            best[reach.target] = reach
    return sorted(best.values(), key=lambda reach: reach.target)


NODE_ACCESS = {
    Label.ROLE: "act-as",
    Label.AGENT_ALIAS: "invoke",
    Label.AGENT_VERSION: "invoke",
    Label.ACTION_GROUP: "invoke",
    Label.LAMBDA_FUNCTION: "invoke",
    Label.KNOWLEDGE_BASE: "retrieve",
    Label.DATA_SOURCE: "retrieve",
}


def path_to_node(deputy: DeputyGraph, source: str, target: str) -> Reach | None:
    """The shortest walk from a principal to an intermediate node such as a role or a Lambda.

    Reaching a role means acting with its permissions; reaching an alias or a function
    means invoking it. Reaching a role through an agent is a confused deputy when the
    principal cannot assume that role through CAN_ASSUME edges alone.
    """
    start = _State(source, False, False)
    parents: dict[_State, tuple[_State, Step] | None] = {start: None}
    queue: deque[_State] = deque([start])
    while queue:
        state = queue.popleft()
        for step, following, access in _next_steps(deputy, state):
            if access is not None or following in parents:
                continue
            parents[following] = (state, step)
            if following.node == target:
                return _walk_to(deputy, source, following, tuple(_steps_to(parents, following)))
            queue.append(following)
    return None


def _walk_to(deputy: DeputyGraph, source: str, state: _State, steps: tuple[Step, ...]) -> Reach:
    label = deputy.graph.nodes[state.node]["label"]
    confused = state.through_agent and label == Label.ROLE and not _assumable_directly(deputy, source, state.node)
    return Reach(
        principal=source,
        target=state.node,
        access=NODE_ACCESS.get(label, "reach"),
        steps=steps,
        through_agent=state.through_agent,
        weak=state.weak,
        conditional=any(s.properties.get("conditional") for s in steps),
        confused_deputy=confused,
    )


def _assumable_directly(deputy: DeputyGraph, source: str, role: str) -> bool:
    """Whether the principal reaches the role through CAN_ASSUME and escalation edges alone."""
    seen = {source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for _, target, rel in deputy.graph.out_edges(node, keys=True):
            if rel not in ACT_AS_RELS or target in seen:
                continue
            if target == role:
                return True
            seen.add(target)
            queue.append(target)
    return False


def paths_between(deputy: DeputyGraph, source: str, target: str | None) -> list[Reach]:
    """Paths from a principal to one node (every access kind), or to every resource it reaches."""
    reaches = blast_radius(deputy, source, sensitive_only=False)
    if target is None:
        return reaches
    found = [reach for reach in reaches if reach.target == target]
    if found:
        return found
    walk = path_to_node(deputy, source, target)
    return [walk] if walk is not None else []
