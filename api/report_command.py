"""`deputy report SNAPSHOT`: write the findings report as Markdown, HTML, SARIF or JSON."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import SnapshotError, UsageError

FORMATS = ("markdown", "html", "sarif", "json")


def add_command(commands: Any) -> None:
    """Register `report` on the CLI's subcommand parser."""
    help_text = "write the findings, least-privilege proposals and top attack paths as a report"
    report: argparse.ArgumentParser = commands.add_parser("report", help=help_text, description=help_text)
    report.add_argument("snapshot", help="snapshot folder (see docs/snapshot-format.md)")
    report.add_argument("--format", choices=FORMATS, default="markdown", help="report format (default: markdown)")
    report.add_argument("--out", help="file to write (default: standard output); written whole or not at all")
    report.add_argument("--previous", help="snapshot folder of an earlier build, to report agent drift (DG011)")
    report.add_argument("--config", help="TOML file with sensitivity and finding rules (default: built-in rules)")


def _check_out(path: Path) -> None:
    """Raise UsageError unless a file can be created in the folder of --out.

    The check creates and removes an empty temporary file there, because os.access reports to root
    that folders such as /proc and /sys are writable, although no file can be created there.
    """
    if path.is_dir():
        raise UsageError(f"--out {str(path)!r} is a directory; give the path of a file")
    if not path.parent.exists():
        raise UsageError(f"--out {str(path)!r}: folder {str(path.parent)!r} not found; create it first")
    if not path.parent.is_dir():
        raise UsageError(f"--out {str(path)!r}: {str(path.parent)!r} is not a folder; give a path inside a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise UsageError(
            f"--out {str(path)!r}: cannot create a file in folder {str(path.parent)!r} ({error.strerror}); "
            "choose a folder you can write to"
        ) from error
    os.close(handle)
    os.unlink(probe)


def _write(path: Path, text: str) -> None:
    """Write the file through a temporary file in the same folder, so a failure leaves the old file whole."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"--out {str(path)!r}: cannot write the report ({error.strerror})") from error


def _renderer(report_format: str) -> Callable[[dict[str, Any]], str]:
    """Return the function that renders a report in one of FORMATS."""
    from api.report import render_json, render_markdown, render_sarif  # noqa: PLC0415
    from api.report_html import render_html  # noqa: PLC0415

    renderers = {"markdown": render_markdown, "html": render_html, "sarif": render_sarif, "json": render_json}
    return renderers[report_format]


def run_report(args: argparse.Namespace) -> None:
    """Build the graph (and the previous one), render the report and write it; raise DeputyError on bad input.

    An --out path that cannot be written fails before the graph is built, so a wrong path
    costs no analysis time.
    """
    # Imported here because the command line imports this module to build its parser.
    from api.report import build_report  # noqa: PLC0415
    from engine.graph import build_graph  # noqa: PLC0415
    from engine.sensitivity import load_sensitivity  # noqa: PLC0415
    from ingest.snapshot import load_snapshot  # noqa: PLC0415

    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"deputy report: [{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    if args.out is not None:
        _check_out(Path(args.out))
    sensitivity = load_sensitivity(args.config)
    progress(f"loading {args.snapshot} and building its graph")
    deputy = build_graph(load_snapshot(args.snapshot), sensitivity)
    previous = None
    if args.previous is not None:
        progress(f"loading {args.previous} and building its graph, for drift")
        try:
            previous_snapshot = load_snapshot(args.previous)
        except SnapshotError as error:
            # The error names a path inside the snapshot, which both snapshots may contain.
            raise SnapshotError(
                f"previous snapshot {args.previous}: {error.path}", error.message, field=error.field
            ) from error
        previous = build_graph(previous_snapshot, sensitivity)
    report = build_report(deputy, previous=previous, progress=progress)
    text = _renderer(args.format)(report)
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write(Path(args.out), text)
        count = report["summary"]["findings"]
        progress(f"wrote {args.out} ({len(text.encode())} bytes, {count} finding{'' if count == 1 else 's'})")
