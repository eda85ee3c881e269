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

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from engine.graph import DeputyGraph
from engine.model import ACT_AS_RELS, ESCALATION_RELS, Label, Rel

TERMINAL_RELS = {
    Rel.CAN_READ: "read",
    Rel.CAN_WRITE: "write",
    Rel.CAN_CALL: "call",
    Rel.CAN_MODIFY_GUARDRAIL: "modify",
}
_Node = TypeVar("_Node")  # a walk state, or a node id where the walk has no state

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
    # Set on a confused deputy whose principal also has a direct path that holds only under
    # conditions. Then only unconditional paths through agents make it a confused deputy.
    direct_conditional: bool = False

    @property
    def potential(self) -> bool:
        """Whether a step rests on a resource or credentials the snapshot does not show."""
        return any("potential" in step.properties for step in self.steps)

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


# Move modes: the change a move makes to the walk's state besides its node.
KEEP = 0
INTO_AGENT = 1  # the walk is now inside an invoked agent
INTO_WEAK = 2  # the walk now uses an agent's own execution role

# Steps a principal takes to act with another identity's permissions (role assumption and
# privilege escalation) or to invoke a deputy.
PRINCIPAL_MOVES = {
    **dict.fromkeys(ACT_AS_RELS, KEEP),
    Rel.CAN_INVOKE_FUNCTION: KEEP,
    Rel.CAN_INVOKE_AGENT: INTO_AGENT,
}
# Steps from a principal into a deputy: beyond them the walk no longer depends on who took them.
ENTRY_RELS = frozenset({Rel.CAN_INVOKE_AGENT, Rel.CAN_INVOKE_FUNCTION})


@dataclass(frozen=True, slots=True)
class _Move:
    """One edge a walk may take from a node, worked out once per graph."""

    step: Step
    access: str | None  # set when the walk ends with this edge
    mode: int
    conditional: bool
    entry: bool  # invokes an alias or a function from a principal


def _moves(deputy: DeputyGraph, node: str) -> tuple[_Move, ...]:
    moves: tuple[_Move, ...] | None = deputy.path_index.get(node)
    if moves is None:
        moves = tuple(_node_moves(deputy, node))
        deputy.path_index[node] = moves
    return moves


def _node_moves(deputy: DeputyGraph, node: str) -> Iterator[_Move]:
    graph = deputy.graph
    label = graph.nodes[node]["label"]
    for _, target, rel, data in graph.out_edges(node, keys=True, data=True):
        step = Step(node, target, rel, data)
        # A potential edge rests on an assumption, so the passes treat it as they treat a
        # conditional one: a path over exact edges wins wherever one exists.
        conditional = bool(data.get("conditional")) or "potential" in data
        if label in PRINCIPAL_LABELS:
            if rel in TERMINAL_RELS:
                yield _Move(step, TERMINAL_RELS[Rel(rel)], KEEP, conditional, False)
            elif rel in PRINCIPAL_MOVES:
                mode = PRINCIPAL_MOVES[Rel(rel)]
                if mode == KEEP and data.get("weak"):
                    # An escalation that works only through an agent's own execution role.
                    mode = INTO_WEAK
                yield _Move(step, None, mode, conditional, rel in ENTRY_RELS)
            continue
        moved = _structural_move(label, rel, data)
        if moved is not None:
            yield _Move(step, moved[1], moved[0], conditional, False)


def _structural_move(label: str, rel: str, data: dict[str, Any]) -> tuple[int, str | None] | None:
    """The mode and ending access of a step out of an agent, action group, function or knowledge base."""
    if label == Label.AGENT_ALIAS and rel == Rel.ROUTES_TO and data.get("active", True):
        return KEEP, None
    if label == Label.AGENT_VERSION:
        if rel == Rel.HAS_ACTION_GROUP and data.get("enabled", True):
            return KEEP, None
        if rel == Rel.USES_KNOWLEDGE_BASE and data.get("enabled", True) and data.get("retrievable", True):
            return KEEP, None
        if rel == Rel.HAS_EXECUTION_ROLE:
            return INTO_WEAK, None
        return None
    if label == Label.ACTION_GROUP and rel == Rel.CALLS_FUNCTION and data.get("invocable"):
        return KEEP, None
    if label == Label.LAMBDA_FUNCTION and rel == Rel.HAS_EXECUTION_ROLE:
        return KEEP, None
    if label == Label.KNOWLEDGE_BASE and rel == Rel.HAS_DATA_SOURCE:
        return KEEP, None
    if label == Label.DATA_SOURCE and rel == Rel.INGESTS_FROM:
        return KEEP, "read"
    return None


