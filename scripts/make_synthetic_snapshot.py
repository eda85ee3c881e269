"""Write a synthetic snapshot folder for measuring deputygraph at scale.

The folder has the layout and file shapes that `ingest.snapshot.load_snapshot` reads, the
same as examples/shared-hr-agent. It holds one account with IAM, S3, Lambda, Bedrock agent
and guardrail data in one region, and no CloudTrail data. It also holds an organization with
three SCPs: FullAWSAccess, a Deny of leaving the organization and a region allow-list. Every name,
id and date comes from `--seed`, so the same arguments always write the same files.

The account is split into teams, one IAM group each. Policies are shared the way real
accounts share them: every team has a few customer managed policies that its users,
workload roles and agent roles attach, and a handful of account-wide policies (a read-only
policy with wildcards, an "invoke any agent" policy, a power-user policy with NotAction,
AdministratorAccess) are attached sparingly. Some statements carry conditions that a
snapshot cannot decide (source IP, MFA). Others depend on the principal (a
`${aws:PrincipalTag/team}` variable, an `aws:PrincipalArn` condition in bucket policies), so
that both cached and uncached policy evaluations occur.

Usage: .venv/bin/python scripts/make_synthetic_snapshot.py OUT_DIR --roles 10000 --agents 1000
"""

from __future__ import annotations

import argparse
import json
import math
import random
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]

ACCOUNT = "111122223333"
MANAGEMENT_ACCOUNT = "999988887777"
VENDOR_ACCOUNT = "444455556666"
ORGANIZATION_ID = "o-s7n2k4x9qa"
ROOT_ID = "r-s7n2"
WORKLOADS_OU = "ou-s7n2-4kd8w1ze"
REGION = "us-east-1"
PARTITION = "aws"
CORPORATE_CIDR = "198.51.100.0/24"
FOUNDATION_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BASE_DATE = datetime(2023, 1, 9, 8, 0, 0, tzinfo=UTC)

