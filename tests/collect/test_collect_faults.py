"""The collector against real HTTP failures: throttling, access denied, missing endpoints, and paging.

moto's server contains a small environment. The fault proxy in front of it returns, for
some requests, the errors AWS sends, in each service's protocol. Pagination is tested
with botocore's Stubber, because moto does not page `GetAccountAuthorizationDetails`,
`ListFunctions` or `ListBuckets` as AWS does.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from api.cli import run
from engine.graph import build_graph
from ingest.collect.runner import CollectionResult, Collector, CollectSettings
from ingest.snapshot import load_snapshot
from queries.gaps import path_gaps
from tests.collect.collect_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    READER_ROLE,
    REGION,
    Fault,
    FaultProxy,
    StubbingFactory,
    StubSetup,
    account_session,
    free_port,
    no_guardrails,
)
from tests.collect.example_environment import (
    add_pages,
    stub_bedrock_agent,
    stub_iam,
    stub_iam_details,
    stub_last_accessed,
)

OTHER_REGION = "eu-west-1"
# Not in the list of the Bedrock User Guide page "Supported Regions for Amazon Bedrock Agents".
NO_BEDROCK_REGION = "ap-east-1"
FUNCTIONS_PATH = r"/2015-03-31/functions/?(\?.*)?$"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/hr-policy-lookup-role"
# The IAM User Guide page "Troubleshoot access denied error messages" gives this form.
SCP_DENIAL = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{READER_ROLE}/deputygraph-collect is not authorized to perform: "
    f"lambda:ListFunctions on resource: * with an explicit deny in a service control policy"
)
BASIC_STUBS: dict[str, StubSetup] = {"iam": stub_iam, "bedrock": no_guardrails}


def zip_package() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("app.py", "def handler(event, context):\n    return event\n")
    return archive.getvalue()


def build_small(moto_url: str, regions: tuple[str, ...]) -> None:
    """One role and one Lambda function per region, in moto."""
    session = account_session(ACCOUNT, moto_url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    session.client("iam", endpoint_url=moto_url).create_role(
        RoleName="hr-policy-lookup-role", AssumeRolePolicyDocument=json.dumps(trust)
    )
    for region in regions:
        session.client("lambda", region_name=region, endpoint_url=moto_url).create_function(
            FunctionName=f"lookup-{region}",
            Runtime="python3.12",
            Role=LAMBDA_ROLE,
            Handler="app.handler",
            Code={"ZipFile": zip_package()},
        )


def collect(
    moto_url: str,
    proxy: FaultProxy,
    out: Path,
    *,
    regions: tuple[str, ...] = (REGION,),
    stubs: dict[str, StubSetup] | None = None,
    endpoints: dict[tuple[str, str], str] | None = None,
    accounts: tuple[str, ...] = (),
) -> tuple[CollectionResult, StubbingFactory]:
    factory = StubbingFactory(
        account_session(ACCOUNT, moto_url),
        endpoint_url=proxy.url,
        stubs=BASIC_STUBS if stubs is None else stubs,
        endpoints=endpoints,
    )
    settings = CollectSettings(
        out=out, regions=regions, accounts=accounts, member_role=READER_ROLE if accounts else None, poll_seconds=0.0
    )
    return Collector(settings, factory).run(), factory


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ---- throttling ----


def test_throttled_listing_retried_then_read(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    proxy.add(Fault("lambda", path=FUNCTIONS_PATH, code="TooManyRequestsException", status=429, times=2))
    result, _ = collect(moto_url, proxy, tmp_path / "snapshot")

    assert result.manifest["gaps"] == []
    assert proxy.count("lambda", region=REGION, path=FUNCTIONS_PATH) == 3
    functions = read(tmp_path / "snapshot" / ACCOUNT / REGION / "lambda" / "functions.json")
    assert [function["FunctionName"] for function in functions["Functions"]] == [f"lookup-{REGION}"]


def test_throttling_past_retries_is_gap(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    proxy.add(Fault("lambda", path=FUNCTIONS_PATH, code="TooManyRequestsException", status=429))
    result, _ = collect(moto_url, proxy, tmp_path / "snapshot")

    # The factory allows three attempts in all.
    assert proxy.count("lambda", region=REGION, path=FUNCTIONS_PATH) == 3
    gaps = result.manifest["gaps"]
    assert [(gap["operation"], gap["cause"], gap["error_code"]) for gap in gaps] == [
        ("ListFunctions", "throttled", "TooManyRequestsException")
    ]
    assert not (tmp_path / "snapshot" / ACCOUNT / REGION / "lambda").exists()


# ---- access denied ----


def test_denied_region_recorded_rest_collected(
    moto_url: str, proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    regions = (REGION, OTHER_REGION)
    build_small(moto_url, regions)
    proxy.add(
        Fault(
            "lambda",
            region=OTHER_REGION,
            path=FUNCTIONS_PATH,
            code="AccessDeniedException",
            status=403,
            message=SCP_DENIAL,
        )
    )
    out = tmp_path / "snapshot"
    result, _ = collect(moto_url, proxy, out, regions=regions)

    gaps = result.manifest["gaps"]
    assert len(gaps) == 1
    assert gaps[0]["account"] == ACCOUNT
    assert gaps[0]["region"] == OTHER_REGION
    assert gaps[0]["operation"] == "ListFunctions"
    assert gaps[0]["action"] == "lambda:ListFunctions"
    assert gaps[0]["cause"] == "scp"
    assert gaps[0]["message"] == SCP_DENIAL
    assert (out / ACCOUNT / REGION / "lambda" / "functions.json").is_file()
    assert not (out / ACCOUNT / OTHER_REGION / "lambda").exists()
    assert (out / ACCOUNT / OTHER_REGION / "bedrock-agent").is_dir()
    assert (out / ACCOUNT / OTHER_REGION / "cloudtrail" / "trails.json").is_file()

    capsys.readouterr()
    assert run(["analyze", str(out)]) == 0
    assert (
        "  #1: not analysed: Lambda functions in account 111122223333 (eu-west-1): ListFunctions failed with "
        "AccessDeniedException, denied by a service control policy"
    ) in capsys.readouterr().out


def test_denied_account_recorded_rest_collected(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    proxy.add(Fault("sts", operation="AssumeRole", body_contains=OTHER_ACCOUNT, message="not allowed to assume"))
    out = tmp_path / "snapshot"
    result, _ = collect(moto_url, proxy, out, accounts=(ACCOUNT, OTHER_ACCOUNT))

    accounts = {entry["account_id"]: entry for entry in result.manifest["accounts"]}
    assert accounts[ACCOUNT]["status"] == "collected"
    assert accounts[OTHER_ACCOUNT]["status"] == "unreachable"
    assert accounts[OTHER_ACCOUNT]["role_arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:role/{READER_ROLE}"
    gaps = result.manifest["gaps"]
    assert [(gap["account"], gap["region"], gap["operation"], gap["cause"]) for gap in gaps] == [
        (OTHER_ACCOUNT, None, "AssumeRole", "access-denied")
    ]
    assert gaps[0]["subject"] == f"every service of account {OTHER_ACCOUNT}"
    assert (out / ACCOUNT / "iam" / "authorization-details.json").is_file()
    assert (out / ACCOUNT / REGION / "lambda" / "functions.json").is_file()
    assert not (out / OTHER_ACCOUNT).exists()
    assert load_snapshot(out).gaps[0].sentence() == (
        f"not analysed: every service of account {OTHER_ACCOUNT} in account {OTHER_ACCOUNT}: "
        "AssumeRole failed with AccessDenied"
    )


# ---- regions without Bedrock ----


def test_region_without_bedrock_skipped(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    regions = (REGION, NO_BEDROCK_REGION)
    build_small(moto_url, regions)
    closed = f"http://127.0.0.1:{free_port()}"
    endpoints = {("bedrock-agent", NO_BEDROCK_REGION): closed, ("bedrock", NO_BEDROCK_REGION): closed}
    out = tmp_path / "snapshot"
    result, _ = collect(moto_url, proxy, out, regions=regions, endpoints=endpoints)

    assert result.manifest["gaps"] == []
    assert [(entry["region"], entry["service"]) for entry in result.manifest["unavailable"]] == [
        (NO_BEDROCK_REGION, "bedrock"),
        (NO_BEDROCK_REGION, "bedrock-agent"),
    ]
    assert (out / ACCOUNT / NO_BEDROCK_REGION / "lambda" / "functions.json").is_file()
    assert list((out / ACCOUNT / NO_BEDROCK_REGION / "bedrock-agent").iterdir()) == []
    assert (out / ACCOUNT / REGION / "bedrock" / "guardrails").is_dir()
    not_seen = load_snapshot(out).not_seen
    assert not [note for note in not_seen if "Bedrock" in note]


def test_unreachable_bedrock_without_lambda_is_gap(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    build_small(moto_url, (REGION,))
    closed = f"http://127.0.0.1:{free_port()}"
    endpoints = {("bedrock-agent", REGION): closed, ("lambda", REGION): closed}
    result, _ = collect(moto_url, proxy, tmp_path / "snapshot", endpoints=endpoints)

    causes = {(gap["service"], gap["operation"], gap["error_code"]) for gap in result.manifest["gaps"]}
    assert causes == {
        ("lambda", "ListFunctions", "EndpointConnectionError"),
        ("bedrock-agent", "ListAgents", "EndpointConnectionError"),
    }
    assert result.manifest["unavailable"] == []


# ---- pagination ----


FUNCTION_NAMES = ("hr-policy-lookup", "infra-vpc-provisioner", "ticket-intake")
BUCKETS = ("acme-hr-policies", "acme-public-assets", "acme-terraform-state")


def stub_lambda_pages(stubber: Stubber, region: str) -> None:
    """Three pages of ListFunctions joined by NextMarker/Marker, then GetPolicy for each function."""
    functions = [
        {
            "FunctionName": name,
            "FunctionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
            "Runtime": "python3.12",
            "Role": LAMBDA_ROLE,
        }
        for name in FUNCTION_NAMES
    ]
    add_pages(stubber, "list_functions", "Functions", functions, {}, token_in="Marker", token_out="NextMarker")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "bedrock",
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": functions[0]["FunctionArn"],
            }
        ],
    }
    stubber.add_response(
        "get_policy", {"Policy": json.dumps(policy), "RevisionId": "1"}, {"FunctionName": FUNCTION_NAMES[0]}
    )
    for name in FUNCTION_NAMES[1:]:
        stubber.add_client_error(
            "get_policy",
            "ResourceNotFoundException",
            "The resource you requested does not exist.",
            404,
            expected_params={"FunctionName": name},
        )


def stub_s3_pages(stubber: Stubber, region: str) -> None:
    """Two pages of ListBuckets joined by ContinuationToken, then each bucket's settings."""
    buckets = [{"Name": name, "BucketRegion": region} for name in BUCKETS]
    add_pages(
        stubber,
        "list_buckets",
        "Buckets",
        buckets,
        {"MaxBuckets": 1000},
        page_size=2,
        token_in="ContinuationToken",
        token_out="ContinuationToken",
    )
    for name in BUCKETS:
        bucket = {"Bucket": name}
        stubber.add_client_error(
            "get_bucket_policy", "NoSuchBucketPolicy", "The bucket policy does not exist", 404, expected_params=bucket
        )
        stubber.add_response("get_bucket_tagging", {"TagSet": [{"Key": "owner", "Value": "hr"}]}, bucket)
        stubber.add_client_error(
            "get_public_access_block",
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
            404,
            expected_params=bucket,
        )


