"""The `deputy` commands that use the Neo4j graph store: load, query and builds.

The Neo4j driver and the graph builder are imported when a command runs, because the
command line imports this module to build its parser.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from engine.errors import UsageError
from queries.library import queries, query

if TYPE_CHECKING:
    from queries.store import BuildRecord


def add_commands(commands: Any) -> None:
    """Register load, query and builds on the CLI's subcommand parser."""

    def store_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--neo4j-uri", help="Bolt URI of the Neo4j server (default: NEO4J_URI or bolt://127.0.0.1:7687)"
        )
        command.add_argument(
            "--format", choices=("table", "json"), default="table", help="output format (default: table)"
        )
        return command

    load = store_command(
        "load",
        "build the graph of a snapshot and make it the current build in Neo4j "
        "(credentials from NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE)",
    )
    load.add_argument("snapshot", help="snapshot folder (see docs/snapshot-format.md)")
    load.add_argument("--config", help="TOML file with sensitivity rules (default: built-in rules)")
    load.add_argument("--keep", type=int, default=3, help="ready builds to keep, the current one included (default: 3)")
    load.add_argument(
        "--no-potential",
        dest="potential",
        action="store_false",
        help="leave out escalation edges that assume a resource the snapshot has no inventory of",
    )

    run = store_command("query", "run one query of the Cypher library against the current build")
    run.add_argument("name", help=f"query name: {', '.join(sorted(queries()))}")
    run.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="query parameter; see the query's header"
    )

    store_command("builds", "list the builds in Neo4j, newest first, with their status and counts")


def _params(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise UsageError(f"--param {pair!r} is invalid; write KEY=VALUE, for example principal=arn:aws:iam::...")
        values[key] = value
    return values


def _build_json(record: BuildRecord) -> dict[str, Any]:
    return {
        "build": record.build_id,
        "status": record.status,
        "current": record.current,
        "snapshot": record.snapshot,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "nodes": record.nodes,
        "relationships": record.relationships,
        "error": record.error,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no rows"
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns))]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)) for line in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return " > ".join(_cell(item) for item in value)
    return "" if value is None else str(value)


def run_store_command(args: argparse.Namespace) -> tuple[Any, str]:
    """Run load, query or builds; return the JSON-ready result and its table text."""
    from engine.findings import find_all  # noqa: PLC0415
    from engine.graph import build_graph  # noqa: PLC0415
    from engine.sensitivity import load_sensitivity  # noqa: PLC0415
    from ingest.snapshot import load_snapshot  # noqa: PLC0415
    from queries.store import GraphStore, Neo4jSettings  # noqa: PLC0415

    if args.command == "query":
        selected = query(args.name)
        parameters = selected.bind(_params(args.param))
    settings = Neo4jSettings.from_environment(uri=args.neo4j_uri)
    with GraphStore.connect(settings) as store:
        if args.command == "load":
            if args.keep < 1:
                raise UsageError(f"--keep {args.keep} is invalid; keep at least the current build (1)")
            deputy = build_graph(load_snapshot(args.snapshot), load_sensitivity(args.config), potential=args.potential)
            findings = [finding.to_json() for finding in find_all(deputy)]
            record = store.load(deputy, keep=args.keep, findings=findings)
            result = _build_json(record)
            text = (
                f"build {record.build_id} is current: {record.nodes} nodes, "
                f"{record.relationships} relationships and {len(findings)} "
                f"finding{'' if len(findings) == 1 else 's'} from {record.snapshot}"
            )
            return result, text
        if args.command == "builds":
            builds = [_build_json(record) for record in store.builds()]
            return {"builds": builds}, _table(builds)
        if store.current_build() is None:
            raise UsageError("Neo4j holds no current build; run deputy load SNAPSHOT first")
        rows = store.run_read(selected.text, parameters)
        return {"query": selected.name, "parameters": parameters, "rows": rows}, _table(rows)


def print_result(result: Any, fmt: str, text: str) -> None:
    print(json.dumps(result, indent=2) if fmt == "json" else text)
