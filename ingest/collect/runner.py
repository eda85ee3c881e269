"""Run a collection: plan the accounts and regions, read them in parallel, write the snapshot.

Accounts are read one after another. Within an account the global services (IAM, S3)
and each region are tasks for a thread pool of `concurrency` workers, so regions are
read in parallel with a bound on concurrent requests. botocore's adaptive retry mode
slows the client down when AWS throttles. An interrupt sets the stop event, every
worker stops before its next call, and the staging folder is removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from engine.arn import iam_arn, parse_arn
from engine.errors import UsageError
from ingest.collect.aws import SESSION_NAME, AwsCaller, ClientFactory, Scope, Status
from ingest.collect.bedrock import collect_bedrock_agent, collect_guardrails
from ingest.collect.cloudtrail import collect_cloudtrail
from ingest.collect.context import Context
from ingest.collect.gaps import CollectionLog, Gap, Unavailable
from ingest.collect.iam import collect_iam
from ingest.collect.lambda_functions import collect_lambda
from ingest.collect.manifest import build_manifest, incomplete_manifest
from ingest.collect.organizations import OrganizationResult, collect_organization
from ingest.collect.s3 import collect_s3
from ingest.collect.writer import MANIFEST, StagingWriter

logger = logging.getLogger(__name__)

GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class CollectSettings:
    """The options of one `deputy collect` run, already validated."""

    out: Path
    regions: tuple[str, ...] | None  # None means every region enabled in the account
    org: bool = False
    member_role: str | None = None
    accounts: tuple[str, ...] = ()
    concurrency: int = 4
    max_attempts: int = 10
    home_region: str | None = None
    # Seconds between two reads of an unfinished IAM service last-accessed job.
    poll_seconds: float = 2.0


@dataclass(slots=True)
class AccountRecord:
    """The manifest entry of one account: how it was entered, its regions and its status."""

    account_id: str
    access: str
    role_arn: str | None = None
    regions: list[str] = field(default_factory=list)
    status: str = "collected"

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "access": self.access,
            "role_arn": self.role_arn,
            "regions": self.regions,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class CollectionResult:
    """The snapshot folder and the manifest of a finished run."""

    out: Path
    manifest: dict[str, Any]


class Collector:
    """One collection run over the accounts and regions of `settings`."""

    def __init__(
        self, settings: CollectSettings, factory: ClientFactory, *, stop: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.stop = stop or threading.Event()
        self.log = CollectionLog()
        self.accounts: list[AccountRecord] = []
        self.organization = OrganizationResult(Status.ABSENT)

    def run(self) -> CollectionResult:
        """Collect everything into the staging folder, then rename it to `settings.out`."""
        writer = StagingWriter(self.settings.out)
        started = _now()
        try:
            writer.write((MANIFEST,), incomplete_manifest(started))
            caller_arn, caller_account = self._caller_identity()
            partition = parse_arn(caller_arn).partition
            home_region = self._home_region()
            root = Context(
                AwsCaller(self.factory, Scope(caller_account, None), self.log, self.stop, home_region=home_region),
                writer,
                partition,
            )
            self.organization = collect_organization(root)
            for account_id in self._plan_accounts(caller_account):
                self._collect_account(root, account_id, caller_account)
            manifest = build_manifest(
                started=started,
                finished=_now(),
                partition=partition,
                caller_arn=caller_arn,
                requested_regions=self.settings.regions,
                accounts=[record.to_json() for record in self.accounts],
                organization=self.organization,
                log=self.log,
            )
            writer.commit(manifest)
        except BaseException:
            self.stop.set()
            writer.discard()
            raise
        return CollectionResult(self.settings.out, manifest)

    # -- accounts -----------------------------------------------------------------------

    def _home_region(self) -> str:
        """Return the region for global services: the setting, the session's region, or us-east-1."""
        # NOTE: us-east-1 is in the aws partition only; in aws-cn or aws-us-gov set a region.
        return self.settings.home_region or self.factory.session.region_name or "us-east-1"

    def _caller_identity(self) -> tuple[str, str]:
        try:
            client = self.factory.client("sts", self._home_region())
            identity = client.get_caller_identity()
        except NoCredentialsError as error:
            raise UsageError(
                "no AWS credentials found; set AWS_PROFILE or pass --profile, or export AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY"
            ) from error
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise UsageError(f"the AWS credentials were rejected ({code}); refresh them and run again") from error
        except BotoCoreError as error:
            raise UsageError(f"cannot reach AWS STS to identify the caller: {error}") from error
        return str(identity["Arn"]), str(identity["Account"])

    def _plan_accounts(self, caller_account: str) -> list[str]:
        if not self.settings.org:
            return list(self.settings.accounts or (caller_account,))
        if not self.organization.accounts_listed:
            raise UsageError(
                f"--org: account {caller_account} cannot list the organization's accounts; run from the management "
                "account or a delegated administrator, or leave out --org and name the accounts with --accounts"
            )
        members = self.organization.active_accounts
        if not self.settings.accounts:
            return list(members)
        outside = [account for account in self.settings.accounts if account not in members]
        if outside:
            raise UsageError(
                f"--accounts {','.join(outside)}: not an active account of organization "
                f"{self.organization.organization_id}; give member account ids"
            )
        return list(self.settings.accounts)

    def _collect_account(self, root: Context, account_id: str, caller_account: str) -> None:
        if account_id == caller_account:
            record = AccountRecord(account_id, access="caller")
            context = root
        else:
            record = AccountRecord(account_id, access="assumed-role")
            assumed = self._assume_member_role(root, account_id, record)
            if assumed is None:
                record.status = "unreachable"
                self.accounts.append(record)
                return
            context = assumed
        self.accounts.append(record)

        record.regions = self._regions(context)
        logger.info(
            "collecting account %s: %d regions",
            account_id,
            len(record.regions),
            extra={"event": "account-start", "account": account_id, "regions": record.regions},
        )
        tasks: list[tuple[str, Callable[[], None]]] = [(GLOBAL, lambda: self._collect_global(context))]
        tasks += [(region, self._region_task(context, region)) for region in record.regions]
        self._run_parallel(account_id, tasks)

    def _assume_member_role(self, root: Context, account_id: str, record: AccountRecord) -> Context | None:
        if self.settings.member_role is None:
            raise UsageError(f"account {account_id} is not the caller's; give --member-role NAME to enter it")
        role_arn = iam_arn(account_id, f"role/{self.settings.member_role}", root.partition)
        record.role_arn = role_arn

        # The call is made with the caller's credentials, but a failure leaves the member account unread,
        # so its gap is recorded under that account with no region.
        entry = AwsCaller(
            root.caller.factory, Scope(account_id, None), self.log, self.stop, home_region=root.caller.home_region
        )
        outcome = entry.call(
            "sts",
            "AssumeRole",
            subject=f"every service of account {account_id}",
            resource=role_arn,
            RoleArn=role_arn,
            RoleSessionName=SESSION_NAME,
        )
        if not outcome.ok or outcome.data is None:
            return None

        credentials = outcome.data["Credentials"]
        # NOTE: assumed-role credentials last one hour by default and are not refreshed, so an
        # account whose collection takes longer records the later calls as gaps.
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=root.caller.home_region,
        )
        factory = self.factory.for_session(session)
        caller = AwsCaller(factory, Scope(account_id, None), self.log, self.stop, home_region=root.caller.home_region)
        return Context(caller, root.writer, root.partition)

    # -- regions ------------------------------------------------------------------------

    def _regions(self, context: Context) -> list[str]:
        """Return the regions to read in one account: the requested ones, or every region enabled there.

        AWS rejects every call to a requested region that is not enabled in the account,
        and each rejection is recorded as a gap like any other.
        """
        if self.settings.regions is not None:
            return list(self.settings.regions)
        outcome = context.call("ec2", "DescribeRegions", subject="the account's enabled regions")
        if not outcome.ok or outcome.data is None:
            return [context.caller.home_region]
        return sorted(region["RegionName"] for region in outcome.data.get("Regions", []))

    def _collect_global(self, context: Context) -> None:
        collect_iam(context, poll_seconds=self.settings.poll_seconds)
        collect_s3(context)

    def _region_task(self, context: Context, region: str) -> Callable[[], None]:
        regional = context.in_region(region)
        return lambda: self._collect_region(regional)

    def _collect_region(self, context: Context) -> None:
        assert context.region is not None
        lambda_read = collect_lambda(context)
        for service, collect in (("bedrock-agent", collect_bedrock_agent), ("bedrock", collect_guardrails)):
            status = collect(context)
            if status is not Status.UNAVAILABLE:
                continue
            if lambda_read:
                # Lambda responded in this region, so the missing endpoint is the service's, not the network's.
                self.log.add_unavailable(
                    Unavailable(context.account, context.region, service, f"{service} has no endpoint in the region")
                )
                folder = "bedrock-agent" if service == "bedrock-agent" else "bedrock"
                context.make_folder(folder)
                logger.info(
                    "%s is not offered in %s; skipped",
                    service,
                    context.region,
                    extra={"event": "service-unavailable", "account": context.account, "region": context.region},
                )
            else:
                context.log.add_gap(
                    Gap(
                        service=service,
                        operation="ListAgents" if service == "bedrock-agent" else "ListGuardrails",
                        action=None,
                        cause="error",
                        error_code="EndpointConnectionError",
                        message=f"the {service} endpoint of {context.region} could not be reached",
                        subject=f"{service} data",
                        account=context.account,
                        region=context.region,
                    )
                )
        collect_cloudtrail(context)

    def _run_parallel(self, account_id: str, tasks: list[tuple[str, Callable[[], None]]]) -> None:
        with _executor(self.settings.concurrency, self.stop) as executor:
            futures = [executor.submit(self._tracked, account_id, name, task) for name, task in tasks]
            wait(futures)
            for future in futures:
                future.result()

    def _tracked(self, account_id: str, name: str, task: Callable[[], None]) -> None:
        region = None if name == GLOBAL else name
        logger.info(
            "%s %s: started", account_id, name, extra={"event": "task-start", "account": account_id, "region": name}
        )
        task()
        gaps = sum(1 for gap in self.log.gaps if gap.account == account_id and gap.region == region)
        logger.info(
            "%s %s: done, %d gaps",
            account_id,
            name,
            gaps,
            extra={"event": "task-done", "account": account_id, "region": name, "gaps": gaps},
        )


@contextmanager
def _executor(workers: int, stop: threading.Event) -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect")
    try:
        yield executor
    except BaseException:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
