"""Rebuilds of the graph: from a snapshot folder, optionally refreshed by a collector command first.

A rebuild records a running build, runs the collector command if one is configured, reads
the snapshot, builds the graph, and hands it to the backend, which writes it beside the
current build and swaps. A rebuild that fails at any step is marked failed with its cause
and logged, and the current build keeps serving. `Rebuilder` lets one rebuild run at a
time in a process; the backend's `begin_build` also rejects a second running build, which
for Neo4j covers other processes too. `Schedule` starts a rebuild every period.

The graph builder and the Neo4j store are imported where they are used, because the
command line imports this module for the defaults of its options.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import DeputyError, UsageError
from queries.builds import DEFAULT_KEEP_BUILDS

if TYPE_CHECKING:
    from api.http.backends import Backend
    from api.http.models import Build
    from engine.graph import DeputyGraph

logger = logging.getLogger(__name__)

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MIN_PERIOD_SECONDS = 1.0
DEFAULT_COLLECT_TIMEOUT = 3600.0
FINISHING_WAIT_SECONDS = 1.0
COLLECT_OUTPUT_IN_ERROR = 300  # characters of the collector's last stderr line kept in a build's error


class RebuildError(DeputyError):
    """A step of a rebuild failed; the message is stored as the failed build's cause."""


def parse_duration(text: str, option: str) -> float:
    """Seconds from `90`, `90s`, `15m`, `1h` or `1d`; raise UsageError naming the option."""
    match = DURATION.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r} is invalid; write a number with s, m, h or d, for example 15m")
    seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds < MIN_PERIOD_SECONDS:
        raise UsageError(f"{option} {text!r} is too short; give at least {MIN_PERIOD_SECONDS:g} second")
    return seconds


