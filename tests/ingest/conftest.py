"""Fixtures for the snapshot reader tests: write literal AWS CLI output into a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

SnapshotWriter = Callable[[Mapping[str, Any]], Path]


@pytest.fixture
def write_snapshot(tmp_path: Path) -> SnapshotWriter:
    """Return a function that writes `{relative path: JSON value}` under one snapshot root.

    A `str` value is written as-is, so tests can store text that is not valid JSON.
    The function returns the snapshot root and may be called again to add files.
    """
    root = tmp_path / "snapshot"

    def write(files: Mapping[str, Any]) -> Path:
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            text = content if isinstance(content, str) else json.dumps(content, indent=2)
            path.write_text(text, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return write
