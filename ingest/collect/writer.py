"""Atomic snapshot writes: every file goes to a staging folder that is renamed at the end.

The staging folder sits beside the output folder, so the final rename stays on one
file system and is atomic. Its `manifest.json` contains `"status": "incomplete"` from
the first write until the last one. The snapshot reader rejects such a manifest, so a
run killed before the rename leaves a folder that cannot pass for a whole snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from engine.errors import UsageError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# A path component that AWS output may supply: ids, names, bucket and trail names.
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@,-]{0,254}$")


class UnsafeName(ValueError):
    """A name from AWS output that cannot be a folder or file name."""


class StagingWriter:
    """Write JSON files under a hidden staging folder, then rename it to the output folder."""

    def __init__(self, out: Path) -> None:
        self.out = out
        if out.exists() or out.is_symlink():
            raise UsageError(
                f"--out {out} already exists; give a folder that does not exist yet, so that no snapshot is overwritten"
            )
        parent = out.parent
        if not parent.is_dir():
            raise UsageError(f"--out {out}: the parent folder {parent} does not exist; create it first")
        self.staging = parent / f".{out.name}.partial-{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        try:
            self.staging.mkdir()
        except OSError as error:
            raise UsageError(
                f"--out {out}: cannot create {self.staging} ({error.strerror}); check the permissions"
            ) from error
        self.files = 0

    def write(self, parts: tuple[str, ...], data: dict[str, Any]) -> None:
        """Write `data` as JSON at the relative path given by `parts`; raise UnsafeName for a bad part."""
        for part in parts:
            if not _SAFE_PART.match(part) or part in (".", ".."):
                raise UnsafeName(f"{part!r} cannot be a file or folder name in a snapshot")
        path = self.staging.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        with self._lock:
            self.files += 1

    def make_folder(self, parts: tuple[str, ...]) -> None:
        """Create an empty folder, which records that a service has no resources there."""
        self.staging.joinpath(*parts).mkdir(parents=True, exist_ok=True)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the final manifest and rename the staging folder to the output folder."""
        self.write((MANIFEST,), manifest)
        _sync_tree(self.staging)
        if self.out.exists() or self.out.is_symlink():
            raise UsageError(
                f"--out {self.out} was created by something else during the collection; the snapshot is "
                f"kept in {self.staging}, so rename it yourself"
            )
        os.rename(self.staging, self.out)
        _sync_folder(self.out.parent)
        logger.debug("renamed %s to %s", self.staging, self.out)

    def discard(self) -> None:
        """Remove the staging folder after a failed or interrupted run."""
        shutil.rmtree(self.staging, ignore_errors=True)


def _sync_tree(root: Path) -> None:
    """Flush every file and folder to disk, so that the rename never exposes unwritten data."""
    for folder, _, files in os.walk(root):
        for name in files:
            descriptor = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        _sync_folder(Path(folder))


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
