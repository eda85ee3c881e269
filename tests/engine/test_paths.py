"""The split walk of engine.paths gives what one plain breadth-first walk per principal gives."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import paths
from engine.graph import DeputyGraph, build_graph
from ingest.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[2]

# (target, access) -> (steps, weak, through an agent) of the chosen path
Summary = dict[tuple[str, str], tuple[int, bool, bool]]
# (target, access if the walk ends, weak, through an agent, conditional)
Move = tuple[str, str | None, bool, bool, bool]
ENDINGS = {"CAN_READ": "read", "CAN_WRITE": "write", "CAN_CALL": "call", "CAN_MODIFY_GUARDRAIL": "modify"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> DeputyGraph:
    """A generated 200-role account (scripts/make_synthetic_snapshot.py, seed 11)."""
    out = tmp_path_factory.mktemp("generated") / "snapshot"
    script = ROOT / "scripts" / "make_synthetic_snapshot.py"
    subprocess.run([sys.executable, str(script), str(out), "--roles", "200", "--seed", "11"], check=True, timeout=300)
    return build_graph(load_snapshot(out))


# (label, relationship type) -> (edge flags that must not be false, step into a weak state, access)
STRUCTURAL = {
    ("AgentAlias", "ROUTES_TO"): (("active",), False, None),
    ("AgentVersion", "HAS_ACTION_GROUP"): (("enabled",), False, None),
    ("AgentVersion", "USES_KNOWLEDGE_BASE"): (("enabled", "retrievable"), False, None),
    ("AgentVersion", "HAS_EXECUTION_ROLE"): ((), True, None),
    ("LambdaFunction", "HAS_EXECUTION_ROLE"): ((), False, None),
    ("KnowledgeBase", "HAS_DATA_SOURCE"): ((), False, None),
    ("DataSource", "INGESTS_FROM"): ((), False, "read"),
}


def plain_moves(deputy: DeputyGraph, node: str, weak: bool, through: bool) -> Iterator[Move]:
    """The steps of the walk as the module docstring of engine.paths lists them."""
    label = deputy.graph.nodes[node]["label"]
    for _, target, rel, data in deputy.graph.out_edges(node, keys=True, data=True):
        # The passes take a potential edge only where a conditional one may be taken.
        conditional = bool(data.get("conditional")) or "potential" in data
        if label in ("User", "Role", "EscalatedPrincipal"):
            if rel in ENDINGS:
                yield target, ENDINGS[rel], weak, through, conditional
            elif rel in ("CAN_ASSUME", "CAN_INVOKE_FUNCTION", "CAN_INVOKE_AGENT"):
                yield target, None, weak, through or rel == "CAN_INVOKE_AGENT", conditional
            elif data.get("escalation"):
                # An escalation edge marked weak works only through an agent's own execution role.
                yield target, None, weak or bool(data.get("weak")), through, conditional
        elif (label, rel) == ("ActionGroup", "CALLS_FUNCTION"):
            if data.get("invocable"):
                yield target, None, weak, through, conditional
        elif (label, rel) in STRUCTURAL:
            flags, into_weak, access = STRUCTURAL[(label, rel)]
            if all(data.get(flag, True) for flag in flags):
                yield target, access, weak or into_weak, through, conditional


def plain_walk(deputy: DeputyGraph, principal: str) -> list[Summary]:
    """Four breadth-first passes from the principal over the whole graph, with no caching."""
    passes: list[Summary] = []
    for allow_weak, allow_conditional in ((False, False), (False, True), (True, False), (True, True)):
        chosen: Summary = {}
        passes.append(chosen)
        start = (principal, False, False)
        depth = {start: 0}
        queue = deque([start])
        while queue:
            state = queue.popleft()
            for target, access, weak, through, conditional in plain_moves(deputy, *state):
                if (conditional and not allow_conditional) or (weak and not allow_weak):
                    continue
                if access is not None:
                    chosen.setdefault((target, access), (depth[state] + 1, state[1], state[2]))
                    continue
                following = (target, weak, through)
                if following not in depth:
                    depth[following] = depth[state] + 1
                    queue.append(following)
    return passes


@pytest.mark.parametrize("hub_moves", [paths.HUB_MOVES, 1])
def test_split_walk_matches_plain_walk(generated: DeputyGraph, hub_moves: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a hub threshold of 1 nearly every principal is a hub, so most paths are joined at one."""
    monkeypatch.setattr(paths, "HUB_MOVES", hub_moves)
    generated.path_cache.clear()
    generated.hub_cache.clear()
    generated.path_moves.clear()
    principals = sorted(n for n, d in generated.graph.nodes(data=True) if d["label"] in ("User", "Role"))
    assert len(paths.invokers(generated)) >= 10
    compared = 0
    for principal in principals:
        expected = plain_walk(generated, principal)
        results = paths._run_passes(generated, principal, agents=True, functions=True)
        for number, (want, result) in enumerate(zip(expected, results, strict=True), start=1):
            got = {key: paths._choose(result, key) for key in {*result.own, *result.agent}}
            assert set(got) == set(want), (principal, number)
            for key, (hops, weak, _through_agent) in want.items():
                found = got[key]
                assert found is not None
                # Equally short paths may differ in which agent or role they pass, never in
                # length or strength.
                assert (found.length, found.weak) == (hops, weak), (principal, number, key)
        compared += 1
    assert compared >= 200
    # Some principals invoke aliases or functions at two distances (directly and after
    # assuming a role), so the walk from entries that join late is exercised.
    walk = paths._Walk(agents=True, functions=True, weak=True, conditional=True)
    distances = [{len(path) for path, _ in paths._walk_to_entries(generated, p, walk)[1].values()} for p in principals]
    assert sum(len(found) > 1 for found in distances) >= 2
    # Principals with the same entries into agents share cached walks, and walks join hubs.
    entry_tables = list(generated.path_cache)
    assert 0 < len(entry_tables) < len(principals)
    joined = {key[2] for key in generated.hub_cache}
    assert len(joined) >= (1 if hub_moves == paths.HUB_MOVES else 50)


def test_invokers_match_alias_reach(generated: DeputyGraph) -> None:
    principals = [n for n, d in generated.graph.nodes(data=True) if d["label"] in ("User", "Role")]
    expected = sorted(p for p in principals if paths.invocable_aliases(generated, p))
    assert paths.invokers(generated) == expected
