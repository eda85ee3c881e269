"""`deputy collect` as a process: argument errors, progress and summary, JSON logs, and interruption.

Each run is a real `deputy` process that reaches moto's server through the fault proxy,
found through the standard AWS_ENDPOINT_URL variable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.stub import Stubber

from ingest.collect.runner import Collector, CollectSettings
from tests.collect.collect_support import (
    ACCOUNT,
    LAST_ACCESSED_ANSWERS,
    REGION,
    Fault,
    FaultProxy,
    StubbingFactory,
    account_session,
    no_guardrails,
    session_environment,
)
from tests.collect.test_collect_faults import FUNCTIONS_PATH, build_small

DEPUTY = [sys.executable, "-c", "from api.cli import main; main()"]
NO_GUARDRAILS = Fault("bedrock", path=r"/guardrails(\?.*)?$", answer={"guardrails": []})


def run_deputy(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEPUTY, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def collect_env(moto_url: str, proxy: FaultProxy, aws_env: dict[str, str]) -> dict[str, str]:
    """The environment of a `deputy collect` process with credentials of ACCOUNT, and a small environment in moto."""
    build_small(moto_url, (REGION,))
    for answer in (NO_GUARDRAILS, *LAST_ACCESSED_ANSWERS):
        proxy.add(answer)
    return {**os.environ, **aws_env, **session_environment(account_session(ACCOUNT, moto_url))}


# ---- bad arguments ----


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "us-east-1,mars"], "deputy: error: --regions 'mars' is not a region code"),
        (["--accounts", "1234"], "deputy: error: --accounts '1234' is not a 12-digit account id"),
        (["--org"], "deputy: error: --org needs --member-role NAME"),
        (["--org", "--member-role", "arn:aws:iam::111122223333:role/reader"], "is not an IAM role name"),
        (["--member-role", "reader"], "deputy: error: --member-role is used only with --org or --accounts"),
        (["--concurrency", "0"], "deputy: error: --concurrency 0 is invalid"),
        (["--profile", "no-such-profile"], "deputy: error: --profile 'no-such-profile' is not in the AWS config files"),
        (["--log-format", "xml"], "deputy collect: error: argument --log-format: invalid choice"),
    ],
)
def test_bad_argument_one_line_exit_2(args: list[str], message: str, tmp_path: Path, aws_env: dict[str, str]) -> None:
    out = tmp_path / "snapshot"
    result = run_deputy(["collect", "--out", str(out), *args], {**os.environ, **aws_env})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_out_rejected(tmp_path: Path, aws_env: dict[str, str]) -> None:
    out = tmp_path / "snapshot"
    out.mkdir()
    (out / "keep.txt").write_text("kept")
    result = run_deputy(["collect", "--out", str(out)], {**os.environ, **aws_env})
    assert result.returncode == 2
    assert result.stderr.startswith(f"deputy: error: --out {out} already exists")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (out / "keep.txt").read_text() == "kept"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["snapshot"]


def test_missing_credentials_one_line(tmp_path: Path, aws_env: dict[str, str]) -> None:
    env = {key: value for key, value in {**os.environ, **aws_env}.items() if not key.startswith("AWS_ACCESS")}
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    result = run_deputy(["collect", "--out", str(tmp_path / "snapshot"), "--regions", REGION], env)
    assert result.returncode == 2
    assert result.stderr.startswith("deputy: error: no AWS credentials found")
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# ---- progress, summary and logs ----


def test_text_progress_and_summary(collect_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    result = run_deputy(["collect", "--out", str(out), "--regions", REGION], collect_env)
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    assert f"collecting account {ACCOUNT}: 1 regions" in progress
    assert f"{ACCOUNT} global: started" in progress
    assert f"{ACCOUNT} {REGION}: done, 0 gaps" in progress
    assert f"{ACCOUNT} global: done, 0 gaps" in progress
    summary = result.stdout.splitlines()
    assert summary[0] == f"snapshot written to {out}"
    assert f"  account {ACCOUNT} (caller): collected; regions: {REGION}" in summary
    assert "  lambda: 1 functions" in summary
    assert "gaps: 0" in summary
    assert (out / "manifest.json").is_file()


def test_json_logs_and_summary(collect_env: dict[str, str], proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add(Fault("lambda", path=FUNCTIONS_PATH, code="AccessDeniedException", message="no"))
    out = tmp_path / "snapshot"
    result = run_deputy(["collect", "--out", str(out), "--regions", REGION, "--log-format", "json"], collect_env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert {record["logger"] for record in records} <= {"ingest.collect.runner", "ingest.collect.aws"}
    events = [record.get("event") for record in records]
    assert events.count("account-start") == 1
    assert events.count("task-done") == 2
    gap_records = [record for record in records if record.get("event") == "gap"]
    assert len(gap_records) == 1
    assert gap_records[0]["level"] == "warning"
    assert gap_records[0]["gap"]["operation"] == "ListFunctions"
    assert gap_records[0]["account"] == ACCOUNT
    assert gap_records[0]["region"] == REGION
    summary = json.loads(result.stdout)
    assert summary["snapshot"] == str(out)
    assert [gap["operation"] for gap in summary["gaps"]] == ["ListFunctions"]
    assert summary["counts"]["bedrock-agent"] == {"agents": 0, "knowledge bases": 0}


def test_quiet_prints_only_gaps(collect_env: dict[str, str], proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add(Fault("lambda", path=FUNCTIONS_PATH, code="AccessDeniedException", message="no"))
    out = tmp_path / "snapshot"
    result = run_deputy(["collect", "--out", str(out), "--regions", REGION, "--quiet"], collect_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"WARNING not analysed: Lambda functions in account {ACCOUNT} ({REGION}): ListFunctions failed with "
        "AccessDeniedException"
    ]
    assert (out / "manifest.json").is_file()


# ---- interruption ----


def start_slow_collection(collect_env: dict[str, str], proxy: FaultProxy, out: Path) -> subprocess.Popen[str]:
    """Start `deputy collect` and return once its ListFunctions request is held by the proxy."""
    proxy.add(Fault("lambda", path=FUNCTIONS_PATH, delay=4.0, times=1))
    process = subprocess.Popen(
        [*DEPUTY, "collect", "--out", str(out), "--regions", REGION],
        env=collect_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while proxy.count("lambda", path=FUNCTIONS_PATH) == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the collection did not reach ListFunctions within 60 seconds"
        time.sleep(0.05)
    return process


def test_interrupted_run_leaves_nothing(collect_env: dict[str, str], proxy: FaultProxy, tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    process = start_slow_collection(collect_env, proxy, out)
    staging = [path for path in tmp_path.iterdir() if path.name.startswith(".snapshot.partial-")]
    assert len(staging) == 1
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == f"deputy: collection interrupted; {out} was not written"
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_terminated_run_leaves_nothing(collect_env: dict[str, str], proxy: FaultProxy, tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    process = start_slow_collection(collect_env, proxy, out)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert list(tmp_path.iterdir()) == []


def test_killed_run_cannot_pass_as_snapshot(collect_env: dict[str, str], proxy: FaultProxy, tmp_path: Path) -> None:
    out = tmp_path / "snapshot"
    process = start_slow_collection(collect_env, proxy, out)
    process.kill()
    process.communicate(timeout=60)
    assert not out.exists()
    [staging] = [path for path in tmp_path.iterdir() if path.name.startswith(".snapshot.partial-")]
    assert json.loads((staging / "manifest.json").read_text())["status"] == "incomplete"

    result = run_deputy(["analyze", str(staging)], collect_env)
    assert result.returncode == 2
    assert "manifest.json: field 'status': the collection that wrote this folder did not finish" in result.stderr


# ---- every region ----


def test_all_regions_reads_enabled_regions(moto_url: str, proxy: FaultProxy, tmp_path: Path) -> None:
    """`--regions all` collects the regions that EC2's DescribeRegions lists as enabled in the account."""
    enabled = ["eu-west-1", REGION]

    def regions(stubber: Stubber, region: str) -> None:
        del region
        stubber.add_response("describe_regions", {"Regions": [{"RegionName": name} for name in enabled]}, {})

    build_small(moto_url, tuple(enabled))
    for answer in LAST_ACCESSED_ANSWERS:
        proxy.add(answer)
    factory = StubbingFactory(
        account_session(ACCOUNT, moto_url),
        endpoint_url=proxy.url,
        stubs={"ec2": regions, "bedrock": no_guardrails},
    )
    result = Collector(CollectSettings(out=tmp_path / "snapshot", regions=None), factory).run()
    assert result.manifest["gaps"] == []
    factory.assert_stubs_used()
    assert result.manifest["requested_regions"] == "all"
    assert result.manifest["accounts"][0]["regions"] == sorted(enabled)
    for region in enabled:
        assert (tmp_path / "snapshot" / ACCOUNT / region / "lambda" / "functions.json").is_file()
