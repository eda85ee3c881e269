"""Measure the wall time, CPU time and peak memory of `deputy analyze SNAPSHOT --format json`.

Each run starts a fresh `deputy -v analyze SNAPSHOT --format json` process, so every
run pays for interpreter start-up, imports, loading the snapshot, building the graph,
the path queries and writing the JSON, exactly as a user's run does. The JSON goes to
a pipe and is discarded after its `summary` object has been read.

- Wall time is measured around the child process with `time.perf_counter`.
- CPU time is the child's user plus system time from the same `os.wait4` call. On a
  machine that other work shares it varies less than wall time, so the 1-minute load
  average at the start of each run is reported too.
- Peak memory is the child's maximum resident set size, read with `os.wait4` from the
  kernel's resource usage of that one process (`ru_maxrss`, KiB on Linux).
- Phase times come from the moment each of two `-v` log lines arrives on the child's
  standard error. `ingest.snapshot: loaded snapshot` ends the load phase, which includes
  start-up and imports. `engine.graph: built graph` ends the build phase, and process exit
  ends the analysis phase (path queries and JSON output).
- Node, relationship and policy-evaluation counts come from the `built graph` log line;
  the per-label node counts and confused-deputy count come from the JSON `summary`.

With `--profile FILE` the run happens under `python -m cProfile -o FILE`, so its times
include the profiler's overhead. A profiled run that reaches `--timeout` receives SIGINT,
and cProfile writes the statistics gathered up to that moment before the process exits.

Prints one JSON line, and exits with status 1 when a run fails or times out. Usage:

    .venv/bin/python scripts/bench_analyze.py SNAPSHOT [--repeat N] [--timeout SECONDS] [--profile FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

LOADED_LINE = "ingest.snapshot: loaded snapshot"
BUILT_PREFIX = "engine.graph: built graph"
BUILT_LINE = re.compile(
    r"engine\.graph: built graph: (?P<nodes>\d+) nodes, (?P<edges>\d+) edges, "
    r"(?P<evaluations>\d+) policy evaluations \((?P<cached>\d+) taken from the cache\)"
)
SUMMARY_KEY = '"summary": '
# The summary is the second key of the analysis JSON, so it arrives within the first bytes.
SUMMARY_WINDOW = 1 << 20
# How long a profiled process may take to write its statistics after SIGINT.
PROFILE_WRITE_SECONDS = 120.0


@dataclass(slots=True)
class StderrLog:
    """The child's standard error, with the time since start at which each line arrived."""

    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)

    def read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines.append((time.perf_counter() - self.started, raw.decode("utf-8", "replace").rstrip("\n")))

    def first(self, needle: str) -> tuple[float, str] | None:
        for seconds, line in self.lines:
            if needle in line:
                return seconds, line
        return None


@dataclass(slots=True)
class StdoutHead:
    """The first bytes of the child's standard output, which hold the summary.

    The rest is read and dropped, so that the child never blocks on a full pipe.
    """

    head: bytearray = field(default_factory=bytearray)
    total_bytes: int = 0

    def read(self, stream: IO[bytes]) -> None:
        while chunk := stream.read(1 << 16):
            self.total_bytes += len(chunk)
            if len(self.head) < SUMMARY_WINDOW:
                self.head += chunk[: SUMMARY_WINDOW - len(self.head)]

    def summary(self) -> dict[str, Any] | None:
        text = self.head.decode("utf-8", "replace")
        start = text.find(SUMMARY_KEY)
        if start < 0:
            return None
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start + len(SUMMARY_KEY))
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


@dataclass(slots=True)
class Run:
    """One measured `deputy analyze` process."""

    exit_code: int | None
    timed_out: bool
    seconds: float
    cpu_seconds: float
    load_average: float
    peak_mib: float
    output_bytes: int
    load_seconds: float | None
    build_seconds: float | None
    built: dict[str, int] | None
    summary: dict[str, Any] | None
    error: str | None


