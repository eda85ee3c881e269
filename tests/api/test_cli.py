"""The `deputy` command run as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def deputy(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from api.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def deputy_json(*args: str) -> Any:
    result = deputy(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_analyze_table_shows_confused_deputies() -> None:
    result = deputy("analyze", str(EXAMPLE))
    assert result.returncode == 0
    assert result.stdout.startswith("deputygraph analysis of")
    assert "Invoker alice (User)" in result.stdout
    assert "read acme-hr-policies (S3Bucket)  [agent-knowledge-base]  CONFUSED DEPUTY" in result.stdout
    assert "call ec2:CreateVpc (VpcApi)  [agent-action-group]  CONFUSED DEPUTY" in result.stdout


ESCALATION_NOTE = [
    "A name followed by (after rewriting its policies), (after joining the group) or (after removing its",
    "permissions boundary) is an escalated principal: a user or role of the account as it is after a caller",
    "made that change. docs/graph-model.md lists the techniques.",
]


def test_analyze_table_names_escalated_principal() -> None:
    result = deputy("analyze", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("  platform-admin (Role)")
    assert (
        lines[start + 1] == f"    <- any permission in account {ACCOUNT} (after rewriting its policies) (conditional)"
    )
    assert "(EscalatedPrincipal)" not in result.stdout
    assert "any-policy:" not in result.stdout
    assert lines[-3:] == ESCALATION_NOTE


def test_analyze_table_explains_self_assumption() -> None:
    result = deputy("analyze", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("  platform-admin (Role)")
    assumers = lines[start + 1 : start + 4]
    assert assumers[1:] == [
        "    <- OrganizationAccountAccessRole (Role) (conditional)",
        "    <- itself: a session of the role may assume it again, which adds no permission (conditional)",
    ]
    assert "<- platform-admin (Role)" not in result.stdout


def test_paths_table_names_attacker_policy() -> None:
    result = deputy(
        "paths",
        str(EXAMPLE),
        "--from",
        f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole",
        "--to",
        "arn:aws:s3:::acme-terraform-state",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        f"  any permission in account {ACCOUNT} (after rewriting its policies) "
        "-[CAN_UPDATE_ASSUME_ROLE_POLICY]-> platform-admin (Role)"
    ) in lines
    assert "      granted by a policy the attacker wrote" in lines
    assert "any-policy:" not in result.stdout
    assert lines[-3:] == ESCALATION_NOTE


def test_analyze_json_names_escalation_kind() -> None:
    result = deputy_json("analyze", str(EXAMPLE))
    (platform_admin,) = [entry for entry in result["role_assumption"] if entry["role"]["name"] == "platform-admin"]
    escalated = [node for node in platform_admin["assumed_by"] if node["label"] == "EscalatedPrincipal"]
    assert [(node["arn"], node["escalation"]) for node in escalated] == [(f"any-policy:{ACCOUNT}", "any-policy")]


def test_analyze_json_summary() -> None:
    result = deputy_json("analyze", str(EXAMPLE))
    assert result["summary"]["invokers"] >= 3
    assert result["summary"]["confused_deputy_paths"] == len(result["confused_deputy_paths"])
    developers = [p for p in result["confused_deputy_paths"] if p["from"] == ALICE]
    assert {p["to"] for p in developers} >= {
        "arn:aws:s3:::acme-hr-policies",
        f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc",
    }


def test_analyze_json_paths_refer_to_tables() -> None:
    result = deputy_json("analyze", str(EXAMPLE))
    (alice,) = [entry for entry in result["invokers"] if entry["principal"] == ALICE]
    (hr,) = [p for p in alice["blast_radius"] if p["to"] == "arn:aws:s3:::acme-hr-policies"]
    assert hr["confused_deputy"] is True
    assert hr["from"] == ALICE
    assert result["nodes"]["arn:aws:s3:::acme-hr-policies"]["label"] == "S3Bucket"
    edges = [result["edges"][edge_id] for edge_id in hr["edges"]]
    assert [edge["type"] for edge in edges] == [
        "CAN_INVOKE_AGENT",
        "ROUTES_TO",
        "USES_KNOWLEDGE_BASE",
        "HAS_DATA_SOURCE",
        "INGESTS_FROM",
    ]
    assert [edge["from"] for edge in edges[1:]] == [edge["to"] for edge in edges[:-1]]
    assert (edges[0]["from"], edges[-1]["to"]) == (ALICE, hr["to"])
    (ref,) = edges[0]["statement_refs"]
    assert result["statements"][ref]["sid"] == "InvokeAnyAgent"
    # Every reference resolves, and each edge is written once however many paths use it.
    used = {
        edge_id
        for entry in result["invokers"]
        for key in ("agent_aliases", "blast_radius")
        for path in entry[key]
        for edge_id in path["edges"]
    }
    assert used == set(result["edges"])
    ends = {arn for edge in result["edges"].values() for arn in (edge["from"], edge["to"])}
    assert ends <= set(result["nodes"])


def test_paths_to_bucket() -> None:
    result = deputy_json("paths", str(EXAMPLE), "--from", ALICE, "--to", "arn:aws:s3:::acme-hr-policies")
    paths = result["paths"]
    assert [p["access"] for p in paths] == ["read"]
    first = paths[0]
    assert first["confused_deputy"] is True
    assert first["nodes"][0]["arn"] == ALICE
    assert first["nodes"][-1]["arn"] == "arn:aws:s3:::acme-hr-policies"
    assert first["edges"][0]["type"] == "CAN_INVOKE_AGENT"


def test_blast_radius_json() -> None:
    result = deputy_json("blast-radius", str(EXAMPLE), "--principal", ALICE)
    assert result["principal"]["name"] == "alice"
    assert result["confused_deputy_count"] == len(result["blast_radius"])


def test_check_allow_with_statement() -> None:
    result = deputy_json(
        "check",
        str(EXAMPLE),
        "--principal",
        f"arn:aws:iam::{ACCOUNT}:user/hr-analyst",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::acme-hr-policies/handbook.pdf",
    )
    assert result["decision"] == "allow"
    assert [s["policy"] for s in result["granting"]] == [
        f"arn:aws:iam::{ACCOUNT}:user/hr-analyst#inline:hr-policies-access"
    ]


def test_check_deny_for_developer() -> None:
    result = deputy_json(
        "check",
        str(EXAMPLE),
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::acme-hr-policies/x",
    )
    assert result["decision"] == "deny"


def test_check_lists_missing_context_key() -> None:
    result = deputy_json(
        "check",
        str(EXAMPLE),
        "--principal",
        ALICE,
        "--action",
        "sts:AssumeRole",
        "--resource",
        f"arn:aws:iam::{ACCOUNT}:role/platform-admin",
    )
    assert result["decision"] == "deny"
    assert "aws:MultiFactorAuthPresent" in result["missing_context_keys"]


def test_check_names_allow_missing_key() -> None:
    # The IAM policy simulator reports a condition key that a request lacks as a missing
    # context value. The Allow exists, but without the key its condition is false.
    account = Path(__file__).resolve().parents[1] / "data" / "cloudsplaining-account"
    result = deputy_json(
        "check",
        str(account),
        "--principal",
        "arn:aws:iam::210987654321:user/fn3-exploitableConditionConstraint-user",
        "--action",
        "iam:CreatePolicyVersion",
        "--resource",
        "arn:aws:iam::210987654321:policy/x",
    )
    assert result["decision"] == "deny"
    assert result["reason"] == (
        "an Allow exists whose condition needs aws:TokenIssueTime, which was not given "
        "(arn:aws:iam::210987654321:policy/fn3-exploitableConditionConstraint#0)"
    )


def test_check_session_principal() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/infra-vpc-provisioner-role/run-1"
    result = deputy_json("check", str(EXAMPLE), "--principal", session, "--action", "ec2:CreateVpc", "--resource", "*")
    assert result["decision"] == "allow"


KB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr"
KB_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr/sync-42"
KB_SESSION_NOTE = (
    f"{KB_SESSION} is a session of role {KB_ROLE}, so these are the role's paths. "
    "Session policies and session tags are not in the snapshot. Session policies can only "
    "narrow these paths, and session tags can change the result of conditions on aws:PrincipalTag."
)


def test_blast_radius_of_session_is_role_radius() -> None:
    result = deputy_json("blast-radius", str(EXAMPLE), "--principal", KB_SESSION, "--all")
    assert result["session"] == {"arn": KB_SESSION, "role": KB_ROLE, "note": KB_SESSION_NOTE}
    assert result["principal"]["arn"] == KB_ROLE
    role = deputy_json("blast-radius", str(EXAMPLE), "--principal", KB_ROLE, "--all")
    assert role["session"] is None
    assert result["blast_radius"] == role["blast_radius"]
    assert "arn:aws:s3:::acme-hr-policies" in {path["to"] for path in result["blast_radius"]}


def test_paths_of_session_table_notes_role() -> None:
    result = deputy("paths", str(EXAMPLE), "--from", KB_SESSION, "--to", "arn:aws:s3:::acme-hr-policies")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"note: {KB_SESSION_NOTE}"
    assert lines[2] == "read acme-hr-policies (S3Bucket)  [direct]"


def test_session_of_unknown_role_exits_2() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ghost/s"
    result = deputy("blast-radius", str(EXAMPLE), "--principal", session)
    assert result.returncode == 2
    assert result.stderr == (
        f"deputy: error: --principal {session!r} is a session of role ghost, which is not in account "
        f"{ACCOUNT} of the snapshot; give the ARN of a user or role it holds\n"
    )


def test_paths_from_federated_session_exits_2() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    result = deputy("paths", str(EXAMPLE), "--from", session)
    assert result.returncode == 2
    assert result.stderr == (
        f"deputy: error: --from {session!r} is an STS session that is not an assumed-role session, "
        "which deputygraph does not model; give a user or role ARN\n"
    )


START_FORMS = (
    "a user or role ARN such as arn:aws:iam::111122223333:user/alice, "
    "or an assumed-role session ARN, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["paths", "--from", "not-an-arn"], f"--from 'not-an-arn' is not an ARN; give {START_FORMS}"),
        (
            ["paths", "--from", ALICE, "--to", "acme-hr-policies"],
            "--to 'acme-hr-policies' is not an ARN; give a resource ARN such as arn:aws:s3:::bucket, "
            "or a VpcApi id, vpc-api:ACCOUNT:REGION:SERVICE:ACTION",
        ),
        (["blast-radius", "--principal", "alice"], f"--principal 'alice' is not an ARN; give {START_FORMS}"),
        (
            ["check", "--principal", "alice", "--action", "s3:GetObject", "--resource", "*"],
            "--principal 'alice' is not an ARN; give a user, role or assumed-role session ARN, "
            "a service principal such as bedrock.amazonaws.com, or anonymous",
        ),
    ],
)
def test_option_not_an_arn_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    # The snapshot folder does not exist, so the message shows that the option is checked first.
    result = deputy(args[0], str(tmp_path / "absent"), *args[1:])
    assert result.returncode == 2
    assert result.stderr == f"deputy: error: {message}\n"


def test_query_param_not_an_arn_exits_2() -> None:
    result = deputy("query", "blast_radius_principal", "--param", "principal=alice")
    assert result.returncode == 2
    assert result.stderr == (
        "deputy: error: query blast_radius_principal: --param principal 'alice' is not an ARN; "
        "give the ARN of a user or role\n"
    )


def test_unknown_principal_exits_2() -> None:
    result = deputy("blast-radius", str(EXAMPLE), "--principal", f"arn:aws:iam::{ACCOUNT}:user/nobody")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "nobody" in result.stderr


def test_bad_context_exits_2() -> None:
    result = deputy(
        "check",
        str(EXAMPLE),
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--context",
        "novalue",
    )
    assert result.returncode == 2
    assert "--context 'novalue' is invalid" in result.stderr


def test_missing_snapshot_exits_2(tmp_path: Path) -> None:
    result = deputy("analyze", str(tmp_path / "absent"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_json_file_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "snap"
    shutil.copytree(EXAMPLE, broken)
    target = broken / ACCOUNT / "s3" / "buckets.json"
    target.write_text("{not json", encoding="utf-8")
    result = deputy("analyze", str(broken))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "buckets.json" in result.stderr


def test_invalid_policy_document_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "snap"
    shutil.copytree(EXAMPLE, broken)
    policy_file = broken / ACCOUNT / "s3" / "acme-hr-policies" / "policy.json"
    policy_file.write_text(json.dumps({"Policy": json.dumps({"Statement": [{"Effect": "Maybe", "Action": "s3:*"}]})}))
    result = deputy("analyze", str(broken))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Effect" in result.stderr


def test_paths_from_resource_exits_2() -> None:
    result = deputy("paths", str(EXAMPLE), "--from", "arn:aws:s3:::acme-hr-policies")
    assert result.returncode == 2
    assert "not a user or role" in result.stderr


def test_usage_error_is_one_line() -> None:
    result = deputy("analyze")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_unknown_key_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "rules.toml"
    config.write_text('[buckets]\nname_pattern = ["*hr*"]\n', encoding="utf-8")
    result = deputy("analyze", str(EXAMPLE), "--config", str(config))
    assert result.returncode == 2
    assert "unknown key 'name_pattern'" in result.stderr


def test_config_makes_bucket_sensitive(tmp_path: Path) -> None:
    config = tmp_path / "rules.toml"
    config.write_text('[buckets]\nname_patterns = ["*public-assets*"]\n', encoding="utf-8")
    result = deputy_json("blast-radius", str(EXAMPLE), "--principal", ALICE, "--config", str(config))
    assert "arn:aws:s3:::acme-public-assets" in {path["to"] for path in result["blast_radius"]}


def test_federated_user_principal_exits_2() -> None:
    principal = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    result = deputy("check", str(EXAMPLE), "--principal", principal, "--action", "s3:GetObject", "--resource", "*")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_context_keys_merge_case_insensitively() -> None:
    result = deputy_json(
        "check",
        str(EXAMPLE),
        "--principal",
        ALICE,
        "--action",
        "s3:GetObject",
        "--resource",
        "*",
        "--context",
        "aws:SourceIp=192.0.2.1",
        "--context",
        "AWS:sourceip=192.0.2.2",
    )
    assert result["decision"] == "deny"


def test_invalid_neo4j_uri_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "unused")
    for uri in ("notauri", "http://127.0.0.1:1"):
        monkeypatch.setenv("NEO4J_URI", uri)
        result = deputy("builds")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert f"NEO4J_URI {uri!r} is invalid" in result.stderr


# Modules that only some commands need, so that start-up and other commands do not load them.
ON_DEMAND_MODULES = ("boto3", "botocore", "fastapi", "neo4j", "uvicorn")


def loaded_on_demand_modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Run the CLI in a new interpreter and return the ON_DEMAND_MODULES it imported."""
    code = (
        "import contextlib, io, sys\n"
        "from api.cli import run\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    run(sys.argv[1:])\n"
        f"print(' '.join(m for m in {ON_DEMAND_MODULES!r} if m in sys.modules), file=sys.__stderr__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=False, env=env
    )
    return set(result.stderr.splitlines()[-1].split())


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["analyze", "--help"],
        ["analyze", str(EXAMPLE)],
        ["check", str(EXAMPLE), "--principal", ALICE, "--action", "s3:GetObject", "--resource", "*"],
        ["report", str(EXAMPLE), "--format", "json"],
    ],
)
def test_command_skips_unused_modules(args: list[str]) -> None:
    assert loaded_on_demand_modules(*args) == set()


