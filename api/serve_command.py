"""`deputy serve`: the REST API on uvicorn, over the embedded graph or Neo4j.

`deputy scheduler` runs the same scheduled rebuilds into Neo4j without serving HTTP.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from types import FrameType
from typing import Any

from api.http.keys import API_KEYS_VARIABLE, parse_api_keys
from api.rebuild import DEFAULT_COLLECT_TIMEOUT, Rebuilder, RebuildSource, Schedule, parse_duration
from engine.errors import DeputyError, UsageError
from queries.builds import DEFAULT_KEEP_BUILDS

logger = logging.getLogger(__name__)


def add_command(commands: Any) -> None:
    """Register `serve` on the CLI's subcommand parser."""
    help_text = f"serve the REST API (API keys from {API_KEYS_VARIABLE}, as KEY:read or KEY:admin separated by commas)"
    serve: argparse.ArgumentParser = commands.add_parser("serve", help=help_text, description=help_text)
    serve.add_argument(
        "--backend",
        choices=("embedded", "neo4j"),
        default="embedded",
        help="embedded: build the graph of --snapshot in memory; neo4j: read the current build "
        "(NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE) (default: embedded)",
    )
    serve.add_argument(
        "--snapshot", help="snapshot folder; required for embedded, and for POST /v1/decisions with neo4j"
    )
    serve.add_argument("--config", help="TOML file with sensitivity rules for the embedded backend")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default: 8000)")
    serve.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a request may run before it gets 503 (default: 30)"
    )
    serve.add_argument(
        "--rebuild-every",
        metavar="DURATION",
        help="rebuild the graph from --snapshot on this period, such as 90s, 15m, 1h or 1d (default: only on "
        "POST /v1/builds)",
    )
    _add_rebuild_arguments(serve)

    help_text = (
        "rebuild the Neo4j graph from a snapshot folder on a schedule "
        "(NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE)"
    )
    scheduler: argparse.ArgumentParser = commands.add_parser("scheduler", help=help_text, description=help_text)
    scheduler.add_argument("--snapshot", required=True, help="snapshot folder to build from")
    scheduler.add_argument("--config", help="TOML file with sensitivity rules (default: built-in rules)")
    scheduler.add_argument(
        "--every", metavar="DURATION", help="period between rebuilds, such as 90s, 15m, 1h or 1d (default: 1h)"
    )
    scheduler.add_argument("--once", action="store_true", help="run one rebuild and exit: 0 if it succeeded, 2 if not")
    _add_rebuild_arguments(scheduler)


def _add_rebuild_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--keep",
        type=int,
        default=DEFAULT_KEEP_BUILDS,
        help=f"succeeded builds to keep for GET /v1/builds/diff, the current one included (default: "
        f"{DEFAULT_KEEP_BUILDS})",
    )
    command.add_argument(
        "--collect-command",
        metavar="COMMAND",
        help="command that refreshes the snapshot folder before each rebuild, split as a shell would but run "
        "without one; a non-zero exit fails the rebuild",
    )
    command.add_argument(
        "--collect-timeout",
        type=float,
        default=DEFAULT_COLLECT_TIMEOUT,
        help=f"seconds the collect command may run (default: {DEFAULT_COLLECT_TIMEOUT:g})",
    )


def _check_rebuild_arguments(args: argparse.Namespace) -> None:
    if args.keep < 1:
        raise UsageError(f"--keep {args.keep} is invalid; keep at least the current build (1)")
    if args.collect_timeout <= 0:
        raise UsageError(f"--collect-timeout {args.collect_timeout} is invalid; give a positive number of seconds")


def run_serve(args: argparse.Namespace) -> None:
    """Check the settings, open the backend, and serve until interrupted; raise DeputyError on bad input."""
    # Imported here so that the other commands do not pay for FastAPI and uvicorn.
    import uvicorn  # noqa: PLC0415

    from api.http.app import ServeSettings, create_app  # noqa: PLC0415
    from queries.store import Neo4jSettings  # noqa: PLC0415

    keys = parse_api_keys(os.environ.get(API_KEYS_VARIABLE, ""))
    if not keys:
        raise UsageError(f"no API keys are configured; set {API_KEYS_VARIABLE}=KEY:read (or KEY:admin) and start again")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is invalid; give a TCP port from 1 to 65535")
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout} is invalid; give a positive number of seconds")
    if args.backend == "embedded" and args.snapshot is None:
        raise UsageError("--backend embedded needs --snapshot DIR, the snapshot folder to serve")
    _check_rebuild_arguments(args)
    rebuild_every = None
    if args.rebuild_every is not None:
        rebuild_every = parse_duration(args.rebuild_every, "--rebuild-every")
        if args.snapshot is None:
            raise UsageError("--rebuild-every needs --snapshot DIR, the snapshot folder to rebuild from")
    settings = ServeSettings(
        backend=args.backend,
        api_keys=keys,
        snapshot=args.snapshot,
        config=args.config,
        neo4j=Neo4jSettings.from_environment() if args.backend == "neo4j" else None,
        request_timeout=args.timeout,
        rebuild_every=rebuild_every,
        keep_builds=args.keep,
        collect_command=RebuildSource.command_from(args.collect_command),
        collect_timeout=args.collect_timeout,
    )
    # The CLI logs warnings only unless -v; a service also logs each request, each rebuild,
    # and its start and stop.
    logging.getLogger("api").setLevel(logging.INFO)
    logging.getLogger("queries").setLevel(logging.INFO)
    app = create_app(settings)
    logger.info("listening on %s:%s", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")


def run_scheduler(args: argparse.Namespace) -> int:
    """Rebuild into Neo4j on the schedule until SIGTERM or SIGINT; with --once, rebuild once.

    Returns the exit code: 0, or 2 when the one rebuild of --once failed.
    """
    from api.http.neo4j_backend import Neo4jBackend  # noqa: PLC0415
    from queries.store import GraphStore, Neo4jSettings  # noqa: PLC0415

    _check_rebuild_arguments(args)
    period = parse_duration(args.every or "1h", "--every")
    source = RebuildSource(
        snapshot=args.snapshot,
        config=args.config,
        collect_command=RebuildSource.command_from(args.collect_command),
        collect_timeout=args.collect_timeout,
    )
    logging.getLogger("api").setLevel(logging.INFO)
    logging.getLogger("queries").setLevel(logging.INFO)
    backend = Neo4jBackend(GraphStore.connect(Neo4jSettings.from_environment()), None)
    try:
        rebuilder = Rebuilder(backend, source, keep=args.keep)
        if args.once:
            outcome = rebuilder.run()
            if not outcome.succeeded:
                raise DeputyError(f"rebuild {outcome.build_id} failed: {outcome.error}")
            return 0
        schedule = Schedule(rebuilder, period, first_at_once=True)

        def stop(signum: int, _: FrameType | None) -> None:
            logger.info("received signal %s; stopping after the running rebuild", signum)
            schedule.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        schedule.run_until_stopped()
        return 0
    finally:
        backend.close()