def _after(state: _State, move: _Move) -> _State:
    """Return the walk's state after a move that does not end it."""
    if move.mode == INTO_AGENT:
        return _State(move.step.target, state.weak, True)
    if move.mode == INTO_WEAK:
        return _State(move.step.target, True, state.through_agent)
    return _State(move.step.target, state.weak, state.through_agent)


PASSES = ((False, False), (False, True), (True, False), (True, True))
"""The four passes of a walk, strongest first, as (allow weak, allow conditional)."""

ENTRY_TABLE_CACHE_SIZE = 512
"""How many walks from entry points one graph keeps, oldest dropped first. Principals
that invoke the same aliases and functions at the same distances share one walk."""
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Walk:
    """Which edges one pass may follow."""

    agents: bool
    functions: bool
    weak: bool
    conditional: bool
    escalation: bool = True

    def permits(self, move: _Move, weak: bool) -> bool:
        """Tell whether this pass may take the move, reaching a state whose weak flag is `weak`."""
        if move.conditional and not self.conditional:
            return False
        if weak and not self.weak:
            return False
        rel = move.step.rel
        if rel == Rel.CAN_INVOKE_AGENT:
            return self.agents
        if rel == Rel.CAN_INVOKE_FUNCTION:
            return self.functions
        return self.escalation or rel not in ESCALATION_RELS


def _permitted(deputy: DeputyGraph, node: str, walk: _Walk, weak: bool) -> tuple[tuple[_Move, bool], ...]:
    """Return the moves a pass may take from a node in a state whose weak flag is `weak`.

    Each move comes with the weak flag after it. The list is built once per graph, node,
    pass and flag.
    """
    key = (node, walk, weak)
    permitted: tuple[tuple[_Move, bool], ...] | None = deputy.path_moves.get(key)
    if permitted is None:
        pairs = ((move, weak or move.mode == INTO_WEAK) for move in _moves(deputy, node))
        permitted = tuple((move, after) for move, after in pairs if walk.permits(move, after))
        deputy.path_moves[key] = permitted
    return permitted


HUB_MOVES = 16
"""A principal with at least this many steps to other identities and deputies is a hub:
walks from other principals stop there and join the hub's own cached walk."""

HUB_TABLE_CACHE_SIZE = 8192
"""How many walks from hubs one graph keeps, oldest dropped first."""

HUB_DEPTH = 32
"""How many hub walks may wait on one another; a deeper one walks on without stopping."""

_Rank = tuple[int, str]


def _hub_rank(deputy: DeputyGraph, node: str) -> _Rank | None:
    """Return a hub's rank, (onward steps, node id), or None for a node that is not a hub.

    A walk from a hub stops only at hubs of a higher rank, so no two hub walks wait on
    each other.
    """
    key = (node, "hub")
    if key in deputy.path_moves:
        rank: _Rank | None = deputy.path_moves[key]
        return rank
    rank = None
    if deputy.graph.nodes[node]["label"] in PRINCIPAL_LABELS:
        onward = sum(1 for move in _moves(deputy, node) if move.access is None)
        rank = (onward, node) if onward >= HUB_MOVES else None
    deputy.path_moves[key] = rank
    return rank


@dataclass(frozen=True, slots=True)
class _Found:
    """One (target, access) that a pass reached, with the first path breadth-first order gave.

    The path is kept in two parts, the principal's own part up to an entry point and the
    shared part after it, so that a cached walk is joined to a prefix only when shown.
    """

    prefix: tuple[Step, ...]
    suffix: tuple[Step, ...]
    weak: bool
    through_agent: bool

    @property
    def length(self) -> int:
        return len(self.prefix) + len(self.suffix)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.prefix + self.suffix