def test_paginated_calls_merge_every_page(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    stubs: dict[str, Callable[[Stubber, str], None]] = {
        "iam": stub_iam,
        "lambda": stub_lambda_pages,
        "s3": stub_s3_pages,
        "bedrock-agent": stub_bedrock_agent,
        "bedrock": no_guardrails,
    }
    out = tmp_path / "snapshot"
    result, factory = collect(moto_url, proxy, out, stubs=stubs)
    factory.assert_stubs_used()
    assert result.manifest["gaps"] == []

    details = read(out / ACCOUNT / "iam" / "authorization-details.json")
    assert [user["UserName"] for user in details["UserDetailList"]] == ["alice", "bob", "hr-analyst"]
    assert len(details["RoleDetailList"]) == 6
    assert len(details["Policies"]) == 4
    assert "IsTruncated" not in details
    assert "Marker" not in details

    functions = read(out / ACCOUNT / REGION / "lambda" / "functions.json")
    assert [function["FunctionName"] for function in functions["Functions"]] == list(FUNCTION_NAMES)
    assert "NextMarker" not in functions
    assert (out / ACCOUNT / REGION / "lambda" / FUNCTION_NAMES[0] / "policy.json").is_file()
    assert not (out / ACCOUNT / REGION / "lambda" / FUNCTION_NAMES[1]).exists()

    buckets = read(out / ACCOUNT / "s3" / "buckets.json")
    assert buckets["Buckets"] == [{"Name": name, "BucketRegion": REGION} for name in BUCKETS]
    assert "ContinuationToken" not in buckets
    for name in BUCKETS:
        assert read(out / ACCOUNT / "s3" / name / "tagging.json") == {"TagSet": [{"Key": "owner", "Value": "hr"}]}
        assert not (out / ACCOUNT / "s3" / name / "policy.json").exists()

    aliases = read(out / ACCOUNT / REGION / "bedrock-agent" / "agents" / "Q7HRX2KD4N" / "aliases.json")
    assert [alias["agentAliasId"] for alias in aliases["agentAliasSummaries"]] == [
        "PRD4N8XK2Z",
        "V1S7QJ3M0B",
        "TSTALIASID",
    ]
    assert "nextToken" not in aliases
    snapshot = load_snapshot(out)
    assert len(snapshot.accounts[ACCOUNT].functions) == 3
    assert len(snapshot.accounts[ACCOUNT].agents) == 2


# ---- permissions boundaries ----


BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/developer-boundary"
BOUNDARY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def stub_boundary(stubber: Stubber, region: str) -> None:
    """A user whose boundary policy is attached to nothing, so the authorization details leave it out."""
    del region
    user: dict[str, Any] = {
        "UserName": "carol",
        "UserId": "AIDAEXAMPLECAROL00001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/carol",
        "Path": "/",
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": BOUNDARY_ARN},
    }
    details = {"UserDetailList": [user], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    stubber.add_response("get_account_authorization_details", {**details, "IsTruncated": False}, {})
    policy = {"PolicyName": "developer-boundary", "Arn": BOUNDARY_ARN, "Path": "/", "DefaultVersionId": "v2"}
    stubber.add_response("get_policy", {"Policy": policy}, {"PolicyArn": BOUNDARY_ARN})
    # The IAM API sends policy documents URL-encoded, and botocore decodes them.
    version = {"Document": urllib.parse.quote(json.dumps(BOUNDARY)), "VersionId": "v2", "IsDefaultVersion": True}
    stubber.add_response(
        "get_policy_version", {"PolicyVersion": version}, {"PolicyArn": BOUNDARY_ARN, "VersionId": "v2"}
    )
    stub_last_accessed(stubber, [user["Arn"]])


def test_omitted_boundary_policy_fetched(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    result, factory = collect(moto_url, proxy, out, stubs={"iam": stub_boundary, "bedrock": no_guardrails})
    factory.assert_stubs_used()
    assert result.manifest["gaps"] == []
    assert result.manifest["counts"]["iam"]["boundary policies"] == 1

    written = read(out / ACCOUNT / "iam" / "policies" / "developer-boundary.json")
    assert written["Policy"]["Arn"] == BOUNDARY_ARN
    assert written["PolicyVersion"]["Document"] == BOUNDARY
    snapshot = load_snapshot(out)
    assert snapshot.accounts[ACCOUNT].managed_policies[BOUNDARY_ARN].document == BOUNDARY


def stub_last_accessed_denied(stubber: Stubber, region: str) -> None:
    del region
    details = stub_iam_details(stubber)
    first = details["UserDetailList"][0]["Arn"]
    stubber.add_client_error(
        "generate_service_last_accessed_details",
        "AccessDenied",
        "not authorized to perform: iam:GenerateServiceLastAccessedDetails",
        403,
        expected_params={"Arn": first},
    )


def test_denied_last_accessed_one_gap_no_marks(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    stubs: dict[str, StubSetup] = {"iam": stub_last_accessed_denied, "bedrock": no_guardrails}
    result, factory = collect(moto_url, proxy, out, stubs=stubs)
    factory.assert_stubs_used()

    gaps = result.manifest["gaps"]
    assert [(gap["operation"], gap["cause"], gap["subject"]) for gap in gaps] == [
        ("GenerateServiceLastAccessedDetails", "access-denied", "the service last-accessed data of every user and role")
    ]
    assert not (out / ACCOUNT / "iam" / "service-last-accessed").exists()
    deputy = build_graph(load_snapshot(out))
    # Usage reports grant nothing, so not even a path through every node depends on this gap.
    assert path_gaps(deputy, list(deputy.graph.nodes)) == []