TEAM_WORDS = (
    "payments",
    "search",
    "billing",
    "support",
    "analytics",
    "identity",
    "logistics",
    "marketing",
    "research",
    "platform",
    "security",
    "finance",
)
# Bucket purpose -> data-classification tag value. With the default sensitivity rules
# `confidential` and `restricted` are sensitive, and so is any name containing `tfstate`.
BUCKET_PURPOSES = (
    ("assets", "public"),
    ("logs", "internal"),
    ("exports", "internal"),
    ("reports", "confidential"),
    ("ml-data", "confidential"),
    ("hr-records", "restricted"),
    ("tfstate", "internal"),
)
WORKLOAD_SERVICES = ("ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com", "sagemaker.amazonaws.com")
VPC_ACTIONS = (
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateRoute",
    "ec2:CreateInternetGateway",
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupIngress",
)


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many of each thing the snapshot holds."""

    roles: int
    users: int
    groups: int
    agents: int
    functions: int
    buckets: int
    knowledge_bases: int
    guardrails: int

    @property
    def agent_roles(self) -> int:
        """Agent execution roles, each shared by up to three agents as in the example."""
        return math.ceil(self.agents / 3)

    @property
    def service_roles(self) -> int:
        """Roles that belong to a function, an agent or a knowledge base."""
        return self.functions + self.agent_roles + self.knowledge_bases

    @property
    def workload_roles(self) -> int:
        return self.roles - self.service_roles


@dataclass(slots=True)
class Team:
    """One team: its IAM group and the resources it owns, filled in as they are made."""

    name: str
    buckets: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    agent_ids: list[str] = field(default_factory=list)
    knowledge_bases: list[str] = field(default_factory=list)
    guardrails: list[str] = field(default_factory=list)
    app_roles: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ActionGroupSpec:
    group_id: str
    name: str
    function: str | None  # None for a return-of-control group


@dataclass(slots=True)
class AgentSpec:
    agent_id: str
    name: str
    team: Team
    role_arn: str
    versions: int
    groups: list[ActionGroupSpec]
    knowledge_base: str | None
    guardrail: str | None
    stable_alias: bool


class Generator:
    """Build the snapshot's JSON documents in memory, then write them under one folder."""

    def __init__(self, sizes: Sizes, seed: int) -> None:
        self.sizes = sizes
        self.rng = random.Random(seed)
        self.used_ids: set[str] = set()
        width = max(2, len(str(sizes.groups - 1)))
        self.teams = [Team(f"{TEAM_WORDS[index % len(TEAM_WORDS)]}{index:0{width}d}") for index in range(sizes.groups)]
        self.files: dict[str, JsonDict] = {}
        self.managed: dict[str, JsonDict] = {}  # policy ARN -> Policies entry
        self.attachments: dict[str, int] = {}
        self.users: list[JsonDict] = []
        self.groups: list[JsonDict] = []
        self.roles: list[JsonDict] = []
        self.agents: list[AgentSpec] = []
        self.function_users: dict[str, list[str]] = {}  # function name -> ids of agents calling it

    # -- ids, names and dates ---------------------------------------------------------

    def unique_id(self, length: int, alphabet: str, prefix: str = "") -> str:
        while True:
            value = prefix + "".join(self.rng.choice(alphabet) for _ in range(length))
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def bedrock_id(self) -> str:
        return self.unique_id(10, string.ascii_uppercase + string.digits)

    def iam_id(self, prefix: str) -> str:
        return self.unique_id(17, string.ascii_uppercase + "234567", prefix)

    def random_date(self) -> str:
        moment = BASE_DATE + timedelta(days=self.rng.randrange(700), seconds=self.rng.randrange(86400))
        return moment.isoformat()

    def happens_with(self, probability: float) -> bool:
        return self.rng.random() < probability

    # -- managed policies -------------------------------------------------------------

    def managed_policy(self, name: str, statements: list[JsonDict], *, path: str = "/", aws: bool = False) -> str:
        """Register a managed policy once and return its ARN."""
        owner = "aws" if aws else ACCOUNT
        arn = f"arn:{PARTITION}:iam::{owner}:policy{path}{name}"
        if arn not in self.managed:
            created = self.random_date()
            self.managed[arn] = {
                "PolicyName": name,
                "PolicyId": self.iam_id("ANPA"),
                "Arn": arn,
                "Path": path,
                "DefaultVersionId": "v1",
                "AttachmentCount": 0,
                "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": True,
                "CreateDate": created,
                "UpdateDate": created,
                "PolicyVersionList": [
                    {
                        "Document": {"Version": "2012-10-17", "Statement": statements},
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                        "CreateDate": created,
                    }
                ],
            }
        return arn

    def attach(self, arns: Sequence[str]) -> list[JsonDict]:
        attached = []
        for arn in arns:
            self.managed[arn]["AttachmentCount"] += 1
            attached.append({"PolicyName": self.managed[arn]["PolicyName"], "PolicyArn": arn})
        return attached

    def administrator_access(self) -> str:
        return self.managed_policy("AdministratorAccess", [_allow("*", "*")], aws=True)

    def lambda_basic_execution(self) -> str:
        actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
        return self.managed_policy(
            "AWSLambdaBasicExecutionRole", [_allow(actions, "*")], path="/service-role/", aws=True
        )

    def platform_read_only(self) -> str:
        actions = ["s3:Get*", "s3:List*", "ec2:Describe*", "bedrock:Get*", "bedrock:List*", "lambda:Get*"]
        return self.managed_policy("platform-read-only", [_allow(actions, "*", sid="ReadEverything")])

    def invoke_any_agent(self) -> str:
        return self.managed_policy("bedrock-invoke-any-agent", [_allow("bedrock:InvokeAgent", "*")])

    def power_user(self) -> str:
        statement = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}
        return self.managed_policy("power-user", [statement])

    def network_admin(self) -> str:
        statement = _allow(list(VPC_ACTIONS), "*", sid="ManageNetworks")
        statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": REGION}}
        return self.managed_policy("network-admin", [statement])

    def deny_delete_without_mfa(self) -> str:
        statement = {
            "Sid": "DenyDeleteWithoutMfa",
            "Effect": "Deny",
            "Action": "s3:DeleteObject",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
        return self.managed_policy("deny-object-delete-without-mfa", [statement])

    def team_tagged_data(self) -> str:
        """Attribute-based access: the bucket name must carry the caller's `team` tag."""
        resource = f"arn:{PARTITION}:s3:::synth-${{aws:PrincipalTag/team}}-*/*"
        return self.managed_policy("team-tagged-data", [_allow("s3:GetObject", resource, sid="ReadOwnTeamData")])

    def workload_boundary(self) -> str:
        statements = [
            _allow(["s3:*", "bedrock:*", "lambda:*", "logs:*", "ec2:Describe*", "sts:AssumeRole"], "*"),
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        ]
        return self.managed_policy("workload-boundary", statements, path="/boundaries/")

    def team_read(self, team: Team) -> str:
        resources = [f"arn:{PARTITION}:s3:::synth-{team.name}-*", f"arn:{PARTITION}:s3:::synth-{team.name}-*/*"]
        return self.managed_policy(
            f"{team.name}-data-read", [_allow(["s3:GetObject", "s3:ListBucket"], resources, sid="ReadTeamBuckets")]
        )

    def team_write(self, team: Team) -> str:
        statement = _allow(
            ["s3:PutObject", "s3:DeleteObject"], f"arn:{PARTITION}:s3:::synth-{team.name}-*/*", sid="WriteFromOffice"
        )
        statement["Condition"] = {"IpAddress": {"aws:SourceIp": CORPORATE_CIDR}}
        return self.managed_policy(f"{team.name}-data-write", [statement])

    def team_invoke_functions(self, team: Team) -> str:
        resource = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{team.name}-*"
        return self.managed_policy(f"{team.name}-invoke-functions", [_allow("lambda:InvokeFunction", resource)])

    def team_agent_users(self, team: Team, index: int) -> str:
        """InvokeAgent on every alias of the team's agents: wildcard for a third of teams."""
        if index % 3 == 0 or not team.agent_ids:
            resource: str | list[str] = f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:agent-alias/*"
        else:
            resource = [
                f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:agent-alias/{agent_id}/*" for agent_id in team.agent_ids
            ]
        return self.managed_policy(f"{team.name}-agent-users", [_allow("bedrock:InvokeAgent", resource)])

    def team_developer(self, team: Team, index: int) -> str:
        statements = [
            _allow(
                ["bedrock:GetAgent", "bedrock:ListAgents", "bedrock:ListAgentAliases", "s3:ListAllMyBuckets"],
                "*",
                sid="Browse",
            ),
            _allow("sts:AssumeRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/{team.name}-app-*", sid="AssumeTeamRoles"),
        ]
        if index % 2 == 0:
            statements.append(_allow("bedrock:InvokeAgent", "*", sid="InvokeAnyAgent"))
        return self.managed_policy(f"{team.name}-developer", statements)

    # -- resources --------------------------------------------------------------------

    def make_buckets(self) -> None:
        for index in range(self.sizes.buckets):
            team = self.teams[index % len(self.teams)]
            purpose, classification = BUCKET_PURPOSES[self.rng.randrange(len(BUCKET_PURPOSES))]
            name = f"synth-{team.name}-{purpose}-{index:05d}"
            team.buckets.append(name)
            folder = f"{ACCOUNT}/s3/{name}"
            if self.happens_with(0.9):
                tags = [{"Key": "data-classification", "Value": classification}, {"Key": "team", "Value": team.name}]
                self.files[f"{folder}/tagging.json"] = {"TagSet": tags}
            statements = self.bucket_statements(name, team)
            if statements:
                document = {"Version": "2012-10-17", "Statement": statements}
                self.files[f"{folder}/policy.json"] = {"Policy": json.dumps(document, separators=(",", ":"))}
        self.files[f"{ACCOUNT}/s3/buckets.json"] = {
            "Buckets": [
                {"Name": name, "CreationDate": self.random_date(), "BucketRegion": REGION}
                for team in self.teams
                for name in team.buckets
            ],
            "Owner": {"ID": self.unique_id(64, "0123456789abcdef")},
        }

    def bucket_statements(self, name: str, team: Team) -> list[JsonDict]:
        bucket = f"arn:{PARTITION}:s3:::{name}"
        statements: list[JsonDict] = []
        if self.happens_with(0.5):
            statements.append(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket, f"{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            )
        roll = self.rng.random()
        if roll < 0.1:
            statements.append(
                {
                    "Sid": "OnlyTeamApplications",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket, f"{bucket}/*"],
                    "Condition": {
                        "StringNotLike": {"aws:PrincipalArn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{team.name}-app-*"}
                    },
                }
            )
        elif roll < 0.2:
            statements.append(
                {
                    "Sid": "VendorReadsExports",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{PARTITION}:iam::{VENDOR_ACCOUNT}:root"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket}/*",
                }
            )
        return statements

    def make_guardrails(self) -> None:
        for index in range(self.sizes.guardrails):
            team = self.teams[index % len(self.teams)]
            guardrail_id = self.unique_id(12, string.ascii_lowercase + string.digits)
            team.guardrails.append(guardrail_id)
            self.files[f"{ACCOUNT}/{REGION}/bedrock/guardrails/{guardrail_id}.json"] = {
                "name": f"{team.name}-guardrail-{index}",
                "guardrailId": guardrail_id,
                "guardrailArn": f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:guardrail/{guardrail_id}",
                "version": "DRAFT",
                "status": "READY",
                "createdAt": self.random_date(),
                "updatedAt": self.random_date(),
                "blockedInputMessaging": "Sorry, the model cannot answer this question.",
                "blockedOutputsMessaging": "Sorry, the model cannot answer this question.",
            }

    def make_functions(self) -> None:
        """Create the functions and their roles.

        Their resource-based policies name the agents that call them, so `function_policies`
        writes them after the agents exist.
        """
        listing = []
        for index in range(self.sizes.functions):
            team = self.teams[index % len(self.teams)]
            name = f"{team.name}-fn-{index:05d}"
            team.functions.append(name)
            self.function_users[name] = []
            role_arn = self.add_role(
                f"{name}-role",
                trust=_service_trust("lambda.amazonaws.com"),
                attached=[self.lambda_basic_execution()],
                inline=[("function-access", self.function_statements(team))],
            )
            listing.append(
                {
                    "FunctionName": name,
                    "FunctionArn": _function_arn(name),
                    "Runtime": "python3.12",
                    "Role": role_arn,
                    "Handler": "app.handler",
                    "CodeSize": self.rng.randrange(2000, 60000),
                    "Timeout": 30,
                    "MemorySize": 256,
                    "LastModified": self.random_date(),
                    "Version": "$LATEST",
                    "PackageType": "Zip",
                    "Architectures": ["arm64"],
                }
            )
        self.files[f"{ACCOUNT}/{REGION}/lambda/functions.json"] = {"Functions": listing}

    def function_statements(self, team: Team) -> list[JsonDict]:
        roll = self.rng.random()
        if roll < 0.05:
            return [_allow(list(VPC_ACTIONS), "*", sid="ProvisionNetworking")]
        if roll < 0.15:
            return [_allow(["s3:GetObject", "s3:PutObject"], "*", sid="AnyObject")]
        if roll < 0.25 or not team.buckets:
            table = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{team.name}-*"
            return [_allow(["dynamodb:GetItem", "dynamodb:Query"], table, sid="ReadTables")]
        bucket = self.rng.choice(team.buckets)
        resources = [f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/*"]
        return [_allow(["s3:GetObject", "s3:ListBucket"], resources, sid="ReadOneBucket")]

    def function_policies(self) -> None:
        for team in self.teams:
            for name in team.functions:
                statement = self.function_policy_statement(name, team)
                if statement is None:
                    continue
                document = {"Version": "2012-10-17", "Id": "default", "Statement": [statement]}
                self.files[f"{ACCOUNT}/{REGION}/lambda/{name}/policy.json"] = {
                    "Policy": json.dumps(document, separators=(",", ":")),
                    "RevisionId": self.unique_id(32, "0123456789abcdef"),
                }

    def function_policy_statement(self, name: str, team: Team) -> JsonDict | None:
        callers = self.function_users[name]
        arn = _function_arn(name)
        if not callers:
            if team.app_roles and self.happens_with(0.5):
                principal = {"AWS": self.rng.choice(team.app_roles)}
                return {
                    "Sid": "app-invoke",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "lambda:InvokeFunction",
                    "Resource": arn,
                }
            return None
        if self.happens_with(0.05):
            return None  # the agent's action group cannot call this function
        statement: JsonDict = {
            "Sid": "bedrock-agent-invoke",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
        }
        if self.happens_with(0.65):
            statement["Condition"] = {
                "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                "ArnLike": {"AWS:SourceArn": f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:agent/{callers[0]}"},
            }
        return statement

    def make_knowledge_bases(self) -> None:
        for index in range(self.sizes.knowledge_bases):
            team = self.teams[index % len(self.teams)]
            kb_id = self.bedrock_id()
            team.knowledge_bases.append(kb_id)
            bucket = self.rng.choice(team.buckets) if team.buckets else None
            kb_arn = f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{kb_id}"
            statements = [_allow("bedrock:InvokeModel", f"arn:{PARTITION}:bedrock:{REGION}::foundation-model/*")]
            if bucket is not None:
                resources = [f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/*"]
                statements.append(_allow(["s3:GetObject", "s3:ListBucket"], resources, sid="ReadSource"))
            trust = _service_trust(
                "bedrock.amazonaws.com",
                {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:knowledge-base/*"},
                },
            )
            role_arn = self.add_role(
                f"AmazonBedrockExecutionRoleForKnowledgeBase_{kb_id.lower()}",
                path="/service-role/",
                trust=trust,
                inline=[("knowledge-base-access", statements)],
            )
            folder = f"{ACCOUNT}/{REGION}/bedrock-agent/knowledge-bases/{kb_id}"
            self.files[f"{folder}/knowledge-base.json"] = {
                "knowledgeBase": {
                    "knowledgeBaseId": kb_id,
                    "name": f"{team.name}-kb-{index}",
                    "knowledgeBaseArn": kb_arn,
                    "roleArn": role_arn,
                    "knowledgeBaseConfiguration": {"type": "VECTOR"},
                    "status": "ACTIVE",
                    "createdAt": self.random_date(),
                    "updatedAt": self.random_date(),
                }
            }
            if bucket is None:
                continue
            source_id = self.bedrock_id()
            self.files[f"{folder}/data-sources/{source_id}.json"] = {
                "dataSource": {
                    "knowledgeBaseId": kb_id,
                    "dataSourceId": source_id,
                    "name": f"{bucket}-source",
                    "status": "AVAILABLE",
                    "dataSourceConfiguration": {
                        "type": "S3",
                        "s3Configuration": {"bucketArn": f"arn:{PARTITION}:s3:::{bucket}"},
                    },
                    "createdAt": self.random_date(),
                    "updatedAt": self.random_date(),
                }
            }

    # -- agents -----------------------------------------------------------------------

    def make_agents(self) -> None:
        agent_roles: list[str] = []
        for index in range(self.sizes.agent_roles):
            team = self.teams[index % len(self.teams)]
            agent_roles.append(self.add_agent_role(index, team))
        for index in range(self.sizes.agents):
            role_index = index // 3
            team = self.teams[role_index % len(self.teams)]
            self.agents.append(self.agent_spec(index, team, agent_roles[role_index]))
        for agent in self.agents:
            self.write_agent(agent)

    def add_agent_role(self, index: int, team: Team) -> str:
        statements = [
            _allow("bedrock:InvokeModel", f"arn:{PARTITION}:bedrock:{REGION}::foundation-model/*", sid="Models"),
            _allow("bedrock:Retrieve", f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:knowledge-base/*", sid="Retrieve"),
        ]
        if self.happens_with(0.25):
            statements.append(_allow(["s3:GetObject", "s3:ListBucket"], "*", sid="ReadAnyObject"))
        elif team.buckets:
            bucket = self.rng.choice(team.buckets)
            resources = [f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/*"]
            statements.append(_allow(["s3:GetObject", "s3:ListBucket"], resources, sid="ReadOneBucket"))
        policy = self.managed_policy(f"agent-execution-{index:05d}", statements, path="/service-role/")
        condition = {"StringEquals": {"aws:SourceAccount": ACCOUNT}} if self.happens_with(0.6) else None
        return self.add_role(
            f"AmazonBedrockExecutionRoleForAgents_{team.name}_{index:05d}",
            path="/service-role/",
            trust=_service_trust("bedrock.amazonaws.com", condition),
            attached=[policy],
        )

    def agent_spec(self, index: int, team: Team, role_arn: str) -> AgentSpec:
        agent_id = self.bedrock_id()
        team.agent_ids.append(agent_id)
        groups: list[ActionGroupSpec] = []
        for _ in range(self.rng.randint(1, 3)):
            function = None
            if team.functions and self.happens_with(0.8):
                function = self.rng.choice(team.functions)
                self.function_users[function].append(agent_id)
            groups.append(ActionGroupSpec(self.bedrock_id(), f"actions-{len(groups) + 1}", function))
        knowledge_base = None
        if team.knowledge_bases and self.happens_with(0.5):
            knowledge_base = self.rng.choice(team.knowledge_bases)
        guardrail = None
        if team.guardrails and self.happens_with(0.3):
            guardrail = self.rng.choice(team.guardrails)
        versions = self.rng.choice((1, 1, 2, 2, 3))
        return AgentSpec(
            agent_id=agent_id,
            name=f"{team.name}-assistant-{index:05d}",
            team=team,
            role_arn=role_arn,
            versions=versions,
            groups=groups,
            knowledge_base=knowledge_base,
            guardrail=guardrail,
            stable_alias=versions >= 2 and self.happens_with(0.4),
        )

    def write_agent(self, agent: AgentSpec) -> None:
        folder = f"{ACCOUNT}/{REGION}/bedrock-agent/agents/{agent.agent_id}"
        agent_arn = f"arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT}:agent/{agent.agent_id}"
        settings: JsonDict = {
            "agentId": agent.agent_id,
            "agentName": agent.name,
            "agentArn": agent_arn,
            "agentStatus": "PREPARED",
            "foundationModel": FOUNDATION_MODEL,
            "idleSessionTTLInSeconds": 600,
            "agentResourceRoleArn": agent.role_arn,
            "createdAt": self.random_date(),
            "updatedAt": self.random_date(),
        }
        if agent.guardrail is not None:
            settings["guardrailConfiguration"] = {"guardrailIdentifier": agent.guardrail, "guardrailVersion": "DRAFT"}
        self.files[f"{folder}/agent.json"] = {"agent": {**settings, "agentVersion": "DRAFT"}}

        # Version n has the first n action groups, so later versions gain actions. DRAFT has all.
        for version in [*(str(number) for number in range(1, agent.versions + 1)), "DRAFT"]:
            count = len(agent.groups) if version == "DRAFT" else min(int(version), len(agent.groups))
            version_folder = f"{folder}/versions/{version}"
            if version != "DRAFT":
                self.files[f"{version_folder}/agent-version.json"] = {"agentVersion": {**settings, "version": version}}
            for group in agent.groups[:count]:
                self.files[f"{version_folder}/action-groups/{group.group_id}.json"] = self.action_group(
                    agent, version, group
                )
            summaries = []
            if agent.knowledge_base is not None:
                summaries.append(
                    {
                        "knowledgeBaseId": agent.knowledge_base,
                        "knowledgeBaseState": "ENABLED",
                        "updatedAt": self.random_date(),
                    }
                )
            self.files[f"{version_folder}/knowledge-bases.json"] = {"agentKnowledgeBaseSummaries": summaries}

        aliases = [self.alias("TSTALIASID", "AgentTestAlias", "DRAFT"), self.alias(None, "prod", str(agent.versions))]
        if agent.stable_alias:
            aliases.append(self.alias(None, "stable", str(agent.versions - 1)))
        self.files[f"{folder}/aliases.json"] = {"agentAliasSummaries": aliases}

    def action_group(self, agent: AgentSpec, version: str, group: ActionGroupSpec) -> JsonDict:
        executor: JsonDict = (
            {"lambda": _function_arn(group.function)} if group.function else {"customControl": "RETURN_CONTROL"}
        )
        return {
            "agentActionGroup": {
                "agentId": agent.agent_id,
                "agentVersion": version,
                "actionGroupId": group.group_id,
                "actionGroupName": group.name,
                "actionGroupExecutor": executor,
                "actionGroupState": "ENABLED",
                "createdAt": self.random_date(),
                "updatedAt": self.random_date(),
            }
        }

    def alias(self, alias_id: str | None, name: str, version: str) -> JsonDict:
        return {
            "agentAliasId": alias_id or self.bedrock_id(),
            "agentAliasName": name,
            "routingConfiguration": [{"agentVersion": version}],
            "agentAliasStatus": "PREPARED",
            "createdAt": self.random_date(),
            "updatedAt": self.random_date(),
        }

    # -- principals -------------------------------------------------------------------

    def add_role(
        self,
        name: str,
        *,
        trust: JsonDict,
        path: str = "/",
        attached: Sequence[str] = (),
        inline: Sequence[tuple[str, list[JsonDict]]] = (),
        boundary: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role{path}{name}"
        role: JsonDict = {
            "Path": path,
            "RoleName": name,
            "RoleId": self.iam_id("AROA"),
            "Arn": arn,
            "CreateDate": self.random_date(),
            "AssumeRolePolicyDocument": trust,
            "InstanceProfileList": [],
            "RolePolicyList": [
                {"PolicyName": policy_name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
                for policy_name, statements in inline
            ],
            "AttachedManagedPolicies": self.attach(attached),
            "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()],
            "RoleLastUsed": {},
        }
        if boundary is not None:
            self.managed[boundary]["PermissionsBoundaryUsageCount"] += 1
            role["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        self.roles.append(role)
        return arn

    def name_workload_roles(self) -> None:
        """Name the application roles first, because trust and function policies refer to them."""
        for index in range(self.sizes.workload_roles):
            team = self.teams[index % len(self.teams)]
            team.app_roles.append(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{team.name}-app-{index:05d}")

    def make_workload_roles(self) -> None:
        """Fill the remaining role count with application roles, each owned by one team."""
        for index in range(self.sizes.workload_roles):
            self.add_workload_role(index, self.teams[index % len(self.teams)])

    def add_workload_role(self, index: int, team: Team) -> None:
        choices: list[tuple[float, str]] = [
            (0.5, self.team_read(team)),
            (0.2, self.team_write(team)),
            (0.15, self.platform_read_only()),
            (0.1, self.team_invoke_functions(team)),
            (0.08, self.team_agent_users(team, self.teams.index(team))),
            (0.05, self.team_tagged_data()),
            (0.03, self.invoke_any_agent()),
            (0.2, self.deny_delete_without_mfa()),
            (0.01, self.power_user()),
            (0.01, self.network_admin()),
            (0.005, self.administrator_access()),
        ]
        attached = [arn for probability, arn in choices if self.happens_with(probability)]
        inline = []
        if team.buckets and self.happens_with(0.2):
            bucket = self.rng.choice(team.buckets)
            inline.append(
                ("reports", [_allow("s3:GetObject", f"arn:{PARTITION}:s3:::{bucket}/reports/*", sid="ReadReports")])
            )
        boundary = self.workload_boundary() if self.happens_with(0.1) else None
        self.add_role(
            f"{team.name}-app-{index:05d}",
            trust=self.workload_trust(team),
            attached=attached,
            inline=inline,
            boundary=boundary,
            tags={"team": team.name},
        )

    def workload_trust(self, team: Team) -> JsonDict:
        roll = self.rng.random()
        if roll < 0.55:
            return _service_trust(self.rng.choice(WORKLOAD_SERVICES))
        if roll < 0.7:
            statement: JsonDict = {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        elif roll < 0.85:
            statement = {
                "Effect": "Allow",
                "Principal": {"AWS": self.rng.choice(team.app_roles)},
                "Action": "sts:AssumeRole",
            }
        else:
            statement = {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{VENDOR_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": self.unique_id(16, string.ascii_lowercase)}},
            }
        return {"Version": "2012-10-17", "Statement": [statement]}

    def make_groups(self) -> None:
        for index, team in enumerate(self.teams):
            self.add_group(team.name, [self.team_developer(team, index)])
        self.add_group("admins", [self.administrator_access()])
        self.add_group("auditors", [self.platform_read_only()])

    def add_group(self, name: str, attached: Sequence[str]) -> None:
        self.groups.append(
            {
                "Path": "/",
                "GroupName": name,
                "GroupId": self.iam_id("AGPA"),
                "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:group/{name}",
                "CreateDate": self.random_date(),
                "GroupPolicyList": [],
                "AttachedManagedPolicies": self.attach(attached),
            }
        )

    def make_users(self) -> None:
        for index in range(self.sizes.users):
            team = self.teams[index % len(self.teams)]
            name = f"{team.name}-user-{index:05d}"
            groups = [team.name]
            if self.happens_with(0.03):
                groups.append("admins")
            if self.happens_with(0.1):
                groups.append("auditors")
            inline = []
            if team.buckets and self.happens_with(0.3):
                bucket = self.rng.choice(team.buckets)
                statement = _allow("s3:GetObject", f"arn:{PARTITION}:s3:::{bucket}/*", sid="ReadFromOffice")
                statement["Condition"] = {"IpAddress": {"aws:SourceIp": CORPORATE_CIDR}}
                inline.append(
                    {"PolicyName": "office-data", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
                )
            self.users.append(
                {
                    "Path": "/",
                    "UserName": name,
                    "UserId": self.iam_id("AIDA"),
                    "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:user/{name}",
                    "CreateDate": self.random_date(),
                    "GroupList": groups,
                    "UserPolicyList": inline,
                    "AttachedManagedPolicies": [],
                    "Tags": [{"Key": "team", "Value": team.name}],
                }
            )

    # -- organization -----------------------------------------------------------------

    def make_organization(self) -> None:
        base = "organization"
        self.files[f"{base}/organization.json"] = {
            "Organization": {
                "Id": ORGANIZATION_ID,
                "Arn": f"arn:{PARTITION}:organizations::{MANAGEMENT_ACCOUNT}:organization/{ORGANIZATION_ID}",
                "FeatureSet": "ALL",
                "MasterAccountArn": (
                    f"arn:{PARTITION}:organizations::{MANAGEMENT_ACCOUNT}:account/{ORGANIZATION_ID}/{MANAGEMENT_ACCOUNT}"
                ),
                "MasterAccountId": MANAGEMENT_ACCOUNT,
                "MasterAccountEmail": "aws-management@synthetic.example",
            }
        }
        root_arn = f"arn:{PARTITION}:organizations::{MANAGEMENT_ACCOUNT}:root/{ORGANIZATION_ID}/{ROOT_ID}"
        self.files[f"{base}/roots.json"] = {
            "Roots": [
                {
                    "Id": ROOT_ID,
                    "Arn": root_arn,
                    "Name": "Root",
                    "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
                }
            ]
        }
        self.files[f"{base}/accounts.json"] = {
            "Accounts": [
                {
                    "Id": account,
                    "Arn": f"arn:{PARTITION}:organizations::{MANAGEMENT_ACCOUNT}:account/{ORGANIZATION_ID}/{account}",
                    "Name": name,
                    "Status": "ACTIVE",
                }
                for account, name in ((MANAGEMENT_ACCOUNT, "management"), (ACCOUNT, "workloads"))
            ]
        }
        self.files[f"{base}/parents/{MANAGEMENT_ACCOUNT}.json"] = {"Parents": [{"Id": ROOT_ID, "Type": "ROOT"}]}
        self.files[f"{base}/parents/{WORKLOADS_OU}.json"] = {"Parents": [{"Id": ROOT_ID, "Type": "ROOT"}]}
        self.files[f"{base}/parents/{ACCOUNT}.json"] = {
            "Parents": [{"Id": WORKLOADS_OU, "Type": "ORGANIZATIONAL_UNIT"}]
        }

        full_access = {"Version": "2012-10-17", "Statement": [_allow("*", "*")]}
        self.org_policy(
            "p-FullAWSAccess",
            "FullAWSAccess",
            full_access,
            [ROOT_ID, WORKLOADS_OU, MANAGEMENT_ACCOUNT, ACCOUNT],
            aws_managed=True,
        )
        leave = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
        }
        self.org_policy("p-7dq2m8x4lv", "DenyLeaveOrganization", leave, [ROOT_ID])
        regions = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyOtherRegions",
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*", "route53:*"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": [REGION, "eu-west-1"]}},
                }
            ],
        }
        self.org_policy("p-3kw9z5n1rb", "AllowedRegions", regions, [WORKLOADS_OU])

    def org_policy(
        self, policy_id: str, name: str, document: JsonDict, targets: list[str], *, aws_managed: bool = False
    ) -> None:
        owner = "aws" if aws_managed else MANAGEMENT_ACCOUNT
        scope = "" if aws_managed else f"{ORGANIZATION_ID}/"
        self.files[f"organization/policies/{policy_id}.json"] = {
            "Policy": {
                "PolicySummary": {
                    "Id": policy_id,
                    "Arn": f"arn:{PARTITION}:organizations::{owner}:policy/{scope}service_control_policy/{policy_id}",
                    "Name": name,
                    "Type": "SERVICE_CONTROL_POLICY",
                    "AwsManaged": aws_managed,
                },
                "Content": json.dumps(document),
            }
        }
        self.files[f"organization/policies/{policy_id}/targets.json"] = {
            "Targets": [{"TargetId": target, "Name": target, "Type": _target_type(target)} for target in targets]
        }

    # -- assembly ---------------------------------------------------------------------

    def build(self) -> None:
        self.make_buckets()
        self.make_guardrails()
        self.name_workload_roles()
        self.make_functions()
        self.make_knowledge_bases()
        self.make_agents()
        self.function_policies()
        self.make_workload_roles()
        self.make_groups()
        self.make_users()
        self.make_organization()
        self.files[f"{ACCOUNT}/iam/authorization-details.json"] = {
            "UserDetailList": self.users,
            "GroupDetailList": self.groups,
            "RoleDetailList": self.roles,
            "Policies": list(self.managed.values()),
        }
        self.files["manifest.json"] = {
            "format_version": 1,
            "collected_at": "2025-01-15T00:00:00Z",
            "partition": PARTITION,
        }

    def write(self, root: Path) -> None:
        for relative, document in sorted(self.files.items()):
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _allow(actions: str | list[str], resources: str | list[str], *, sid: str | None = None) -> JsonDict:
    statement: JsonDict = {"Effect": "Allow", "Action": actions, "Resource": resources}
    return {"Sid": sid, **statement} if sid else statement


def _service_trust(service: str, condition: JsonDict | None = None) -> JsonDict:
    statement: JsonDict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def _function_arn(name: str) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _target_type(target: str) -> str:
    if target.startswith("r-"):
        return "ROOT"
    if target.startswith("ou-"):
        return "ORGANIZATIONAL_UNIT"
    return "ACCOUNT"


def _sizes(args: argparse.Namespace) -> Sizes:
    """Work out the counts from the options; raise ValueError with the fix for an invalid one."""
    for option in ("roles", "users", "agents", "functions", "buckets"):
        value = getattr(args, option)
        if value is not None and value < 0:
            raise ValueError(f"--{option} {value} is invalid; give 0 or more")
    if args.groups < 1:
        raise ValueError(f"--groups {args.groups} is invalid; give 1 or more")
    agents = args.agents if args.agents is not None else max(1, args.roles // 10)
    sizes = Sizes(
        roles=args.roles,
        users=args.users if args.users is not None else max(1, args.roles // 10),
        groups=args.groups,
        agents=agents,
        functions=args.functions if args.functions is not None else 2 * agents,
        buckets=args.buckets if args.buckets is not None else max(1, args.roles // 20),
        knowledge_bases=math.ceil(agents / 2),
        guardrails=math.ceil(agents / 10),
    )
    if sizes.workload_roles < 0:
        raise ValueError(
            f"--roles {sizes.roles} is too small, because the functions, agents and knowledge bases alone "
            f"need {sizes.service_roles} roles; raise --roles or lower --agents"
        )
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic deputygraph snapshot of one AWS account.")
    parser.add_argument("out", type=Path, help="folder to create; it must not exist yet")
    parser.add_argument("--roles", type=int, default=1000, help="IAM roles in total, service roles included")
    parser.add_argument("--users", type=int, help="IAM users (default: roles / 10)")
    parser.add_argument("--groups", type=int, default=20, help="team groups; 'admins' and 'auditors' are added")
    parser.add_argument("--agents", type=int, help="Bedrock agents (default: roles / 10)")
    parser.add_argument("--functions", type=int, help="Lambda functions, one role each (default: 2 * agents)")
    parser.add_argument("--buckets", type=int, help="S3 buckets (default: roles / 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    args = parser.parse_args(argv)

    if args.out.exists():
        parser.error(f"{args.out} already exists; choose a new folder")
    try:
        sizes = _sizes(args)
    except ValueError as error:
        parser.error(str(error))
    generator = Generator(sizes, args.seed)
    generator.build()
    generator.write(args.out)
    summary = {
        "snapshot": str(args.out),
        "seed": args.seed,
        "roles": len(generator.roles),
        "users": len(generator.users),
        "groups": len(generator.groups),
        "managed_policies": len(generator.managed),
        "agents": sizes.agents,
        "functions": sizes.functions,
        "buckets": sizes.buckets,
        "knowledge_bases": sizes.knowledge_bases,
        "guardrails": sizes.guardrails,
        "files": len(generator.files),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