_Key = tuple[str, str]
# A finished walk from entry points: for each (target, access, through an agent), the
# entry node it was reached from, the steps after that node, and whether the path used an
# agent's own execution role.
_EntryTable = dict[tuple[str, str, bool], tuple[str, tuple[Step, ...], bool]]


@dataclass(slots=True)
class _PassResult:
    """The targets one pass reached, without and with an agent on the way."""

    own: dict[_Key, _Found]
    agent: dict[_Key, _Found]


def _run_passes(
    deputy: DeputyGraph,
    principal: str,
    *,
    agents: bool,
    functions: bool,
    escalation: bool = True,
    via_agent: str | None = None,
) -> list[_PassResult]:
    """Walk from a principal in each of the four passes.

    Each pass is one breadth-first walk, split where it invokes an agent alias or a Lambda
    function and where it reaches a hub principal. The part before those steps depends on
    the principal and is walked every time. Beyond an alias or a function the walk no
    longer depends on who invoked, so that part is one multi-source walk from the aliases
    and functions entered, at the distances they were entered at. Its table is cached on
    the graph for every principal with the same entries. Beyond a hub the walk is the
    hub's own walk, also cached, joined at the distance the hub was reached at.

    Joining gives the shortest paths of one whole walk. A shortest path that passes a hub
    has a first hub. The part before it passes no hub, so the principal's own walk finds
    it, and the hub's walk finds the part after it.
    """
    results: list[_PassResult] = []
    for allow_weak, allow_conditional in PASSES:
        walk = _Walk(agents, functions, allow_weak, allow_conditional, escalation)
        results.append(_one_pass(deputy, principal, walk, via_agent, depth=0))
    return results


def _one_pass(deputy: DeputyGraph, principal: str, walk: _Walk, via_agent: str | None, *, depth: int) -> _PassResult:
    """Walk one pass from a principal and join the walks of the entries and hubs it stops at.

    `depth` counts the hub walks that wait on this one. Past `HUB_DEPTH` the walk stops at
    no hub, which gives the same paths.
    """
    hubs_above = (_hub_rank(deputy, principal) or _NO_RANK) if depth < HUB_DEPTH else None
    own, entries, hubs = _walk_to_entries(deputy, principal, walk, via_agent, hubs_above=hubs_above)
    agent: dict[_Key, _Found] = {}
    if entries:
        table = _entry_table(deputy, walk, {node: (len(path), state) for node, (path, state) in entries.items()})
        for (target, access, through_agent), (origin, suffix, weak) in table.items():
            found = _Found(entries[origin][0], suffix, weak, through_agent)
            _keep_shorter(agent if through_agent else own, (target, access), found)
    for hub in sorted(hubs):
        head = hubs[hub]
        joined = _hub_table(deputy, walk, via_agent, hub, depth + 1)
        for found_in, kept in ((joined.own, own), (joined.agent, agent)):
            for key, found in found_in.items():
                current = kept.get(key)
                if current is None or len(head) + found.length < current.length:
                    kept[key] = _Found(head + found.prefix, found.suffix, found.weak, found.through_agent)
    return _PassResult(own, agent)


def _keep_shorter(kept: dict[_Key, _Found], key: _Key, found: _Found) -> None:
    current = kept.get(key)
    if current is None or found.length < current.length:
        kept[key] = found


def _hub_table(deputy: DeputyGraph, walk: _Walk, via_agent: str | None, hub: str, depth: int) -> _PassResult:
    """Return the cached pass from a hub principal, which stops only at hubs of a higher rank."""
    key = (walk, via_agent, hub)
    cache = deputy.hub_cache
    with _CACHE_LOCK:
        table: _PassResult | None = cache.get(key)
    if table is None:
        table = _one_pass(deputy, hub, walk, via_agent, depth=depth)
        _cache_put(cache, key, table, HUB_TABLE_CACHE_SIZE)
    return table


def _cache_put(cache: dict[Any, Any], key: object, value: object, size: int) -> None:
    """Store a walk, dropping the oldest ones when `size` are kept."""
    with _CACHE_LOCK:
        while len(cache) >= size:
            cache.pop(next(iter(cache)))
        cache[key] = value


