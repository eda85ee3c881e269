"""The split walk of engine.paths gives what one plain breadth-first walk per principal gives."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

from engine import paths
from engine.graph import DeputyGraph, build_graph
from ingest.snapshot import load_snapshot

ROOT = Path(__file__).resolve().parents[2]

# (target, access) -> (steps, weak, through_agent, conditional) of the chosen path
Summary = dict[tuple[str, str], tuple[int, bool, bool, bool]]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> DeputyGraph:
    """A generated 200-role account (scripts/make_synthetic_snapshot.py, seed 11)."""
    out = tmp_path_factory.mktemp("generated") / "snapshot"
    script = ROOT / "scripts" / "make_synthetic_snapshot.py"
    subprocess.run([sys.executable, str(script), str(out), "--roles", "200", "--seed", "11"], check=True, timeout=300)
    return build_graph(load_snapshot(out))


def plain_walk(deputy: DeputyGraph, principal: str) -> Summary:
    """Four breadth-first passes from the principal over the whole graph, with no caching."""
    chosen: Summary = {}
    for allow_weak, allow_conditional in paths.PASSES:
        walk = paths._Walk(agents=True, functions=True, weak=allow_weak, conditional=allow_conditional)
        start = paths._State(principal, False, False)
        depth = {start: 0}
        conditional = {start: False}
        queue = deque([start])
        while queue:
            state = queue.popleft()
            for step, following, access in paths._next_steps(deputy, state):
                if not walk.allows(step, following):
                    continue
                step_conditional = conditional[state] or bool(step.properties.get("conditional"))
                if access is not None:
                    key = (step.target, access)
                    if key not in chosen:
                        chosen[key] = (depth[state] + 1, state.weak, state.through_agent, step_conditional)
                    continue
                if following not in depth:
                    depth[following] = depth[state] + 1
                    conditional[following] = step_conditional
                    queue.append(following)
    return chosen


def test_split_walk_matches_plain_walk(generated: DeputyGraph) -> None:
    principals = sorted(n for n, d in generated.graph.nodes(data=True) if d["label"] in ("User", "Role"))
    invokers = set(paths.invokers(generated))
    assert len(invokers) >= 10
    compared = 0
    for principal in principals[::3]:
        expected = plain_walk(generated, principal)
        got = {
            (r.target, r.access): (len(r.steps), r.weak, r.through_agent, r.conditional)
            for r in paths.reach_from(generated, principal)
        }
        assert set(got) == set(expected), principal
        for key, (hops, weak, _through_agent, _conditional) in expected.items():
            # Equally short paths may differ in which agent or role they pass, never in
            # length or strength.
            assert (got[key][0], got[key][1]) == (hops, weak), (principal, key)
        compared += 1
    assert compared >= 70
    # Principals with the same entries into agents share cached walks.
    assert 0 < len(generated.path_cache) < 4 * len(invokers)


def test_invokers_match_alias_reach(generated: DeputyGraph) -> None:
    principals = [n for n, d in generated.graph.nodes(data=True) if d["label"] in ("User", "Role")]
    expected = sorted(p for p in principals if paths.invocable_aliases(generated, p))
    assert paths.invokers(generated) == expected