@dataclass(frozen=True, slots=True)
class RebuildSource:
    """Where a rebuild's graph comes from: a snapshot folder, refreshed first by an optional command."""

    snapshot: str
    config: str | None = None
    collect_command: tuple[str, ...] = ()
    collect_timeout: float = DEFAULT_COLLECT_TIMEOUT

    @staticmethod
    def command_from(text: str | None) -> tuple[str, ...]:
        """Split a command line as a POSIX shell would, without running a shell; raise UsageError."""
        if not text:
            return ()
        try:
            words = tuple(shlex.split(text))
        except ValueError as error:
            raise UsageError(f"--collect-command is invalid: {error}; quote it as a shell would") from error
        if not words:
            raise UsageError("--collect-command is empty; give the command that writes the snapshot folder")
        return words

    def collect(self) -> None:
        """Run the collector command, if any; raise RebuildError with its exit status and last error line."""
        if not self.collect_command:
            return
        program = self.collect_command[0]
        logger.info("running the collector %s", program)
        try:
            result = subprocess.run(
                self.collect_command,
                capture_output=True,
                text=True,
                timeout=self.collect_timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            raise RebuildError(
                f"collector {program} timed out after {self.collect_timeout:g} seconds; "
                "raise --collect-timeout or make the collection smaller"
            ) from error
        except OSError as error:
            raise RebuildError(f"collector {program} could not start: {error.strerror}") from error
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            last = lines[-1][:COLLECT_OUTPUT_IN_ERROR] if lines else "no error output"
            raise RebuildError(f"collector {program} exited with status {result.returncode}: {last}")

    def build(self) -> DeputyGraph:
        """Collect, read the snapshot and build its graph; raise DeputyError naming the step at fault."""
        from engine.graph import build_graph  # noqa: PLC0415
        from engine.sensitivity import load_sensitivity  # noqa: PLC0415
        from ingest.snapshot import load_snapshot  # noqa: PLC0415

        self.collect()
        return build_graph(load_snapshot(self.snapshot), load_sensitivity(self.config))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one rebuild ended."""

    build_id: str
    succeeded: bool
    error: str | None = None


class Rebuilder:
    """Runs rebuilds into one backend, one at a time."""

    def __init__(self, backend: Backend, source: RebuildSource, *, keep: int = DEFAULT_KEEP_BUILDS) -> None:
        if keep < 1:
            raise UsageError(f"--keep {keep} is invalid; keep at least the current build (1)")
        self.backend = backend
        self.source = source
        self.keep = keep
        self._lock = threading.Lock()
        self._running: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Begin a rebuild that runs in a thread; return its build id or raise BuildRunningError."""
        build_id = self._begin()
        self._thread = threading.Thread(target=self._finish, args=(build_id,), name=f"deputy-rebuild-{build_id}")
        self._thread.start()
        return build_id

    def run(self) -> Outcome:
        """Run one rebuild to its end in this thread; raise BuildRunningError if one runs."""
        return self._finish(self._begin())

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the rebuild that start() began, if any."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _begin(self) -> str:
        from queries.store import BuildRunningError  # noqa: PLC0415

        # A rebuild whose build already shows as succeeded may still be returning; a short
        # wait lets a trigger sent right after it proceed instead of getting 409.
        if not self._lock.acquire(timeout=FINISHING_WAIT_SECONDS):
            raise BuildRunningError(self._running or "of this process")
        try:
            self._running = self.backend.begin_build(self.source.snapshot)
        except BaseException:
            self._lock.release()
            raise
        return self._running

    def _finish(self, build_id: str) -> Outcome:
        try:
            return self._attempt(build_id)
        finally:
            self._running = None
            self._lock.release()

    def _attempt(self, build_id: str) -> Outcome:
        started = time.perf_counter()
        try:
            with self.backend.keep_alive(build_id):
                record = self._build(build_id)
        except DeputyError as error:
            cause = str(error)
            logger.error("rebuild %s failed; the previous build keeps serving: %s", build_id, cause)
        except Exception as error:
            # The rebuild's outermost handler: record the failure so that the build does
            # not stay `running`, and keep the traceback in the log only.
            cause = f"unexpected {type(error).__name__}; the service log has the traceback"
            logger.exception("rebuild %s failed; the previous build keeps serving", build_id)
        else:
            logger.info(
                "rebuild %s succeeded in %.1f s: %s nodes, %s relationships, %s attack paths",
                build_id,
                time.perf_counter() - started,
                record.nodes,
                record.relationships,
                record.attack_paths,
            )
            return Outcome(build_id, succeeded=True)
        self.backend.fail_build(build_id, cause)
        return Outcome(build_id, succeeded=False, error=cause)

    def _build(self, build_id: str) -> Build:
        deputy = self.source.build()
        return self.backend.complete_build(build_id, deputy, keep=self.keep)


class Schedule:
    """Starts a rebuild every `period` seconds in a thread; a run still going makes the next tick wait."""

    def __init__(self, rebuilder: Rebuilder, period: float, *, first_at_once: bool) -> None:
        self.rebuilder = rebuilder
        self.period = period
        self.first_at_once = first_at_once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run_until_stopped, name="deputy-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to stop after the running rebuild, if any, and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request_stop(self) -> None:
        self._stop.set()

    def run_until_stopped(self) -> None:
        """Run rebuilds on the schedule until stop(); ticks missed while a rebuild ran are skipped."""
        next_at = time.monotonic() + (0 if self.first_at_once else self.period)
        logger.info("rebuilding %s every %g seconds", self.rebuilder.source.snapshot, self.period)
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self._tick()
            next_at += self.period
            now = time.monotonic()
            if next_at <= now:
                skipped = int((now - next_at) // self.period) + 1
                logger.warning("the rebuild ran past %s scheduled start(s); skipping them", skipped)
                next_at += skipped * self.period
        logger.info("stopped the rebuild schedule")

    def _tick(self) -> None:
        from queries.store import BuildRunningError  # noqa: PLC0415

        try:
            self.rebuilder.run()
        except BuildRunningError as error:
            logger.info("skipping a scheduled rebuild: %s", error)
        except DeputyError as error:
            # begin_build could not record the build, for example because Neo4j is down.
            logger.error("a scheduled rebuild could not start: %s", error)
