"""Fixtures for the collector tests: moto's standalone server on 127.0.0.1, a fault-injecting proxy
in front of it, and client factories that put botocore's Stubber on the calls moto lacks.

The collector talks to the proxy over real HTTP. The proxy forwards every request to
moto unless a `Fault` matches it. A matching request gets the error AWS would send in
that service's protocol, or waits before it is forwarded.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from ingest.collect.aws import ClientFactory

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
READER_ROLE = "deputygraph-reader"
REGION = "us-east-1"
# Credential scope in a SigV4 Authorization header: Credential=KEY/DATE/REGION/SERVICE/aws4_request.
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
PROTOCOLS = {
    "iam": "query",
    "sts": "query",
    "ec2": "ec2",
    "organizations": "json",
    "cloudtrail": "json",
    "lambda": "rest-json",
    "bedrock": "rest-json",
    "s3": "rest-xml",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Fault:
    """A rule of the proxy: requests it matches get an AWS error (or a delay) instead of moto's response.

    `service` is the SigV4 signing name (bedrock for Bedrock Agents too). `operation`
    matches the query `Action` or the JSON `X-Amz-Target`, and `path` is a regular
    expression searched in REST paths with their query string.
    `times` is how many requests get the fault (None: all of them).
    """

    service: str
    code: str = "AccessDenied"
    status: int = 403
    message: str = "not authorized"
    operation: str | None = None
    path: str | None = None
    region: str | None = None
    body_contains: str | None = None
    times: int | None = None
    delay: float = 0.0
    # A body to return with status 200, for a call moto does not implement: a dict is sent
    # as JSON, a string as XML (for the query protocol of IAM and STS).
    answer: dict[str, Any] | str | None = None
    hits: int = 0

    def matches(self, service: str, region: str, operation: str | None, path: str, body: str) -> bool:
        if self.service != service or (self.region is not None and self.region != region):
            return False
        if self.operation is not None and self.operation != operation:
            return False
        if self.path is not None and not re.search(self.path, path):
            return False
        if self.body_contains is not None and self.body_contains not in body:
            return False
        return self.times is None or self.hits < self.times


@dataclass
class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto that applies `Fault` rules and counts requests."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.requests.clear()

    def count(self, service: str, *, region: str | None = None, operation: str | None = None, path: str = "") -> int:
        with self.lock:
            return sum(
                1
                for s, r, o, p in self.requests
                if s == service
                and (region is None or r == region)
                and (operation is None or o == operation)
                and re.search(path, p)
            )

    def pick(self, service: str, region: str, operation: str | None, path: str, body: str) -> Fault | None:
        with self.lock:
            self.requests.append((service, region, operation, path))
            for fault in self.faults:
                if fault.matches(service, region, operation, path, body):
                    fault.hits += 1
                    return fault
        return None

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def handle_request(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                text = body.decode("utf-8", "replace")
                scope = _SCOPE.search(self.headers.get("Authorization", ""))
                region, service = (scope.group(2), scope.group(3)) if scope else ("", "")
                operation = _operation(self.headers.get("X-Amz-Target"), text)
                fault = proxy.pick(service, region, operation, self.path, text)
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                elif fault is not None and isinstance(fault.answer, str):
                    self._send(200, fault.answer.encode(), [("Content-Type", "text/xml")])
                    return
                elif fault is not None and fault.answer is not None:
                    self._send(200, json.dumps(fault.answer).encode(), [("Content-Type", "application/json")])
                    return
                elif fault is not None:
                    self._send(fault.status, *error_body(service, fault))
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                target = urllib.parse.urlsplit(proxy.upstream)
                connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                headers = {key: value for key, value in self.headers.items() if key.lower() != "connection"}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                skipped = {"transfer-encoding", "connection", "content-length"}
                extra = [(key, value) for key, value in response.getheaders() if key.lower() not in skipped]
                connection.close()
                self._send(response.status, data, extra)

            def _send(self, status: int, data: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_request

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _operation(target: str | None, body: str) -> str | None:
    if target:
        return target.rsplit(".", 1)[-1]
    values = urllib.parse.parse_qs(body).get("Action")
    return values[0] if values else None


def error_body(service: str, fault: Fault) -> tuple[bytes, list[tuple[str, str]]]:
    """Build the error response AWS sends in one service's protocol."""
    protocol = PROTOCOLS.get(service, "rest-json")
    if protocol == "query":
        text = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code><Message>{fault.message}</Message>"
            "</Error><RequestId>proxy</RequestId></ErrorResponse>"
        )
        return text.encode(), [("Content-Type", "text/xml")]
    if protocol == "ec2":
        text = (
            f"<Response><Errors><Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error></Errors>"
            "<RequestID>proxy</RequestID></Response>"
        )
        return text.encode(), [("Content-Type", "text/xml")]
    if protocol == "rest-xml":
        text = f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
        return text.encode(), [("Content-Type", "application/xml")]
    payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
    content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    return payload, [("Content-Type", content_type), ("x-amzn-ErrorType", fault.code)]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's standalone server in its own process on 127.0.0.1 and an ephemeral port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's server did not start within 60 seconds") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=30)


