"""The AWS boundary: boto3 clients, the one place where API errors are sorted.

Every call goes through `AwsCaller`. It pages with botocore's paginators and strips
what the AWS CLI would not print. Each failure becomes an outcome: `absent` for a
resource that has no such configuration, `unavailable` for a service that does not
exist in the region, and `failed` for a gap recorded in the collection log. Errors that
mean a bug in the collector (invalid parameters, unknown operations) are raised.
"""

from __future__ import annotations

import enum
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import boto3
from botocore import xform_name
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from ingest.collect.calls import RecordedCall, iam_action
from ingest.collect.gaps import CollectionLog, Gap

logger = logging.getLogger(__name__)

# Error codes that mean the caller may not make the request. AWS returns AccessDenied
# (query and XML protocols), AccessDeniedException (JSON protocols) and, for EC2,
# UnauthorizedOperation.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "AccessDeniedFault"}
)
# Codes botocore retries as throttling. One that still arrives has outlasted every retry.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)
# The IAM User Guide page "Troubleshoot access denied error messages" gives the phrases
# "with an explicit deny in a service control policy" and "because no service control
# policy allows the ... action", and both contain this text.
SCP_PHRASE = "service control policy"
SESSION_NAME = "deputygraph-collect"


class CollectionCancelled(Exception):
    """The run was interrupted; workers stop before their next call."""


class Status(enum.Enum):
    OK = "ok"
    ABSENT = "absent"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one call: the output as the AWS CLI prints it, or why there is none."""

    status: Status
    data: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


@dataclass(frozen=True, slots=True)
class Scope:
    """The account of a call, and its region for regional services (None for global ones)."""

    account: str
    region: str | None


class ClientFactory:
    """Create boto3 clients for one set of credentials, with adaptive retries, from any thread.

    boto3 sessions are not thread-safe, so clients are created under a lock. The clients
    themselves are thread-safe. `recorder`, when given, receives every request the clients send.
    """

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        max_attempts: int,
        recorder: Callable[[RecordedCall], None] | None = None,
    ) -> None:
        self.session = session
        self.max_attempts = max_attempts
        self.recorder = recorder
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], BaseClient] = {}

    def config(self) -> Config:
        return Config(
            retries={"mode": "adaptive", "total_max_attempts": self.max_attempts},
            user_agent_extra="deputygraph-collect",
            connect_timeout=10,
            read_timeout=60,
        )

    def client(self, service: str, region: str) -> BaseClient:
        """Return the client of one service in one region, creating it on first use."""
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                client = self.create_client(service, region)
                if self.recorder is not None:
                    _record_calls(client, region, self.recorder)
                self._clients[key] = client
            return self._clients[key]

    def create_client(self, service: str, region: str) -> BaseClient:
        """Create one client. Tests override this to put botocore's Stubber on some services."""
        return self.session.client(service, region_name=region, config=self.config())

    def for_session(self, session: boto3.session.Session) -> ClientFactory:
        """Return a factory with the same settings for other credentials, such as an assumed role."""
        return type(self)(session, max_attempts=self.max_attempts, recorder=self.recorder)


def _record_calls(client: BaseClient, region: str, recorder: Callable[[RecordedCall], None]) -> None:
    service = client.meta.service_model.service_name

    def record(model: Any, **_: Any) -> None:
        recorder(RecordedCall(service=service, operation=str(model.name), region=region))

    client.meta.events.register(f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}", record)


def endpoint_resolves(client: BaseClient) -> bool:
    """Tell whether the client's endpoint host has a DNS name.

    A service that is not offered in a region has no endpoint there. Checking the name
    first avoids the retries botocore makes on connection errors.
    """
    host = urllib.parse.urlsplit(client.meta.endpoint_url).hostname
    if host is None:
        return False
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return True


