"""`deputy serve`: the REST API on uvicorn, over the embedded graph or Neo4j."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from api.http.auth import API_KEYS_VARIABLE, parse_api_keys
from engine.errors import UsageError

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
    settings = ServeSettings(
        backend=args.backend,
        api_keys=keys,
        snapshot=args.snapshot,
        config=args.config,
        neo4j=Neo4jSettings.from_environment() if args.backend == "neo4j" else None,
        request_timeout=args.timeout,
    )
    # The CLI logs warnings only unless -v; a service also logs each request and its start and stop.
    logging.getLogger("api.http").setLevel(logging.INFO)
    app = create_app(settings)
    logger.info("listening on %s:%s", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