def reset_moto(moto_url: str) -> None:
    """Delete every resource in moto's server."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    """A fresh moto state and a proxy in front of it, for one test."""
    reset_moto(moto_url)
    fault_proxy = FaultProxy(moto_url)
    fault_proxy.start()
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture
def aws_env(proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Point boto3 at the proxy with dummy credentials, and keep it away from any real AWS config."""
    environment = {
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return environment


def account_session(account: str, moto_url: str) -> boto3.session.Session:
    """Credentials that moto maps to `account`: moto's AssumeRole accepts any role ARN in any account."""
    sts = boto3.client(
        "sts",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{READER_ROLE}", RoleSessionName="setup")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


StubSetup = Callable[[Stubber, str], None]


class StubbingFactory(ClientFactory):
    """A client factory whose clients of some services carry botocore's Stubber, or another endpoint.

    Every client talks to `endpoint_url`, the proxy. `stubs` maps a service to a function
    that queues the responses of one region's client. `endpoints` maps (service, region)
    to another endpoint URL, such as a closed port.
    """

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        endpoint_url: str,
        max_attempts: int = 3,
        recorder: Callable[[Any], None] | None = None,
        stubs: dict[str, StubSetup] | None = None,
        endpoints: dict[tuple[str, str], str] | None = None,
        stubbers: list[Stubber] | None = None,
    ) -> None:
        super().__init__(session, max_attempts=max_attempts, recorder=recorder)
        self.endpoint_url = endpoint_url
        self.stubs = stubs or {}
        self.endpoints = endpoints or {}
        self.stubbers: list[Stubber] = stubbers if stubbers is not None else []

    def create_client(self, service: str, region: str) -> BaseClient:
        endpoint = self.endpoints.get((service, region))
        if endpoint is not None:
            return self.session.client(service, region_name=region, config=self.config(), endpoint_url=endpoint)
        client = self.session.client(service, region_name=region, config=self.config(), endpoint_url=self.endpoint_url)
        setup = self.stubs.get(service)
        if setup is not None:
            stubber = Stubber(client)
            setup(stubber, region)
            stubber.activate()
            self.stubbers.append(stubber)
        return client

    def for_session(self, session: boto3.session.Session) -> ClientFactory:
        return StubbingFactory(
            session,
            endpoint_url=self.endpoint_url,
            max_attempts=self.max_attempts,
            recorder=self.recorder,
            stubs=self.stubs,
            endpoints=self.endpoints,
            stubbers=self.stubbers,
        )

    def assert_stubs_used(self) -> None:
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def session_environment(session: boto3.session.Session) -> dict[str, str]:
    """The environment variables that hand a session's credentials to a `deputy collect` process."""
    credentials = session.get_credentials().get_frozen_credentials()
    return {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token,
    }


# IAM's responses to the two last-accessed calls, which moto does not implement, in the
# query protocol's XML as the IAM API reference shows them.
LAST_ACCESSED_ANSWERS = (
    Fault(
        "iam",
        operation="GenerateServiceLastAccessedDetails",
        answer=(
            "<GenerateServiceLastAccessedDetailsResponse><GenerateServiceLastAccessedDetailsResult>"
            "<JobId>00000000-0000-4000-8000-000000000001</JobId></GenerateServiceLastAccessedDetailsResult>"
            "</GenerateServiceLastAccessedDetailsResponse>"
        ),
    ),
    Fault(
        "iam",
        operation="GetServiceLastAccessedDetails",
        answer=(
            "<GetServiceLastAccessedDetailsResponse><GetServiceLastAccessedDetailsResult>"
            "<JobStatus>COMPLETED</JobStatus><JobType>SERVICE_LEVEL</JobType>"
            "<JobCreationDate>2024-11-05T14:30:00Z</JobCreationDate>"
            "<JobCompletionDate>2024-11-05T14:30:02Z</JobCompletionDate><IsTruncated>false</IsTruncated>"
            "<ServicesLastAccessed><member><ServiceName>AWS Lambda</ServiceName>"
            "<ServiceNamespace>lambda</ServiceNamespace><TotalAuthenticatedEntities>0</TotalAuthenticatedEntities>"
            "</member></ServicesLastAccessed></GetServiceLastAccessedDetailsResult>"
            "</GetServiceLastAccessedDetailsResponse>"
        ),
    ),
)


def no_guardrails(stubber: Stubber, region: str) -> None:
    """Stub `ListGuardrails` (which moto does not implement) with an empty list."""
    del region
    stubber.add_response("list_guardrails", {"guardrails": []}, {})