_Entries = dict[str, tuple[tuple[Step, ...], _State]]
_NO_RANK: _Rank = (-1, "")  # below every hub: a walk from a principal that is not a hub stops at them all


def _walk_to_entries(
    deputy: DeputyGraph, start: str, walk: _Walk, via_agent: str | None = None, *, hubs_above: _Rank | None = None
) -> tuple[dict[_Key, _Found], _Entries, dict[str, tuple[Step, ...]]]:
    """Walk breadth-first from a node up to the steps that invoke an alias or a function.

    Returns what was reached on the way; for each alias or function invoked, the path to
    it (ending with the invoking step) and the walk state there; and with `hubs_above`,
    the path to each hub of a higher rank where the walk stopped. With
    `via_agent` (an agent ARN) only that agent's aliases are entered.
    """
    origin = _State(start, False, False)
    parents: dict[_State, tuple[_State, Step] | None] = {origin: None}
    found: dict[_Key, _Found] = {}
    entries: _Entries = {}
    hubs: dict[str, tuple[Step, ...]] = {}
    frontier = [origin]
    while frontier:
        next_frontier: list[_State] = []
        for state in frontier:
            prefix: tuple[Step, ...] | None = None
            cut = not state.through_agent and not state.weak
            if cut and hubs_above is not None and state.node != start:
                rank = _hub_rank(deputy, state.node)
                if rank is not None and rank > hubs_above:
                    hubs[state.node] = tuple(_steps_to(parents, state))
                    continue
            for move, _ in _permitted(deputy, state.node, walk, state.weak):
                if move.access is not None:
                    key = (move.step.target, move.access)
                    if key not in found:
                        prefix = prefix if prefix is not None else tuple(_steps_to(parents, state))
                        found[key] = _Found((*prefix, move.step), (), state.weak, state.through_agent)
                    continue
                following = _after(state, move)
                if move.entry and cut:
                    if (
                        via_agent is not None
                        and move.step.rel == Rel.CAN_INVOKE_AGENT
                        and deputy.graph.nodes[move.step.target].get("agent") != via_agent
                    ):
                        continue
                    if move.step.target not in entries:
                        prefix = prefix if prefix is not None else tuple(_steps_to(parents, state))
                        entries[move.step.target] = ((*prefix, move.step), following)
                    continue
                if following not in parents:
                    parents[following] = (state, move.step)
                    next_frontier.append(following)
        frontier = next_frontier
    return found, entries, hubs


def _entry_table(deputy: DeputyGraph, walk: _Walk, entries: dict[str, tuple[int, _State]]) -> _EntryTable:
    """Return the cached multi-source walk from aliases and functions entered at the given distances."""
    key = (walk, frozenset((node, distance) for node, (distance, _) in entries.items()))
    cache = deputy.path_cache
    with _CACHE_LOCK:
        table: _EntryTable | None = cache.get(key)
    if table is None:
        table = _walk_from_entries(deputy, walk, entries)
        _cache_put(cache, key, table, ENTRY_TABLE_CACHE_SIZE)
    return table


def _walk_from_entries(deputy: DeputyGraph, walk: _Walk, entries: dict[str, tuple[int, _State]]) -> _EntryTable:
    """Breadth-first walk from several entry states, each joining when the walk reaches its distance.

    An entry at distance d starts at level d, so the first path found to each target is a
    shortest one over all the entries, as one walk from the principal gives.
    """
    joining: dict[int, list[_State]] = {}
    for distance, state in entries.values():
        joining.setdefault(distance, []).append(state)
    last_join = max(joining)
    level = min(joining)
    parents: dict[_State, tuple[_State, Step] | None] = {}
    table: _EntryTable = {}
    frontier: list[_State] = []
    while frontier or level <= last_join:
        for state in sorted(joining.get(level, ()), key=lambda joined: joined.node):
            if state not in parents:
                parents[state] = None
                frontier.append(state)
        next_frontier: list[_State] = []
        for state in frontier:
            steps: list[Step] | None = None
            for move, _ in _permitted(deputy, state.node, walk, state.weak):
                if move.access is not None:
                    target_key = (move.step.target, move.access, state.through_agent)
                    if target_key not in table:
                        steps = steps if steps is not None else _steps_to(parents, state)
                        origin = steps[0].source if steps else state.node
                        table[target_key] = (origin, (*steps, move.step), state.weak)
                    continue
                following = _after(state, move)
                if following not in parents:
                    parents[following] = (state, move.step)
                    next_frontier.append(following)
        frontier = next_frontier
        level += 1
    return table