def test_neo4j_command_loads_driver() -> None:
    env = {**os.environ, "NEO4J_URI": "bolt://127.0.0.1:1", "NEO4J_PASSWORD": "unused"}
    assert loaded_on_demand_modules("builds", env=env) == {"neo4j"}


def test_blast_radius_names_missing_group(tmp_path: Path) -> None:
    """An export made with --filter User Role lists group names but not the groups."""
    trimmed = tmp_path / "snap"
    shutil.copytree(EXAMPLE, trimmed)
    details_file = trimmed / ACCOUNT / "iam" / "authorization-details.json"
    details = json.loads(details_file.read_text())
    details["GroupDetailList"] = []
    details_file.write_text(json.dumps(details))
    note = (
        "group developers of account 111122223333, which alice, bob belong to, is not in the snapshot: "
        "the permissions its policies grant are not analysed"
    )
    result = deputy_json("blast-radius", str(trimmed), "--principal", ALICE)
    assert result["blast_radius"] == []
    assert result["not_seen"] == [note]
    assert deputy_json("paths", str(trimmed), "--from", ALICE)["not_seen"] == [note]
    assert deputy_json("analyze", str(trimmed))["not_seen"] == [note]
    table = deputy("blast-radius", str(trimmed), "--principal", ALICE).stdout.splitlines()
    assert table[-2:] == ["Not analysed (paths may be missing):", f"  {note}"]
    # hr-analyst is in no group, so the missing group cannot change its paths.
    assert (
        deputy_json("blast-radius", str(trimmed), "--principal", f"arn:aws:iam::{ACCOUNT}:user/hr-analyst")["not_seen"]
        == []
    )
