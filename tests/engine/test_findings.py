"""Each finding rule on a snapshot that triggers it and on one that does not.

The snapshots are copies of examples/shared-hr-agent with the one change each case
needs, so every case reads as "the example, except ...".
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DeputyError
from engine.findings import Finding, drift_findings, find_all, rows_from_graph
from engine.graph import DeputyGraph, build_graph
from engine.paths import blast_radius
from engine.sensitivity import Sensitivity, load_sensitivity
from ingest.snapshot import load_snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
IAM_FILE = f"{ACCOUNT}/iam/authorization-details.json"
REGION = f"{ACCOUNT}/us-east-1"
HR_AGENT_DIR = f"{REGION}/bedrock-agent/agents/Q7HRX2KD4N"
HELPDESK_DIR = f"{REGION}/bedrock-agent/agents/M3ITHD8P5W"
HR_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"
HELPDESK_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/M3ITHD8P5W"
AGENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_hr"
AGENT_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/service-role/hr-agent-execution-access"
DEVELOPERS_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/developers-bedrock-access"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
VPC_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:infra-vpc-provisioner"
LOOKUP_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:hr-policy-lookup"
GUARDRAIL = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/x7k2m9p4q1wz"
PLATFORM_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform-admin"
ORG = "o-k4t7w2m9qz"
ORG_ACCESS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"

Json = dict[str, Any]


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    root = tmp_path / "snapshot"
    shutil.copytree(EXAMPLE, root)
    return root


def edit(root: Path, relative: str, change: Callable[[Json], None]) -> None:
    path = root / relative
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def write(root: Path, relative: str, document: Json) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def role_entry(document: Json, name: str) -> Json:
    return next(role for role in document["RoleDetailList"] if role["RoleName"] == name)


def managed_document(document: Json, arn: str) -> Json:
    policy = next(policy for policy in document["Policies"] if policy["Arn"] == arn)
    version = next(version for version in policy["PolicyVersionList"] if version["IsDefaultVersion"])
    result: Json = version["Document"]
    return result


def add_user(root: Path, name: str, statements: list[Json]) -> str:
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"

    def change(document: Json) -> None:
        document["UserDetailList"].append(
            {
                "Path": "/",
                "UserName": name,
                "UserId": f"AIDA{name.upper():0<17}"[:21],
                "Arn": arn,
                "UserPolicyList": [
                    {
                        "PolicyName": f"{name}-access",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ],
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        )

    edit(root, IAM_FILE, change)
    return arn


def graph_of(root: Path, sensitivity: Sensitivity | None = None) -> DeputyGraph:
    return build_graph(load_snapshot(root), sensitivity)


def findings_of(root: Path, rule_id: str, sensitivity: Sensitivity | None = None) -> list[Finding]:
    return [finding for finding in find_all(graph_of(root, sensitivity)) if finding.rule_id == rule_id]


def example_findings(rule_id: str) -> list[Finding]:
    return [finding for finding in find_all(graph_of(EXAMPLE)) if finding.rule_id == rule_id]


def policy_refs(finding: Finding) -> set[tuple[str | None, int | None]]:
    return {(item.policy, item.statement_index) for item in finding.evidence if item.policy is not None}


# -- the example as a whole -------------------------------------------------------------


def test_example_triggers_the_story_findings() -> None:
    rule_ids = {finding.rule_id for finding in find_all(graph_of(EXAMPLE))}
    assert {"DG001", "DG002", "DG003", "DG007", "DG009"} <= rule_ids


def test_finding_ids_stable_between_runs() -> None:
    first = [finding.finding_id for finding in find_all(graph_of(EXAMPLE))]
    second = [finding.finding_id for finding in find_all(graph_of(EXAMPLE))]
    assert first == second
    assert len(set(first)) == len(first)


def test_findings_sorted_by_severity() -> None:
    ranks = [finding.severity.rank for finding in find_all(graph_of(EXAMPLE))]
    assert ranks == sorted(ranks)


# -- DG001 wildcard permissions ---------------------------------------------------------


def test_wildcard_data_action_on_agent_role() -> None:
    (finding,) = example_findings("DG001")
    assert finding.resources == (AGENT_ROLE, AGENT_POLICY)
    assert policy_refs(finding) == {(AGENT_POLICY, 2)}
    assert finding.details["data_actions_on_any_resource"] == ["s3:GetObject"]
    assert finding.evidence[0].sid == "ReadAnyObject"


def test_wildcard_scoped_resource_is_clean(snapshot: Path) -> None:
    def scope(document: Json) -> None:
        managed_document(document, AGENT_POLICY)["Statement"][2]["Resource"] = [
            "arn:aws:s3:::acme-hr-policies",
            "arn:aws:s3:::acme-hr-policies/*",
        ]

    edit(snapshot, IAM_FILE, scope)
    assert findings_of(snapshot, "DG001") == []


def test_wildcard_service_action_on_lambda_role(snapshot: Path) -> None:
    def widen(document: Json) -> None:
        role = role_entry(document, "infra-vpc-provisioner-role")
        role["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] = "ec2:*"

    edit(snapshot, IAM_FILE, widen)
    found = [f for f in findings_of(snapshot, "DG001") if f.resources[0].endswith("role/infra-vpc-provisioner-role")]
    assert len(found) == 1
    assert found[0].details["wildcard_actions"] == ["ec2:*"]
    assert found[0].title == "Role infra-vpc-provisioner-role allows wildcard actions"


# -- DG002 shared execution role --------------------------------------------------------


def test_shared_role_two_agents() -> None:
    (finding,) = example_findings("DG002")
    assert finding.key == AGENT_ROLE
    assert finding.details["agents"] == [HELPDESK_AGENT, HR_AGENT]


def test_own_role_per_agent_is_clean(snapshot: Path) -> None:
    helpdesk_role = f"arn:aws:iam::{ACCOUNT}:role/service-role/helpdesk-agent-role"

    def add_role(document: Json) -> None:
        role = json.loads(json.dumps(role_entry(document, "AmazonBedrockExecutionRoleForAgents_hr")))
        role.update(RoleName="helpdesk-agent-role", RoleId="AROAHELPDESKAGENTROLE", Arn=helpdesk_role)
        document["RoleDetailList"].append(role)

    def use_role(document: Json) -> None:
        key = "agent" if "agent" in document else "agentVersion"
        document[key]["agentResourceRoleArn"] = helpdesk_role

    edit(snapshot, IAM_FILE, add_role)
    edit(snapshot, f"{HELPDESK_DIR}/agent.json", use_role)
    edit(snapshot, f"{HELPDESK_DIR}/versions/1/agent-version.json", use_role)
    assert findings_of(snapshot, "DG002") == []


# -- DG003 confused deputy --------------------------------------------------------------


def test_confused_deputy_ranked_by_invokers() -> None:
    findings = example_findings("DG003")
    assert [f.key for f in findings] == [f"{HR_BUCKET}|read", f"vpc-api:{ACCOUNT}:us-east-1|call"]
    bucket, vpc = findings
    assert vpc.details["invokers"] == [
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        f"arn:aws:iam::{ACCOUNT}:user/bob",
        f"arn:aws:iam::{ACCOUNT}:user/hr-analyst",
    ]
    assert bucket.details["invokers"] == [f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/bob"]
    # A tag-classified bucket weighs 3 and a VPC API 2, times the number of invokers.
    assert (bucket.score, vpc.score) == (6.0, 6.0)
    assert (DEVELOPERS_POLICY, 0) in policy_refs(bucket)
    assert bucket.path is not None
    assert bucket.path.nodes[-1].arn == HR_BUCKET
    assert [edge.rel for edge in bucket.path.edges][-1] == "INGESTS_FROM"


HR_ALIASES = [
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/TSTALIASID",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/V1S7QJ3M0B",
]
HELPDESK_ALIASES = [
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/HDP2X7K9QA",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/TSTALIASID",
]
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
HR_ANALYST = f"arn:aws:iam::{ACCOUNT}:user/hr-analyst"


def test_confused_deputy_lists_every_alias() -> None:
    bucket, vpc = example_findings("DG003")
    # The bucket is read through the knowledge base behind every alias of the HR agent, and
    # through the shared execution role behind both aliases of the helpdesk agent.
    assert bucket.details["aliases"] == sorted(HELPDESK_ALIASES + HR_ALIASES)
    assert bucket.details["agents"] == [HELPDESK_AGENT, HR_AGENT]
    # stable-v1 routes to version 1, which has no network-ops action group.
    assert vpc.details["aliases"] == HR_ALIASES[:2]
    assert vpc.details["agents"] == [HR_AGENT]
    assert vpc.details["invoker_aliases"][HR_ANALYST] == HR_ALIASES[:2]
    assert set(bucket.resources) >= set(HR_ALIASES + HELPDESK_ALIASES)


def test_confused_deputy_aliases_match_via_agent() -> None:
    # Cross-check against the path engine: an agent is listed for an invoker exactly when
    # blast_radius restricted to that agent's aliases finds the confused deputy.
    deputy = graph_of(EXAMPLE)
    for finding in [f for f in find_all(deputy) if f.rule_id == "DG003"]:
        targets = set(finding.details["targets"])
        for invoker, aliases in finding.details["invoker_aliases"].items():
            listed = {deputy.graph.nodes[alias]["agent"] for alias in aliases}
            for agent in (HR_AGENT, HELPDESK_AGENT):
                found = {
                    reach.target
                    for reach in blast_radius(deputy, invoker, via_agent=agent)
                    if reach.confused_deputy and reach.access == finding.details["access"]
                }
                assert bool(found & targets) == (agent in listed), (finding.key, invoker, agent)


def test_confused_deputy_evidence_names_aliases() -> None:
    bucket, _ = example_findings("DG003")
    assert bucket.evidence[0].detail == (
        "2 invokers (alice, bob) can read acme-hr-policies (S3Bucket) through 5 aliases of 2 agents "
        "but not with their own permissions; sensitive because tag data-classification=confidential"
    )
    assert bucket.evidence[1].detail == (
        "alice and bob reach it through hr-policy-assistant/AgentTestAlias, hr-policy-assistant/prod, "
        "hr-policy-assistant/stable-v1, it-helpdesk-agent/AgentTestAlias, it-helpdesk-agent/helpdesk-prod"
    )
    # Each agent's shortest path is shown, so the statement behind each one can be removed.
    assert (DEVELOPERS_POLICY, 0) in policy_refs(bucket)
    assert (AGENT_POLICY, 1) in policy_refs(bucket)  # the HR agent's knowledge base
    assert (AGENT_POLICY, 2) in policy_refs(bucket)  # the helpdesk agent's role: s3:GetObject on *


def test_confused_deputy_aliases_per_invoker(snapshot: Path) -> None:
    # carol may invoke only helpdesk-prod, whose agent reads the bucket through the shared
    # execution role, so that alias alone is listed for her.
    carol = add_user(
        snapshot, "carol", [{"Effect": "Allow", "Action": "bedrock:InvokeAgent", "Resource": HELPDESK_ALIASES[0]}]
    )
    bucket = next(f for f in findings_of(snapshot, "DG003") if f.key == f"{HR_BUCKET}|read")
    assert bucket.details["invoker_aliases"][carol] == [HELPDESK_ALIASES[0]]
    assert bucket.details["invoker_aliases"][ALICE] == sorted(HELPDESK_ALIASES + HR_ALIASES)
    assert "carol reaches it through it-helpdesk-agent/helpdesk-prod" in [item.detail for item in bucket.evidence]


def test_confused_deputy_conditional_direct_access(snapshot: Path) -> None:
    # alice may read the bucket herself, but only with MFA, so only unconditional paths
    # through agents are confused deputies for her. Her invocations of the helpdesk agent
    # are denied without MFA, so its aliases drop out of her list and stay in bob's.
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    no_mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}

    def change(document: Json) -> None:
        alice = next(user for user in document["UserDetailList"] if user["UserName"] == "alice")
        statements = [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{HR_BUCKET}/*", "Condition": mfa},
            {"Effect": "Deny", "Action": "bedrock:InvokeAgent", "Resource": HELPDESK_ALIASES, "Condition": no_mfa},
        ]
        alice["UserPolicyList"] = [
            {"PolicyName": "alice-access", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
        ]

    edit(snapshot, IAM_FILE, change)
    bucket = next(f for f in findings_of(snapshot, "DG003") if f.key == f"{HR_BUCKET}|read")
    assert bucket.details["invoker_aliases"][ALICE] == HR_ALIASES
    assert bucket.details["invoker_aliases"][f"arn:aws:iam::{ACCOUNT}:user/bob"] == sorted(
        HELPDESK_ALIASES + HR_ALIASES
    )


def test_no_invokers_no_confused_deputy(snapshot: Path) -> None:
    def revoke(document: Json) -> None:
        managed_document(document, DEVELOPERS_POLICY)["Statement"][0]["Effect"] = "Deny"
        analyst = next(user for user in document["UserDetailList"] if user["UserName"] == "hr-analyst")
        analyst["UserPolicyList"][0]["PolicyDocument"]["Statement"].pop(1)

    edit(snapshot, IAM_FILE, revoke)
    assert findings_of(snapshot, "DG003") == []


def test_confused_deputy_kinds_cover_listed_paths() -> None:
    bucket = next(f for f in example_findings("DG003") if f.key == f"{HR_BUCKET}|read")
    # The evidence spells out a knowledge base path through hr-policy-assistant and an
    # execution role path through it-helpdesk-agent.
    assert bucket.details["kinds"] == ["agent-execution-role", "agent-knowledge-base"]


def test_confused_deputy_remediation_per_kind() -> None:
    found = {f.key: f.remediation for f in example_findings("DG003")}
    assert found[f"{HR_BUCKET}|read"] == (
        "Cut every path listed in the evidence, because each one alone leads to the target: "
        "for the agent-knowledge-base path through hr-policy-assistant, disassociate knowledge base "
        "hr-policies-kb from hr-policy-assistant version 2, or remove its data source acme-hr-policies-s3; "
        "for the agent-execution-role path through it-helpdesk-agent, in execution role "
        "AmazonBedrockExecutionRoleForAgents_hr of it-helpdesk-agent version DRAFT remove policy "
        "hr-agent-execution-access statement 2 (ReadAnyObject). "
        "Alternatively, limit who may invoke the aliases with bedrock:InvokeAgent on named alias ARNs."
    )
    assert found[f"vpc-api:{ACCOUNT}:us-east-1|call"] == (
        "Cut every path listed in the evidence, because each one alone leads to the target: "
        "for the agent-action-group path through hr-policy-assistant, remove action group network-ops from "
        "hr-policy-assistant version 2, or in infra-vpc-provisioner-role (the role of Lambda function "
        "infra-vpc-provisioner) remove inline policy vpc-provisioning statement 0 (ProvisionNetworking). "
        "Alternatively, limit who may invoke the aliases with bedrock:InvokeAgent on named alias ARNs."
    )


# -- DG004 agent reconfiguration --------------------------------------------------------


def test_reconfiguration_admins_gain_nothing() -> None:
    assert example_findings("DG004") == []


def test_update_agent_and_function_code(snapshot: Path) -> None:
    carol = add_user(snapshot, "carol", [{"Effect": "Allow", "Action": "bedrock:UpdateAgent", "Resource": HR_AGENT}])
    dave = add_user(
        snapshot, "dave", [{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode", "Resource": VPC_FUNCTION}]
    )
    findings = findings_of(snapshot, "DG004")
    assert sorted(f.key for f in findings) == [f"{carol}|{HR_AGENT}", f"{dave}|{VPC_FUNCTION}"]
    by_key = {f.key: f for f in findings}
    carol_gain = {(g["target"], g["access"]) for g in by_key[f"{carol}|{HR_AGENT}"].details["gained"]}
    assert (HR_BUCKET, "read") in carol_gain
    dave_gain = {g["target"] for g in by_key[f"{dave}|{VPC_FUNCTION}"].details["gained"]}
    assert f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc" in dave_gain
    assert HR_BUCKET not in dave_gain
    assert (f"arn:aws:iam::{ACCOUNT}:user/carol#inline:carol-access", 0) in policy_refs(by_key[f"{carol}|{HR_AGENT}"])


def test_reconfiguration_remediation_matches_technique(snapshot: Path) -> None:
    carol = add_user(snapshot, "carol", [{"Effect": "Allow", "Action": "bedrock:UpdateAgent", "Resource": HR_AGENT}])
    dave = add_user(
        snapshot, "dave", [{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode", "Resource": VPC_FUNCTION}]
    )
    by_key = {f.key: f for f in findings_of(snapshot, "DG004")}
    assert by_key[f"{dave}|{VPC_FUNCTION}"].remediation == (
        "Remove lambda:UpdateFunctionCode on infra-vpc-provisioner from dave, or limit the Resource of the "
        "statements named in the evidence to functions whose roles reach nothing dave may not reach itself; "
        "infra-vpc-provisioner runs with infra-vpc-provisioner-role, so its code acts with that role's permissions."
    )
    # carol may not pass any role, so nothing about iam:PassRole applies.
    assert by_key[f"{carol}|{HR_AGENT}"].remediation == (
        "Remove bedrock:UpdateAgent and the other agent configuration permissions on hr-policy-assistant from "
        "carol, or limit their Resource to agents whose roles reach nothing carol may not reach itself."
    )


def test_reconfiguration_with_pass_role_remediation(snapshot: Path) -> None:
    erin = add_user(
        snapshot,
        "erin",
        [
            {"Effect": "Allow", "Action": "bedrock:UpdateAgent", "Resource": HR_AGENT},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": AGENT_ROLE},
        ],
    )
    (finding,) = [f for f in findings_of(snapshot, "DG004") if f.key == f"{erin}|{HR_AGENT}"]
    assert finding.remediation.endswith(
        "Also limit iam:PassRole of erin to the roles it needs, with an iam:PassedToService condition, because "
        "it may now pass AmazonBedrockExecutionRoleForAgents_hr to Bedrock."
    )


# -- DG005 SCP for Bedrock --------------------------------------------------------------


def test_scp_full_access_does_not_restrict_region() -> None:
    (finding,) = example_findings("DG005")
    assert finding.details["probed_region"] == "ap-southeast-2"
    assert finding.details["approved_regions"] == ["us-east-1"]
    assert ("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess", 0) in policy_refs(finding)


def test_scp_probe_region_worded_as_example() -> None:
    (finding,) = example_findings("DG005")
    assert finding.title == "No SCP limits Bedrock agents in account 111122223333 to the approved regions (us-east-1)"
    assert finding.evidence[0].detail == (
        "bedrock:InvokeAgent in a region outside the approved list, for example ap-southeast-2, would be allowed "
        "for a role of account 111122223333 that may do anything: the SCPs along the account's organization path "
        "allow the request"
    )
    assert finding.severity == "medium"
    assert finding.details["depends_on_gaps"] == []


def test_scp_without_organization_data_skipped(snapshot: Path) -> None:
    shutil.rmtree(snapshot / "organization")
    deputy = graph_of(snapshot)
    assert [f for f in find_all(deputy) if f.rule_id == "DG005"] == []
    # The report's "Not analysed" section gives the reason, as for every other part left out.
    assert "no organization data: SCPs and RCPs not analysed" in deputy.notes


def test_scp_with_organization_gap_uncertain(snapshot: Path) -> None:
    gap = {
        "service": "organizations",
        "operation": "ListPoliciesForTarget",
        "subject": "the SCPs attached to OU ou-x9k2-7hq4m2pd",
        "error_code": "AccessDeniedException",
        "cause": "access-denied",
        "account": None,
    }
    edit(snapshot, "manifest.json", lambda document: document.update(gaps=[gap]))
    (finding,) = findings_of(snapshot, "DG005")
    assert finding.severity == "low"
    assert finding.title == (
        "No SCP that the snapshot holds limits Bedrock agents in account 111122223333 to the approved regions "
        "(us-east-1)"
    )
    assert finding.details["depends_on_gaps"] == [0]
    assert finding.evidence[-1].detail == (
        "an SCP that deputy collect could not read may still deny the request: not analysed: the SCPs attached "
        "to OU ou-x9k2-7hq4m2pd in the organization: ListPoliciesForTarget failed with AccessDeniedException"
    )


def add_region_deny_scp(root: Path) -> None:
    # The statement follows the AWS Organizations User Guide page "General examples",
    # "Deny access to AWS based on the requested AWS Region", narrowed to Bedrock.
    content = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyBedrockOutsideApprovedRegions",
                "Effect": "Deny",
                "Action": "bedrock:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
            }
        ],
    }
    policy_id = "p-bedrockregion"
    write(
        root,
        f"organization/policies/{policy_id}.json",
        {
            "Policy": {
                "PolicySummary": {
                    "Id": policy_id,
                    "Arn": f"arn:aws:organizations::999988887777:policy/{ORG}/service_control_policy/{policy_id}",
                    "Name": "DenyBedrockOutsideApprovedRegions",
                    "Type": "SERVICE_CONTROL_POLICY",
                    "AwsManaged": False,
                },
                "Content": json.dumps(content),
            }
        },
    )
    write(root, f"organization/policies/{policy_id}/targets.json", {"Targets": [{"TargetId": "r-x9k2"}]})


def test_scp_region_deny_is_clean(snapshot: Path) -> None:
    add_region_deny_scp(snapshot)
    assert findings_of(snapshot, "DG005") == []


def test_scp_unapproved_account(snapshot: Path) -> None:
    add_region_deny_scp(snapshot)
    sensitivity = Sensitivity(approved_accounts=("444455556666",))
    findings = findings_of(snapshot, "DG005", sensitivity)
    accounts = sorted(f.details["account"] for f in findings)
    # The management account is exempt from SCPs, so it is a finding too.
    assert accounts == [ACCOUNT, "999988887777"]


# -- DG006 CloudTrail -------------------------------------------------------------------
#
# AWS CloudTrail User Guide, "Logging data events": Bedrock agent alias invocations are
# data events of resources.type AWS::Bedrock::AgentAlias, selected only by advanced event
# selectors. Amazon Bedrock User Guide, "Monitor Amazon Bedrock API calls using
# CloudTrail", lists InvokeAgent among the data events.


def test_basic_selectors_miss_invoke_agent() -> None:
    findings = example_findings("DG006")
    assert [f.key for f in findings] == [f"data|are not logged|{ACCOUNT}|us-east-1"]
    assert len(findings[0].resources) == 5


def advanced_selectors(root: Path, selectors: list[Json]) -> None:
    path = f"{REGION}/cloudtrail/org-management-trail/event-selectors.json"
    write(
        root,
        path,
        {
            "TrailARN": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-management-trail",
            "AdvancedEventSelectors": selectors,
        },
    )


MANAGEMENT_SELECTOR = {
    "Name": "Management events",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}


def test_advanced_agent_alias_selector_is_clean(snapshot: Path) -> None:
    data = {
        "Name": "Bedrock agent invocations",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]},
        ],
    }
    advanced_selectors(snapshot, [MANAGEMENT_SELECTOR, data])
    assert findings_of(snapshot, "DG006") == []


def test_selector_on_caller_is_uncertain(snapshot: Path) -> None:
    data = {
        "Name": "Bedrock agent invocations by one role",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]},
            {"Field": "userIdentity.arn", "StartsWith": ["arn:aws:sts::111122223333:assumed-role/app"]},
        ],
    }
    advanced_selectors(snapshot, [MANAGEMENT_SELECTOR, data])
    (finding,) = findings_of(snapshot, "DG006")
    assert finding.severity == "low"
    assert finding.title == f"bedrock:InvokeAgent data events may not be logged in account {ACCOUNT}, us-east-1"


def test_basic_selectors_setting_named() -> None:
    # The example's trail has basic event selectors only.
    (finding,) = example_findings("DG006")
    assert finding.evidence[0].setting == "EventSelectors"
    assert finding.remediation.startswith("Add an advanced event selector")


def test_alias_selector_limited_by_arn(snapshot: Path) -> None:
    # The selector logs the helpdesk agent's aliases only, so the hr agent's go unlogged.
    data = {
        "Name": "Helpdesk agent invocations",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]},
            {"Field": "resources.ARN", "StartsWith": [f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/"]},
        ],
    }
    advanced_selectors(snapshot, [MANAGEMENT_SELECTOR, data])
    (finding,) = findings_of(snapshot, "DG006")
    assert finding.evidence[0].setting == "AdvancedEventSelectors"
    assert finding.remediation == (
        'Widen the resources.ARN field of selector "Helpdesk agent invocations" of trail org-management-trail '
        f"(resources.ARN starts with arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/) so that it "
        "matches every alias listed, or remove that field, so that each InvokeAgent call is recorded with the "
        "caller's identity."
    )


def test_basic_selectors_read_as_text() -> None:
    (finding,) = example_findings("DG006")
    assert finding.evidence[1].detail == (
        "trail org-management-trail (arn:aws:cloudtrail:us-east-1:999988887777:trail/org-management-trail): "
        "basic event selectors only: ReadWriteType = All, IncludeManagementEvents = true"
    )


def test_advanced_selectors_read_as_text(snapshot: Path) -> None:
    data = {
        "Name": "Bedrock agent invocations by one role",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]},
            {"Field": "eventName", "Equals": ["InvokeAgent", "InvokeInlineAgent"]},
            {"Field": "userIdentity.arn", "StartsWith": ["arn:aws:sts::111122223333:assumed-role/app"]},
            {"Field": "resources.ARN", "NotEndsWith": ["/TSTALIASID"]},
        ],
    }
    advanced_selectors(snapshot, [MANAGEMENT_SELECTOR, data])
    findings = findings_of(snapshot, "DG006")
    # The test aliases are left out for sure, and the others depend on the caller.
    assert [f.key for f in findings] == [
        f"data|are not logged|{ACCOUNT}|us-east-1",
        f"data|may not be logged|{ACCOUNT}|us-east-1",
    ]
    assert findings[0].evidence[1].detail == findings[1].evidence[1].detail
    assert findings[0].evidence[1].detail == (
        "trail org-management-trail (arn:aws:cloudtrail:us-east-1:999988887777:trail/org-management-trail): "
        'advanced event selectors: selector "Management events": eventCategory = Management; '
        'selector "Bedrock agent invocations by one role": eventCategory = Data, '
        "resources.type = AWS::Bedrock::AgentAlias, eventName = InvokeAgent or InvokeInlineAgent, "
        "userIdentity.arn starts with arn:aws:sts::111122223333:assumed-role/app, "
        "resources.ARN does not end with /TSTALIASID"
    )


def test_odd_selectors_read_without_error(snapshot: Path) -> None:
    # Hand-written snapshots may hold shapes that AWS never returns; they still read as text.
    odd = {"FieldSelectors": [{"Field": "eventCategory", "Equals": "Data"}, "readOnly"]}
    advanced_selectors(snapshot, [odd, MANAGEMENT_SELECTOR])
    (finding,) = findings_of(snapshot, "DG006")
    # The field selector that is not an object cannot be matched, so logging is uncertain.
    assert finding.severity == "low"
    assert finding.evidence[1].detail == (
        "trail org-management-trail (arn:aws:cloudtrail:us-east-1:999988887777:trail/org-management-trail): "
        'advanced event selectors: selector 1: eventCategory = Data, "readOnly"; '
        'selector "Management events": eventCategory = Management'
    )


def test_management_events_excluded(snapshot: Path) -> None:
    data = {
        "Name": "Bedrock agent invocations",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]},
        ],
    }
    management = {
        "Name": "Management events without Bedrock",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "eventSource", "NotEquals": ["bedrock.amazonaws.com"]},
        ],
    }
    advanced_selectors(snapshot, [management, data])
    assert [f.key for f in findings_of(snapshot, "DG006")] == [f"management|{ACCOUNT}|us-east-1"]


# -- DG007 production alias without guardrail -------------------------------------------


def add_guardrail(root: Path, relative: str) -> None:
    def change(document: Json) -> None:
        key = "agent" if "agent" in document else "agentVersion"
        document[key]["guardrailConfiguration"] = {"guardrailIdentifier": "x7k2m9p4q1wz", "guardrailVersion": "1"}

    edit(root, relative, change)


def test_guardrail_remediation_creates_version_by_alias() -> None:
    # Amazon Bedrock User Guide, "Deploy an agent": a new version comes from CreateAgentAlias,
    # or from UpdateAgentAlias without routingConfiguration; there is no separate call.
    remediations = {f.key: f.remediation for f in example_findings("DG007")}
    assert remediations[HR_ALIASES[0]] == (
        "Attach a guardrail to hr-policy-assistant (guardrailConfiguration in UpdateAgent) and prepare the agent "
        "(PrepareAgent). Then call UpdateAgentAlias on prod without routingConfiguration, which creates a version "
        "from the prepared draft and points the alias at it."
    )


def test_production_aliases_without_guardrail() -> None:
    keys = sorted(f.key for f in example_findings("DG007"))
    assert keys == [
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/M3ITHD8P5W/HDP2X7K9QA",
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z",
    ]


def test_production_aliases_with_guardrail_are_clean(snapshot: Path) -> None:
    add_guardrail(snapshot, f"{HR_AGENT_DIR}/versions/2/agent-version.json")
    add_guardrail(snapshot, f"{HELPDESK_DIR}/versions/1/agent-version.json")
    assert findings_of(snapshot, "DG007") == []


def test_production_rule_from_config() -> None:
    sensitivity = Sensitivity(production_alias_patterns=("live",))
    assert findings_of(EXAMPLE, "DG007", sensitivity) == []


# -- DG008 guardrail tampering ----------------------------------------------------------


def test_unused_guardrail_not_tampering() -> None:
    keys = [f.key for f in example_findings("DG008")]
    assert keys == [f"enforce|{AGENT_ROLE}"]


def test_guardrail_in_use_changeable_by_non_admins(snapshot: Path) -> None:
    add_guardrail(snapshot, f"{HR_AGENT_DIR}/versions/2/agent-version.json")
    tamper = [f for f in findings_of(snapshot, "DG008") if f.key.startswith("tamper|")]
    assert [f.key for f in tamper] == [f"tamper|{GUARDRAIL}"]
    assert tamper[0].details["principals"] == [ORG_ACCESS_ROLE, PLATFORM_ADMIN]
    assert ("arn:aws:iam::aws:policy/AdministratorAccess", 0) in policy_refs(tamper[0])


def test_guardrail_admins_from_config(snapshot: Path) -> None:
    add_guardrail(snapshot, f"{HR_AGENT_DIR}/versions/2/agent-version.json")
    sensitivity = Sensitivity(guardrail_admins=(PLATFORM_ADMIN, f"arn:aws:iam::{ACCOUNT}:role/Organization*"))
    assert [f.key for f in findings_of(snapshot, "DG008", sensitivity) if f.key.startswith("tamper|")] == []


def test_guardrail_identifier_condition_enforces(snapshot: Path) -> None:
    # Amazon Bedrock User Guide, "Enforce the use of specific guardrails in model inference
    # requests": an Allow conditioned on bedrock:GuardrailIdentifier.
    def require_guardrail(document: Json) -> None:
        statement = managed_document(document, AGENT_POLICY)["Statement"][0]
        statement["Condition"] = {"StringEquals": {"bedrock:GuardrailIdentifier": f"{GUARDRAIL}:1"}}

    edit(snapshot, IAM_FILE, require_guardrail)
    assert [f.key for f in findings_of(snapshot, "DG008") if f.key.startswith("enforce|")] == []


# -- DG009 cross-service confused deputy ------------------------------------------------
#
# IAM User Guide, "The confused deputy problem": aws:SourceArn and aws:SourceAccount in
# the trust policy and the resource-based policy limit the service to your resources.


def test_trust_and_function_without_source_condition() -> None:
    keys = sorted(f.key for f in example_findings("DG009"))
    assert keys == [f"function|{VPC_FUNCTION}", f"role|{AGENT_ROLE}"]


def test_function_remediation_commands_runnable() -> None:
    # Lambda API reference, AddPermission and RemovePermission: --statement-id and
    # --action are required, and --source-arn takes one ARN, so each agent gets its own
    # statement. Bedrock User Guide, "Resource-based policy to allow Amazon Bedrock to
    # invoke an action group Lambda function": the source ARN is the agent's ARN.
    (finding,) = [f for f in example_findings("DG009") if f.key == f"function|{VPC_FUNCTION}"]
    assert finding.remediation == (
        "Run `aws lambda remove-permission --region us-east-1 --function-name infra-vpc-provisioner "
        "--statement-id bedrock-agent-invoke`, then `aws lambda add-permission --region us-east-1 "
        "--function-name infra-vpc-provisioner --statement-id bedrock-agent-Q7HRX2KD4N "
        "--action lambda:InvokeFunction --principal bedrock.amazonaws.com --source-account 111122223333 "
        f"--source-arn {HR_AGENT}`."
    )


def test_trust_remediation_names_region_and_agents() -> None:
    # Bedrock User Guide, "Create a service role for Amazon Bedrock Agents": the trust
    # policy's condition is aws:SourceAccount plus aws:SourceArn of the agents.
    (finding,) = [f for f in example_findings("DG009") if f.key == f"role|{AGENT_ROLE}"]
    assert "REGION" not in finding.remediation
    assert finding.remediation == (
        "Add to the trust policy of AmazonBedrockExecutionRoleForAgents_hr a Condition with StringEquals "
        f"aws:SourceAccount {ACCOUNT} and ArnLike aws:SourceArn {HELPDESK_AGENT}, {HR_AGENT} (the agents that "
        f"run with the role; arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/* would admit every agent of the "
        "account there)."
    )


def test_source_conditions_are_clean(snapshot: Path) -> None:
    condition = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/*"},
    }

    def trust(document: Json) -> None:
        role_entry(document, "AmazonBedrockExecutionRoleForAgents_hr")["AssumeRolePolicyDocument"]["Statement"][0][
            "Condition"
        ] = condition

    def function_policy(document: Json) -> None:
        policy = json.loads(document["Policy"])
        policy["Statement"][0]["Condition"] = condition
        document["Policy"] = json.dumps(policy)

    edit(snapshot, IAM_FILE, trust)
    edit(snapshot, f"{REGION}/lambda/infra-vpc-provisioner/policy.json", function_policy)
    assert findings_of(snapshot, "DG009") == []


# -- DG010 unrestricted sensitive resources ---------------------------------------------


def test_sensitive_resources_without_limits() -> None:
    keys = sorted(f.key for f in example_findings("DG010"))
    assert keys == [LOOKUP_FUNCTION, VPC_FUNCTION, HR_BUCKET]


VPC_APIS = [
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateInternetGateway",
    "ec2:CreateRoute",
    "ec2:CreateSubnet",
    "ec2:CreateVpc",
    "ec2:ModifyVpcAttribute",
]


def test_unrestricted_titles_say_policy_exists() -> None:
    # All three have a resource-based policy: the bucket's denies plain HTTP only, and
    # each function's lets Bedrock invoke it.
    titles = {f.key: f.title for f in example_findings("DG010")}
    assert titles == {
        HR_BUCKET: "Sensitive bucket acme-hr-policies has a bucket policy that does not limit who may read it",
        LOOKUP_FUNCTION: "Sensitive function hr-policy-lookup has a resource-based policy "
        "that does not limit who may invoke it",
        VPC_FUNCTION: "Sensitive function infra-vpc-provisioner has a resource-based policy "
        "that does not limit who may invoke it",
    }
    assert all(f.details["has_policy"] for f in example_findings("DG010"))


def test_unrestricted_titles_without_policy(snapshot: Path) -> None:
    (snapshot / f"{ACCOUNT}/s3/acme-hr-policies/policy.json").unlink()
    (snapshot / f"{REGION}/lambda/infra-vpc-provisioner/policy.json").unlink()
    findings = {f.key: f for f in findings_of(snapshot, "DG010")}
    bucket_title = "Sensitive bucket acme-hr-policies has no bucket policy to limit who may read it"
    assert findings[HR_BUCKET].title == bucket_title
    assert findings[HR_BUCKET].evidence[1].detail == (
        "acme-hr-policies has no bucket policy, so every principal of account 111122223333 whose own policies "
        "allow s3:GetObject on it may read it"
    )
    assert findings[HR_BUCKET].details["has_policy"] is False
    # Without a resource-based policy Bedrock cannot invoke the function either, but any
    # principal of the account whose own policies allow it can.
    assert findings[VPC_FUNCTION].title == (
        "Sensitive function infra-vpc-provisioner has no resource-based policy to limit who may invoke it"
    )


def test_unrestricted_evidence_reads_well() -> None:
    findings = {f.key: f for f in example_findings("DG010")}
    bucket = findings[HR_BUCKET]
    # IAM User Guide, "Policy evaluation for requests within a single account": an Allow in
    # either the identity-based or the resource-based policy is enough within one account.
    assert bucket.evidence[1].detail == (
        "the bucket policy of acme-hr-policies denies s3:GetObject to no principal of account 111122223333 "
        "whose own policies allow it; within one account an Allow in either the identity-based or the "
        "resource-based policy is enough, so only a Deny statement limits who may read it"
    )
    policy = f"{HR_BUCKET}#bucket-policy"
    denied = f"deny statement {policy}#0(DenyInsecureTransport) does not apply to such a request"
    assert bucket.evidence[2].detail == denied
    assert (bucket.evidence[2].policy, bucket.evidence[2].statement_index) == (policy, 0)
    assert not any("(allow)" in item.detail for f in findings.values() for item in f.evidence)
    vpc = findings[VPC_FUNCTION]
    assert vpc.evidence[0].detail == (
        f"infra-vpc-provisioner runs with infra-vpc-provisioner-role, which reaches {', '.join(VPC_APIS)}"
    )
    assert vpc.details["reaches"] == [f"vpc-api:{ACCOUNT}:us-east-1:{api}" for api in VPC_APIS]


def test_unrestricted_deny_on_unknown_condition(snapshot: Path) -> None:
    # A deny that depends on the caller's source IP address, which a snapshot does not
    # hold, may not apply, so the finding stays and names the condition.
    def deny_outside_network(document: Json) -> None:
        policy = json.loads(document["Policy"])
        policy["Statement"].append(
            {
                "Sid": "DenyOutsideOffice",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-hr-policies/*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            }
        )
        document["Policy"] = json.dumps(policy)

    edit(snapshot, f"{ACCOUNT}/s3/acme-hr-policies/policy.json", deny_outside_network)
    bucket = next(f for f in findings_of(snapshot, "DG010") if f.key == HR_BUCKET)
    assert bucket.details["decision"] == "conditional"
    assert bucket.title == "Sensitive bucket acme-hr-policies has a bucket policy that may not limit who may read it"
    assert bucket.evidence[1].detail == (
        "the bucket policy of acme-hr-policies denies s3:GetObject to a principal of account 111122223333 whose "
        "own policies allow it only under conditions that the snapshot cannot settle: "
        "allowed unless NotIpAddress aws:SourceIp = 203.0.113.0/24"
    )
    assert bucket.evidence[2].detail == (
        f"deny statement {HR_BUCKET}#bucket-policy#1(DenyOutsideOffice) applies to such a request only if its "
        "conditions hold"
    )


def test_deny_except_named_roles_is_clean(snapshot: Path) -> None:
    def limit(document: Json) -> None:
        policy = json.loads(document["Policy"])
        policy["Statement"].append(
            {
                "Sid": "OnlyNamedReaders",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-hr-policies/*",
                "Condition": {
                    "ArnNotLike": {"aws:PrincipalArn": [AGENT_ROLE, f"arn:aws:iam::{ACCOUNT}:user/hr-analyst"]}
                },
            }
        )
        document["Policy"] = json.dumps(policy)

    edit(snapshot, f"{ACCOUNT}/s3/acme-hr-policies/policy.json", limit)
    keys = sorted(f.key for f in findings_of(snapshot, "DG010"))
    assert HR_BUCKET not in keys
    # acme-terraform-state denies every principal but platform-admin, so it was never a finding.
    assert "arn:aws:s3:::acme-terraform-state" not in keys


# -- DG011 drift ------------------------------------------------------------------------


VPC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/infra-vpc-provisioner-role"
PROD_ALIAS_FILE = f"{HR_AGENT_DIR}/aliases.json"


def network_ops_lines(deputy: DeputyGraph, what: str, label: str = "the previous build") -> list[str]:
    """The evidence of gaining the network-ops action group, which calls infra-vpc-provisioner."""
    digest = str(deputy.graph.nodes[VPC_ROLE]["policy_digest"])[:12]
    return [
        f"added since {label} to {what}: action group network-ops -> {VPC_FUNCTION}",
        f"added since {label} to {what}: function {VPC_FUNCTION} runs with infra-vpc-provisioner-role "
        f"(policy digest {digest})",
    ]


def route_prod_to(root: Path, version: str) -> None:
    def change(document: Json) -> None:
        prod = next(alias for alias in document["agentAliasSummaries"] if alias["agentAliasName"] == "prod")
        prod["routingConfiguration"] = [{"agentVersion": version}]

    edit(root, PROD_ALIAS_FILE, change)


def test_drift_new_action_group(snapshot: Path) -> None:
    for version in ("2", "DRAFT"):
        (snapshot / f"{HR_AGENT_DIR}/versions/{version}/action-groups/NOP8F4V6QZ.json").unlink()
    before = graph_of(snapshot)
    after = graph_of(EXAMPLE)
    # The DRAFT gained the same action group, which the served finding already reports.
    (finding,) = drift_findings(rows_from_graph(before), rows_from_graph(after))
    assert finding.key == HR_AGENT
    assert finding.severity == "high"
    assert finding.title == (
        "Agent hr-policy-assistant changed since the previous build: action groups, action-group functions"
    )
    assert [item.detail for item in finding.evidence] == network_ops_lines(
        after, "what alias hr-policy-assistant/prod serves (version 2)"
    )


def test_drift_alias_rerouted(snapshot: Path) -> None:
    # prod served version 1 and now serves version 2. Both versions existed in both builds,
    # so only a comparison per alias shows that prod gained network-ops.
    route_prod_to(snapshot, "1")
    after = graph_of(EXAMPLE)
    (finding,) = drift_findings(rows_from_graph(graph_of(snapshot)), rows_from_graph(after))
    assert finding.key == HR_AGENT
    assert finding.severity == "high"
    assert finding.details["changed"] == ["action_groups", "functions", "routing"]
    assert finding.resources == (HR_AGENT, HR_ALIASES[0])
    assert [item.detail for item in finding.evidence] == [
        "alias hr-policy-assistant/prod routed to version 1 in the previous build and now routes to version 2",
        *network_ops_lines(after, "what alias hr-policy-assistant/prod serves (version 2)"),
    ]


def test_drift_alias_rerouted_back(snapshot: Path) -> None:
    # The other way round reach shrinks, which still needs a review but is not high.
    route_prod_to(snapshot, "1")
    (finding,) = drift_findings(rows_from_graph(graph_of(EXAMPLE)), rows_from_graph(graph_of(snapshot)))
    assert finding.severity == "medium"
    assert finding.evidence[0].detail == (
        "alias hr-policy-assistant/prod routed to version 2 in the previous build and now routes to version 1"
    )
    # network-ops was in version 2, which prod served before, not in version 1.
    assert finding.evidence[1].detail == (
        "removed since the previous build from what alias hr-policy-assistant/prod served (version 2): "
        f"action group network-ops -> {VPC_FUNCTION}"
    )


def test_drift_draft_only_is_unreleased(snapshot: Path) -> None:
    # Only the DRAFT gained network-ops, and only the test alias serves the DRAFT: prod
    # keeps serving version 2, which had network-ops in both builds.
    (snapshot / f"{HR_AGENT_DIR}/versions/DRAFT/action-groups/NOP8F4V6QZ.json").unlink()
    after = graph_of(EXAMPLE)
    (finding,) = drift_findings(rows_from_graph(graph_of(snapshot)), rows_from_graph(after))
    assert finding.key == f"{HR_AGENT}|unreleased"
    assert finding.severity == "low"
    assert finding.title == (
        "Agent hr-policy-assistant has unreleased changes since the previous build in version DRAFT: "
        "action groups, action-group functions"
    )
    assert [item.detail for item in finding.evidence] == network_ops_lines(
        after, "version DRAFT, which only the test alias serves"
    )
    assert finding.details["versions"] == ["DRAFT"]


def test_drift_served_change_not_repeated(snapshot: Path) -> None:
    # prod moved to version 2 and the DRAFT gained the same action group. The served
    # finding reports it, so no unreleased finding repeats it.
    (snapshot / f"{HR_AGENT_DIR}/versions/DRAFT/action-groups/NOP8F4V6QZ.json").unlink()
    route_prod_to(snapshot, "1")
    findings = drift_findings(rows_from_graph(graph_of(snapshot)), rows_from_graph(graph_of(EXAMPLE)))
    assert [(f.key, f.severity) for f in findings] == [(HR_AGENT, "high")]


def test_drift_role_policy_change(snapshot: Path) -> None:
    def widen(document: Json) -> None:
        managed_document(document, AGENT_POLICY)["Statement"].append(
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}
        )

    edit(snapshot, IAM_FILE, widen)
    findings = find_all(graph_of(snapshot), previous=graph_of(EXAMPLE))
    drift = [f for f in findings if f.rule_id == "DG011"]
    assert sorted(f.key for f in drift) == [HELPDESK_AGENT, HR_AGENT]
    assert all(f.details["changed"] == ["roles"] for f in drift)


def read_hr_bucket_from_vpc_role(root: Path) -> None:
    def widen(document: Json) -> None:
        role = role_entry(document, "infra-vpc-provisioner-role")
        role["RolePolicyList"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-hr-policies/*"}
        )

    edit(root, IAM_FILE, widen)


def test_drift_function_role_permission(snapshot: Path) -> None:
    read_hr_bucket_from_vpc_role(snapshot)
    (finding,) = drift_findings(rows_from_graph(graph_of(EXAMPLE)), rows_from_graph(graph_of(snapshot)))
    assert finding.key == HR_AGENT
    assert finding.severity == "high"
    assert finding.details["changed"] == ["function_permissions", "functions"]
    details = [item.detail for item in finding.evidence]
    assert (
        "added since the previous build to what alias hr-policy-assistant/prod serves (version 2): "
        f"infra-vpc-provisioner-role CAN_READ {HR_BUCKET} (s3:GetObject)"
    ) in details
    assert all("vpc-api" not in detail for detail in details)


def test_same_snapshot_no_drift() -> None:
    assert drift_findings(rows_from_graph(graph_of(EXAMPLE)), rows_from_graph(graph_of(EXAMPLE))) == []


# -- configuration ----------------------------------------------------------------------


def test_config_reads_finding_tables(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[guardrails]\n"
        f'admins = ["{PLATFORM_ADMIN}"]\n'
        "[agents]\n"
        'production_alias_patterns = ["live-*"]\n'
        'production_tag_key = "stage"\n'
        'production_tag_values = ["live"]\n'
        "[bedrock]\n"
        'approved_regions = ["eu-west-1"]\n'
        'approved_accounts = ["111122223333"]\n',
        encoding="utf-8",
    )
    sensitivity = load_sensitivity(path)
    assert sensitivity.guardrail_admins == (PLATFORM_ADMIN,)
    assert sensitivity.production_reason("live-eu", {}) == "alias name matches live-*"
    assert sensitivity.production_reason("canary", {"Stage": "LIVE"}) == "tag Stage=LIVE"
    assert sensitivity.production_reason("prod", {}) is None
    assert sensitivity.approved_regions == ("eu-west-1",)
    assert sensitivity.approved_accounts == (ACCOUNT,)


def test_config_defaults_mark_prod_aliases() -> None:
    defaults = load_sensitivity(None)
    assert defaults.production_reason("prod", {}) == "alias name matches prod"
    assert defaults.production_reason("helpdesk-prod", {}) == "alias name matches *-prod"
    assert defaults.production_reason("product-faq", {}) is None
    assert defaults.production_reason("beta", {"environment": "production"}) == "tag environment=production"


def test_config_rejects_bad_admins(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[guardrails]\nadmins = "platform-admin"\n', encoding="utf-8")
    with pytest.raises(DeputyError, match=r"\[guardrails\]: admins must be a list of strings"):
        load_sensitivity(path)
    path.write_text('[agents]\nproduction_alias = ["prod"]\n', encoding="utf-8")
    with pytest.raises(DeputyError, match="unknown key 'production_alias'"):
        load_sensitivity(path)


def test_production_rule_by_alias_tag(snapshot: Path) -> None:
    stable = "V1S7QJ3M0B"
    write(snapshot, f"{HR_AGENT_DIR}/alias-tags/{stable}.json", {"tags": {"environment": "production"}})
    keys = sorted(f.key for f in findings_of(snapshot, "DG007"))
    assert f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent-alias/Q7HRX2KD4N/{stable}" in keys
    (finding,) = [f for f in findings_of(snapshot, "DG007") if f.key.endswith(stable)]
    assert (
        finding.evidence[0].detail
        == "alias hr-policy-assistant/stable-v1 counts as production: tag environment=production"
    )


def test_update_agent_with_pass_role(snapshot: Path) -> None:
    strong_role = f"arn:aws:iam::{ACCOUNT}:role/service-role/bedrock-network-admin"

    def add_role(document: Json) -> None:
        document["RoleDetailList"].append(
            {
                "Path": "/service-role/",
                "RoleName": "bedrock-network-admin",
                "RoleId": "AROABEDROCKNETADMIN01",
                "Arn": strong_role,
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "RolePolicyList": [
                    {
                        "PolicyName": "network-admin",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
                        },
                    }
                ],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        )

    edit(snapshot, IAM_FILE, add_role)
    erin = add_user(
        snapshot,
        "erin",
        [
            {"Effect": "Allow", "Action": "bedrock:UpdateAgent", "Resource": HELPDESK_AGENT},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": strong_role},
        ],
    )
    (finding,) = [f for f in findings_of(snapshot, "DG004") if f.key == f"{erin}|{HELPDESK_AGENT}"]
    assert finding.details["passable_roles"] == [strong_role]
    gained = {g["target"] for g in finding.details["gained"]}
    assert f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc" in gained
    assert (f"arn:aws:iam::{ACCOUNT}:user/erin#inline:erin-access", 1) in policy_refs(finding)
