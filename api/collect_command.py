"""`deputy collect`: read a live AWS environment into a snapshot folder.

Progress goes to standard error, one line per account and region (or one JSON object per
line with `--log-format json`), and a summary with counts per service and the gaps goes
to standard output. `--quiet` leaves only warnings, so each gap is still logged.

boto3 and the collector are imported when the command runs, because the command line
imports this module to build its parser.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import re
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from engine.arn import is_account_id
from engine.errors import UsageError
from engine.inventory import CollectionGap

if TYPE_CHECKING:
    from ingest.collect.aws import ClientFactory
    from ingest.collect.runner import CollectSettings

# Region codes such as us-east-1, eu-central-2, us-gov-west-1 and cn-northwest-1.
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# IAM role names: up to 64 characters of letters, digits and +=,.@_- (IAM API reference, CreateRole).
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
MAX_CONCURRENCY = 32
ALL_REGIONS = "all"  # the --regions value that reads every region enabled in each account
INTERRUPTED = 130
COLLECT_LOGGER = "ingest.collect"


def add_command(commands: Any) -> None:
    """Register `collect` on the CLI's subcommand parser."""
    help_text = "read a live AWS environment with boto3 and write a snapshot folder (see docs/snapshot-format.md)"
    collect: argparse.ArgumentParser = commands.add_parser("collect", help=help_text, description=help_text)
    collect.add_argument("--out", required=True, help="snapshot folder to create; it must not exist yet")
    collect.add_argument("--profile", help="AWS profile (default: the standard boto3 credential chain)")
    collect.add_argument(
        "--regions",
        default=ALL_REGIONS,
        help="'all' (every region enabled in each account) or a comma-separated list such as us-east-1,eu-west-1",
    )
    collect.add_argument(
        "--org",
        action="store_true",
        help="read the organization from the management or delegated administrator account and collect every member",
    )
    collect.add_argument("--member-role", help="role name to assume in each account other than the caller's")
    collect.add_argument(
        "--accounts", help="comma-separated account ids to collect (default: the caller's, or with --org every member)"
    )
    collect.add_argument(
        "--concurrency", type=int, default=4, help=f"regions read at the same time, 1 to {MAX_CONCURRENCY} (default: 4)"
    )
    collect.add_argument("--quiet", action="store_true", help="log warnings only, with no progress and no summary")
    collect.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text for people, or json: one JSON object per log line and a JSON summary (default: text)",
    )


def settings_from_args(args: argparse.Namespace) -> CollectSettings:
    """Validate the options of `collect`; raise UsageError naming the bad value."""
    from ingest.collect.runner import CollectSettings  # noqa: PLC0415

    regions: tuple[str, ...] | None = None
    if args.regions.strip().lower() != ALL_REGIONS:
        regions = tuple(dict.fromkeys(region.strip() for region in args.regions.split(",") if region.strip()))
        bad = [region for region in regions if not _REGION_NAME.match(region)]
        if not regions or bad:
            invalid = ", ".join(repr(region) for region in bad) or repr(args.regions)
            raise UsageError(
                f"--regions {invalid} is not a region code; write 'all' or codes such as us-east-1,eu-west-1"
            )

    accounts: tuple[str, ...] = ()
    if args.accounts is not None:
        accounts = tuple(dict.fromkeys(account.strip() for account in args.accounts.split(",") if account.strip()))
        bad = [account for account in accounts if not is_account_id(account)]
        if not accounts or bad:
            invalid = ", ".join(repr(account) for account in bad) or repr(args.accounts)
            raise UsageError(f"--accounts {invalid} is not a 12-digit account id; separate ids with commas")

    if args.org and args.member_role is None:
        raise UsageError("--org needs --member-role NAME, the read-only role to assume in each member account")
    if args.member_role is not None and not _ROLE_NAME.match(args.member_role):
        raise UsageError(f"--member-role {args.member_role!r} is not an IAM role name; give the name, not the ARN")
    if args.member_role is not None and not args.org and not accounts:
        raise UsageError("--member-role is used only with --org or --accounts; name the accounts to enter")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency {args.concurrency} is invalid; give a number from 1 to {MAX_CONCURRENCY}")

    return CollectSettings(
        out=Path(args.out),
        regions=regions,
        org=args.org,
        member_role=args.member_role,
        accounts=accounts,
        concurrency=args.concurrency,
    )


def run_collect(args: argparse.Namespace, factory: ClientFactory | None = None) -> int:
    """Run `deputy collect`; return the exit code. Raise DeputyError on bad input."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

    from ingest.collect.aws import ClientFactory  # noqa: PLC0415
    from ingest.collect.runner import Collector  # noqa: PLC0415

    settings = settings_from_args(args)
    _configure_logging(quiet=args.quiet, log_format=args.log_format)
    if factory is None:
        try:
            session = boto3.session.Session(profile_name=args.profile)
        except ProfileNotFound as error:
            raise UsageError(
                f"--profile {args.profile!r} is not in the AWS config files; check ~/.aws/config"
            ) from error
        factory = ClientFactory(session, max_attempts=settings.max_attempts)
    if settings.home_region is None and settings.regions and factory.session.region_name is None:
        # Without a configured region, the global services are called in the first region requested.
        settings = dataclasses.replace(settings, home_region=settings.regions[0])

    try:
        with _interrupt_on_sigterm():
            result = Collector(settings, factory).run()
    except KeyboardInterrupt:
        print(f"deputy: collection interrupted; {settings.out} was not written", file=sys.stderr)
        return INTERRUPTED
    if not args.quiet:
        summary = summary_json(result.out, result.manifest)
        text = json.dumps(summary, indent=2) if args.log_format == "json" else summary_text(summary)
        print(text)
    return 0


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so that the staging folder is removed."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record, with the account, region and gap fields the collector attaches."""

    FIELDS = ("event", "account", "region", "regions", "gaps", "gap")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        return json.dumps(entry)


def _configure_logging(*, quiet: bool, log_format: str) -> None:
    logger = logging.getLogger(COLLECT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if quiet else "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def summary_json(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Build the end-of-run summary: the snapshot folder, counts per service, skipped services and gaps."""
    return {
        "snapshot": str(out),
        "accounts": manifest["accounts"],
        "counts": manifest["counts"],
        "unavailable": manifest["unavailable"],
        "gaps": manifest["gaps"],
    }


def summary_text(summary: dict[str, Any]) -> str:
    lines = [f"snapshot written to {summary['snapshot']}"]
    for account in summary["accounts"]:
        regions = ", ".join(account["regions"]) or "none"
        lines.append(
            f"  account {account['account_id']} ({account['access']}): {account['status']}; regions: {regions}"
        )
    lines.append("collected:")
    for service, kinds in summary["counts"].items():
        lines.append(f"  {service}: " + ", ".join(f"{count} {kind}" for kind, count in kinds.items()))
    for entry in summary["unavailable"]:
        lines.append(
            f"skipped: {entry['service']} in {entry['region']} (account {entry['account']}): {entry['message']}"
        )
    lines.append(f"gaps: {len(summary['gaps'])}")
    for gap in summary["gaps"]:
        lines.append("  " + gap_sentence(gap))
    return "\n".join(lines)


def gap_sentence(gap: dict[str, Any]) -> str:
    """Return the "not analysed: ..." sentence of one manifest gap, as deputy analyze prints it."""
    return CollectionGap(
        service=gap["service"],
        operation=gap["operation"],
        subject=gap["subject"],
        error_code=gap["error_code"],
        cause=gap["cause"],
        account=gap["account"],
        region=gap["region"],
        resource=gap["resource"],
    ).sentence()
