"""Agent alias tags: `alias-tags/<alias-id>.json`, the output of `list-tags-for-resource`."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from engine.errors import SnapshotError
from ingest.snapshot import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
AGENT_DIR = f"{ACCOUNT}/us-east-1/bedrock-agent/agents/Q7HRX2KD4N"
AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"


def copy_example(tmp_path: Path) -> Path:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    return root


def write_tags(root: Path, alias_id: str, document: object) -> None:
    path = root / AGENT_DIR / "alias-tags" / f"{alias_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def alias_tags(root: Path) -> dict[str, dict[str, str]]:
    agent = load_snapshot(root).accounts[ACCOUNT].agents[AGENT]
    return {alias.alias_id: dict(alias.tags) for alias in agent.aliases}


def test_alias_tags_read(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    write_tags(root, "PRD4N8XK2Z", {"tags": {"environment": "prod", "owner": "hr"}})
    tags = alias_tags(root)
    assert tags["PRD4N8XK2Z"] == {"environment": "prod", "owner": "hr"}
    assert tags["V1S7QJ3M0B"] == {}


def test_alias_tags_absent_empty() -> None:
    assert all(tags == {} for tags in alias_tags(EXAMPLE).values())


def test_alias_tag_value_not_string(tmp_path: Path) -> None:
    root = copy_example(tmp_path)
    write_tags(root, "PRD4N8XK2Z", {"tags": {"environment": 1}})
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)
    assert str(caught.value) == (
        f"{AGENT_DIR}/alias-tags/PRD4N8XK2Z.json: field 'tags.environment': expected a string tag value, got 1"
    )


def test_alias_tags_unknown_alias_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = copy_example(tmp_path)
    write_tags(root, "NOSUCHALIAS", {"tags": {"environment": "prod"}})
    with caplog.at_level(logging.WARNING):
        tags = alias_tags(root)
    assert "NOSUCHALIAS" not in tags
    assert "ignoring the tags of alias NOSUCHALIAS of agent Q7HRX2KD4N: aliases.json does not list it" in caplog.text