def _steps_to(parents: Mapping[_Node, tuple[_Node, Step] | None], state: _Node) -> list[Step]:
    """Follow a breadth-first walk's parent links back from `state` and return the steps in order."""
    steps: list[Step] = []
    entry = parents[state]
    while entry is not None:
        previous, step = entry
        steps.append(step)
        entry = parents[previous]
    return list(reversed(steps))


def _choose(result: _PassResult, key: _Key) -> _Found | None:
    """Return the shorter of a pass's two paths to one (target, access). A path through an agent wins a tie."""
    own = result.own.get(key)
    agent = result.agent.get(key)
    if own is None or (agent is not None and agent.length <= own.length):
        return agent
    return own


def _reach(principal: str, key: _Key, found: _Found) -> Reach:
    return Reach(
        principal=principal,
        target=key[0],
        access=key[1],
        steps=found.steps,
        through_agent=found.through_agent,
        weak=found.weak,
        conditional=any(step.properties.get("conditional") for step in found.steps),
    )


def _reached_keys(results: list[_PassResult]) -> set[_Key]:
    keys: set[_Key] = set()
    for result in results:
        keys.update(result.own)
        keys.update(result.agent)
    return keys


def _first_choice(results: list[_PassResult], key: _Key) -> _Found:
    for result in results:
        found = _choose(result, key)
        if found is not None:
            return found
    raise KeyError(key)


def reach_from(
    deputy: DeputyGraph, principal: str, *, agents: bool = True, functions: bool = True, escalation: bool = True
) -> list[Reach]:
    """Return every target a principal reaches, with one explaining path for each (target, access).

    The path is chosen in four passes, each a breadth-first walk: strong paths over
    unconditional edges, strong paths over any edge, then the same two allowing the
    agent's own execution role. The first pass that reaches a (target, access) gives its
    path, so `conditional` means no unconditional path of that strength exists and
    `weak` means no strong path exists. With `agents=False` and `functions=False` only
    the principal's own permissions, role assumption and privilege escalation are followed:
    its direct reach. With `escalation=False` escalation edges are not followed either.
    """
    if principal not in deputy.graph:
        return []
    results = _run_passes(deputy, principal, agents=agents, functions=functions, escalation=escalation)
    reaches = [_reach(principal, key, _first_choice(results, key)) for key in _reached_keys(results)]
    return sorted(reaches, key=lambda reach: (reach.target, reach.access))


def blast_radius(
    deputy: DeputyGraph, principal: str, *, sensitive_only: bool = True, via_agent: str | None = None
) -> list[Reach]:
    """Every (sensitive) target a principal reaches, each flagged when it is a confused deputy.

    A target is a confused deputy when a path through an agent reaches it and the
    principal has no unconditional direct path to the same (target, access), or has only
    a conditional one while the strongest path through the agent is unconditional. Then
    that path through the agent is the one shown, even where invoking a Lambda function
    directly would be shorter. Otherwise the path is the one `reach_from` chooses.

    With `via_agent` (an agent ARN), the paths through an agent are those whose first
    invoked alias belongs to that agent, so every confused deputy through it is found,
    not only those where it gives the shortest path.
    """
    if principal not in deputy.graph:
        return []
    nodes = deputy.graph.nodes
    results = _run_passes(deputy, principal, agents=True, functions=True, via_agent=via_agent)
    direct_results = _run_passes(deputy, principal, agents=False, functions=False)
    result: list[Reach] = []
    for key in sorted(_reached_keys(results)):
        if sensitive_only and not nodes[key[0]].get("sensitive"):
            continue
        through_agent = next((r.agent[key] for r in results if key in r.agent), None)
        own_found = next((r.own[key] for r in direct_results if key in r.own), None)
        if through_agent is not None:
            agent_reach = _reach(principal, key, through_agent)
            own = _reach(principal, key, own_found) if own_found is not None else None
            if own is None or (own.conditional and not agent_reach.conditional):
                result.append(replace(agent_reach, confused_deputy=True, direct_conditional=own is not None))
                continue
        result.append(_reach(principal, key, _first_choice(results, key)))
    return result