def run_once(deputy: Path, snapshot: str, timeout: float | None, profile: Path | None = None) -> Run:
    """Run `deputy -v analyze SNAPSHOT --format json` once in a new process and measure it."""
    command = [str(deputy), "-v", "analyze", snapshot, "--format", "json"]
    if profile is not None:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    log = StderrLog(started)
    output = StdoutHead()
    readers = [
        threading.Thread(target=log.read, args=(process.stderr,), daemon=True),
        threading.Thread(target=output.read, args=(process.stdout,), daemon=True),
    ]
    for reader in readers:
        reader.start()

    timed_out = threading.Event()
    timers: list[threading.Timer] = []

    def stop() -> None:
        timed_out.set()
        if profile is None:
            process.kill()
            return
        # KeyboardInterrupt unwinds the profiled code, and cProfile writes its file on the way out.
        process.send_signal(signal.SIGINT)
        _start_timer(timers, PROFILE_WRITE_SECONDS, process.kill)

    if timeout:
        _start_timer(timers, timeout, stop)
    # wait4 reaps the child and returns its own resource usage, not that of earlier runs.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    for timer in timers:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()

    loaded = log.first(LOADED_LINE)
    built = log.first(BUILT_PREFIX)
    built_match = BUILT_LINE.search(built[1]) if built else None
    # A stopped profiled run prints the KeyboardInterrupt traceback, which is no error of deputy's.
    errors = [
        line
        for _, line in log.lines
        if line.startswith("deputy: error") or ("Traceback" in line and not timed_out.is_set())
    ]
    return Run(
        exit_code=None if timed_out.is_set() else process.returncode,
        timed_out=timed_out.is_set(),
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load_average=load_average,
        peak_mib=usage.ru_maxrss / 1024,
        output_bytes=output.total_bytes,
        load_seconds=loaded[0] if loaded else None,
        build_seconds=built[0] - loaded[0] if built and loaded else None,
        built={key: int(value) for key, value in built_match.groupdict().items()} if built_match else None,
        summary=output.summary(),
        error=errors[0] if errors else None,
    )


def _start_timer(timers: list[threading.Timer], seconds: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timers.append(timer)
    timer.start()


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), 3) if known else None


def report(snapshot: str, runs: list[Run], *, profiled: bool = False) -> dict[str, Any]:
    """Summarise the runs as one JSON-ready record, with the counts of the last complete run."""
    complete = [run for run in runs if run.exit_code == 0]
    last = complete[-1] if complete else runs[-1]
    summary = last.summary or {}
    built = last.built or {}
    result: dict[str, Any] = {
        "snapshot": snapshot,
        "runs": len(runs),
        "completed": len(complete),
        "nodes": built.get("nodes"),
        "relationships": built.get("edges", summary.get("relationships")),
        "nodes_by_label": summary.get("nodes"),
        "policy_evaluations": built.get("evaluations"),
        "evaluations_from_cache": built.get("cached"),
        "invokers": summary.get("invokers"),
        "confused_deputy_paths": summary.get("confused_deputy_paths"),
        "output_mib": round(last.output_bytes / (1 << 20), 1),
        "seconds_min": round(min(run.seconds for run in complete), 3) if complete else None,
        "seconds_median": _median([run.seconds for run in complete]),
        "cpu_seconds_min": round(min(run.cpu_seconds for run in complete), 3) if complete else None,
        "cpu_seconds_median": _median([run.cpu_seconds for run in complete]),
        "load_seconds_median": _median([run.load_seconds for run in complete]),
        "build_seconds_median": _median([run.build_seconds for run in complete]),
        "peak_mib": round(max(run.peak_mib for run in complete), 1) if complete else None,
        "peak_measure": "ru_maxrss of the deputy process (os.wait4)",
        "load_average_max": round(max(run.load_average for run in runs), 2),
        "profiled": profiled,
    }
    if len(complete) < len(runs):
        failed = next(run for run in runs if run.exit_code != 0)
        result["failure"] = {
            "timed_out": failed.timed_out,
            "exit_code": failed.exit_code,
            "after_seconds": round(failed.seconds, 1),
            "cpu_seconds": round(failed.cpu_seconds, 1),
            "peak_mib": round(failed.peak_mib, 1),
            "load_seconds": None if failed.load_seconds is None else round(failed.load_seconds, 1),
            "build_seconds": None if failed.build_seconds is None else round(failed.build_seconds, 1),
            "error": failed.error,
        }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the wall time, CPU time and peak memory of `deputy analyze`.")
    parser.add_argument("snapshot", help="snapshot folder to analyse")
    parser.add_argument("--repeat", type=int, default=3, help="number of runs, each in a new process (default: 3)")
    parser.add_argument(
        "--timeout", type=float, help="stop a run after this many seconds and report it as timed out (default: none)"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="run under cProfile and write its statistics to FILE"
    )
    parser.add_argument(
        "--deputy",
        type=Path,
        default=Path(sys.executable).with_name("deputy"),
        help="the deputy command to run (default: the one beside this Python)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat} is invalid; give 1 or more")
    if not args.deputy.is_file():
        parser.error(f"--deputy {args.deputy} not found; install deputygraph into .venv or pass the command's path")

    if args.profile is not None and args.repeat != 1:
        parser.error("--profile needs --repeat 1, because each run would overwrite the statistics file")

    runs: list[Run] = []
    for _ in range(args.repeat):
        run = run_once(args.deputy, args.snapshot, args.timeout, args.profile)
        runs.append(run)
        if run.exit_code != 0:
            break  # a failed or stopped run would fail the same way again
    print(json.dumps(report(args.snapshot, runs, profiled=args.profile is not None)))
    return 0 if runs[-1].exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