def cli_output(response: dict[str, Any]) -> dict[str, Any]:
    """Return a response as the AWS CLI prints it: no ResponseMetadata, times in ISO 8601."""
    return {key: _plain(value) for key, value in response.items() if key != "ResponseMetadata"}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class AwsCaller:
    """Make calls for one scope, record their failures as gaps, and stop when the run is cancelled."""

    def __init__(
        self, factory: ClientFactory, scope: Scope, log: CollectionLog, stop: threading.Event, *, home_region: str
    ) -> None:
        self.factory = factory
        self.scope = scope
        self.log = log
        self.stop = stop
        # Global services (IAM, S3 listing, Organizations) are called in this region.
        self.home_region = home_region

    def client(self, service: str) -> BaseClient:
        return self.factory.client(service, self.scope.region or self.home_region)

    def call(
        self,
        service: str,
        operation: str,
        *,
        subject: str,
        resource: str | None = None,
        absent: Iterable[str] = (),
        unavailable_if_unreachable: bool = False,
        **params: Any,
    ) -> Outcome:
        """Make one call and return its output, or the reason there is none."""
        client = self.client(service)
        method = getattr(client, _snake(operation))
        return self._run(
            lambda: method(**params),
            client,
            service,
            operation,
            subject=subject,
            resource=resource,
            absent=absent,
            unavailable_if_unreachable=unavailable_if_unreachable,
        )

    def paginate(
        self,
        service: str,
        operation: str,
        *,
        subject: str,
        resource: str | None = None,
        unavailable_if_unreachable: bool = False,
        page_size: int | None = None,
        **params: Any,
    ) -> Outcome:
        """Make a paginated call through botocore's paginator and merge its pages as the AWS CLI does."""
        client = self.client(service)
        paginator = client.get_paginator(_snake(operation))
        config = {"PageSize": page_size} if page_size is not None else {}

        def fetch() -> dict[str, Any]:
            result: dict[str, Any] = paginator.paginate(**params, PaginationConfig=config).build_full_result()
            return result

        return self._run(
            fetch,
            client,
            service,
            operation,
            subject=subject,
            resource=resource,
            absent=(),
            unavailable_if_unreachable=unavailable_if_unreachable,
        )

    def _run(
        self,
        fetch: Callable[[], dict[str, Any]],
        client: BaseClient,
        service: str,
        operation: str,
        *,
        subject: str,
        resource: str | None,
        absent: Iterable[str],
        unavailable_if_unreachable: bool,
    ) -> Outcome:
        if self.stop.is_set():
            raise CollectionCancelled
        if unavailable_if_unreachable and not endpoint_resolves(client):
            return Outcome(Status.UNAVAILABLE)
        try:
            response = fetch()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            if code in absent:
                return Outcome(Status.ABSENT)
            message = str(error.response.get("Error", {}).get("Message", ""))
            self._gap(service, operation, _cause(code, message), code, message, subject=subject, resource=resource)
            return Outcome(Status.FAILED)
        except (ConnectionError, HTTPClientError) as error:
            if unavailable_if_unreachable:
                logger.debug("%s %s is unreachable in %s: %s", service, operation, self.scope.region, error)
                return Outcome(Status.UNAVAILABLE)
            self._gap(service, operation, "error", type(error).__name__, str(error), subject=subject, resource=resource)
            return Outcome(Status.FAILED)
        return Outcome(Status.OK, cli_output(response))

    def _gap(
        self,
        service: str,
        operation: str,
        cause: str,
        code: str,
        message: str,
        *,
        subject: str,
        resource: str | None,
    ) -> None:
        gap = Gap(
            service=service,
            operation=operation,
            action=iam_action(service, operation),
            cause=cause,
            error_code=code,
            message=message,
            subject=subject,
            account=self.scope.account,
            region=self.scope.region,
            resource=resource,
        )
        self.log.add_gap(gap)
        logger.warning(
            "not analysed: %s in account %s%s: %s failed with %s",
            subject,
            self.scope.account,
            f" ({self.scope.region})" if self.scope.region else "",
            operation,
            code,
            extra={"event": "gap", "account": self.scope.account, "region": self.scope.region, "gap": gap.to_json()},
        )


def _cause(code: str, message: str) -> str:
    if code in ACCESS_DENIED_CODES:
        return "scp" if SCP_PHRASE in message.lower() else "access-denied"
    if code in THROTTLING_CODES:
        return "throttled"
    return "error"


def _snake(operation: str) -> str:
    return str(xform_name(operation))