def invokers(deputy: DeputyGraph) -> list[str]:
    """Users and roles that can invoke some agent alias, directly or by assuming roles or escalating.

    A walk backwards over the act-as edges (CAN_ASSUME and escalation) from every principal
    with a CAN_INVOKE_AGENT edge finds them all at once.
    """
    graph = deputy.graph
    found: set[str] = set()
    queue: deque[str] = deque()
    for source, _, rel in graph.edges(keys=True):
        if rel == Rel.CAN_INVOKE_AGENT and graph.nodes[source]["label"] in PRINCIPAL_LABELS and source not in found:
            found.add(source)
            queue.append(source)
    while queue:
        node = queue.popleft()
        for source, _, rel in graph.in_edges(node, keys=True):
            if rel in ACT_AS_RELS and source not in found and graph.nodes[source]["label"] in PRINCIPAL_LABELS:
                found.add(source)
                queue.append(source)
    return sorted(node for node in found if graph.nodes[node]["label"] in (Label.USER, Label.ROLE))


def invocable_aliases(deputy: DeputyGraph, principal: str) -> list[Reach]:
    """The agent aliases a principal can invoke, directly or after act-as edges, with the shortest path to each."""
    if principal not in deputy.graph:
        return []
    graph = deputy.graph
    parents: dict[str, tuple[str, Step] | None] = {principal: None}
    best: dict[str, Reach] = {}
    frontier = [principal]
    while frontier:
        next_frontier: list[str] = []
        for node in frontier:
            prefix: tuple[Step, ...] | None = None
            for move in _moves(deputy, node):
                rel, target = move.step.rel, move.step.target
                if rel == Rel.CAN_INVOKE_AGENT and target not in best:
                    prefix = prefix if prefix is not None else tuple(_steps_to(parents, node))
                    path = (*prefix, move.step)
                    conditional = any(step.properties.get("conditional") for step in path)
                    best[target] = Reach(principal, target, "invoke", path, True, False, conditional)
                elif rel in ACT_AS_RELS and target not in parents and graph.nodes[target]["label"] in PRINCIPAL_LABELS:
                    parents[target] = (node, move.step)
                    next_frontier.append(target)
        frontier = next_frontier
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
        for move in _moves(deputy, state.node):
            if move.access is not None:
                continue
            following = _after(state, move)
            if following in parents:
                continue
            parents[following] = (state, move.step)
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


def not_seen_for(deputy: DeputyGraph, principal: str) -> list[str]:
    """Return the "not analysed" notes that can change a principal's blast radius and paths.

    A note with subjects (`DeputyGraph.note_subjects`) counts when the principal reaches
    one of them over edges of any type, which includes every walk the passes may take. A
    note without subjects, such as no organization data, concerns every principal.
    """
    subjects = deputy.note_subjects
    if not subjects:
        return list(deputy.notes)
    seen = {principal}
    queue = deque([principal])
    while queue:
        for target in deputy.graph.successors(queue.popleft()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return [note for note in deputy.notes if note not in subjects or not seen.isdisjoint(subjects[note])]


def principals_reaching(deputy: DeputyGraph, nodes: Iterable[str]) -> set[str]:
    """Return the users, roles and escalated principals that reach one of the nodes over any edges.

    This is the walk of `not_seen_for` in reverse, so a principal is in the set exactly
    when that function counts a note about these nodes for it.
    """
    graph = deputy.graph
    seen = {node for node in nodes if node in graph}
    queue = deque(seen)
    while queue:
        for source in graph.predecessors(queue.popleft()):
            if source not in seen:
                seen.add(source)
                queue.append(source)
    return {node for node in seen if graph.nodes[node]["label"] in PRINCIPAL_LABELS}
