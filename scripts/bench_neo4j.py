"""Measure the Neo4j graph store: `GraphStore.load` throughput and query latency.

The graph is synthetic and made in memory with a fixed seed, so the benchmark measures the
store and not the policy evaluator: no snapshot is read and no policy is evaluated. Its
node and relationship properties have the shapes that `engine.graph` writes (the
`examples/shared-hr-agent` build was the model). The graph is made of accounts of up to
20 teams each. Every team has users in a group, and workload, deploy and admin roles with
`CAN_ASSUME` chains between them. It also has S3 buckets (one in four sensitive), Lambda
functions with their execution roles, and Bedrock agents. Their aliases route to versions
with action groups, a knowledge base with data sources, and a guardrail. Each account adds platform
admin, auditor and vendor roles, a `developers` group allowed to invoke every agent of
the account, and the VPC provisioning API nodes of two regions. Teams are added until the
graph has at least `--relationships` relationships.

Steps, each timed with `time.perf_counter`:

1. Generate the graph.
2. Load it twice with `GraphStore.load`. The second load writes its build beside the
   first, makes it current and then prunes the first one (`--keep 1`). Each load is split
   into phases: schema, node rows (Python) and the build record, nodes, relationship rows
   (Python), relationships, the swap of the current-build pointer, and prune. The client's
   CPU time and the server's (from its JVM) are recorded for each load.
3. Run `blast_radius_principal` for a fixed random sample of users and roles, three in
   four of them able to invoke an agent, and `who_can_invoke_agent` for a sample of
   agents. Queries go through `GraphStore.run_read` with parameters bound by
   `queries.library`. A first pass warms the caches, and the second pass is reported.

The 1-minute load average is recorded at the start of every step, because the machine
may be shared. `--batch-size` replaces `queries.store.BATCH_SIZE` for one run, to compare
transaction sizes. The result is one JSON line on standard output; progress goes to standard
error.

`--timeout` bounds the whole run, and `--query-timeout` bounds each query. A watchdog
thread terminates this run's transactions on the server when either runs out. It finds
them through the Bolt user agent of this process, so other clients of the same server
are left alone. A load that is stopped leaves its build marked `failed`. Its nodes are
left in the database when the cleanup is stopped too.

The load makes its build current, so run the benchmark against a server that nothing else
uses (docs/neo4j-local.md shows how to run a second one). The script refuses to replace a
current build that it did not write unless `--replace-current` is given.

Usage:

    NEO4J_URI=bolt://127.0.0.1:7688 NEO4J_PASSWORD=... \
        .venv/bin/python scripts/bench_neo4j.py --relationships 1000000 --timeout 3000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import random
import resource
import string
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from neo4j.exceptions import DriverError, Neo4jError

import neo4j
import queries.store
from engine.authorizer import Authorizer
from engine.graph import DeputyGraph, condition_text
from engine.inventory import Snapshot
from engine.model import STRUCTURE_SENTENCES, TECHNIQUES, VPC_PROVISIONING_ACTIONS, Label, Rel
from engine.sensitivity import Sensitivity
from neo4j import Driver, GraphDatabase
from queries.library import query
from queries.store import BuildRecord, GraphStore, Neo4jSettings, StoreError

logger = logging.getLogger("bench_neo4j")

SNAPSHOT_PREFIX = "synthetic:bench_neo4j"
PARTITION = "aws"
REGIONS = ("us-east-1", "eu-west-1")
TEAMS_PER_ACCOUNT = 20
USERS_PER_TEAM = 12
APP_ROLES_PER_TEAM = 6
BUCKETS_PER_TEAM = 15
FUNCTIONS_PER_TEAM = 4
AGENTS_PER_TEAM = 2
VERSIONS = ("DRAFT", "1", "2")
ACTION_GROUPS_PER_VERSION = 2
GUARDRAILS_PER_ACCOUNT = 3
PLATFORM_ADMINS = 3  # per account
AUDITORS = 2  # per account
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject"]
CONFIGURE_ACTIONS = ["bedrock:UpdateAgent", "bedrock:CreateAgentActionGroup", "bedrock:PrepareAgent"]
GUARDRAIL_ACTIONS = ["bedrock:UpdateGuardrail", "bedrock:DeleteGuardrail"]
VENDOR_ACCOUNTS = ("444455556666", "777788889999")
CORPORATE_CIDR = "198.51.100.0/24"
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
    "catalog",
    "pricing",
    "fraud",
    "hr",
    "legal",
)
BUCKET_WORDS = ("exports", "reports", "uploads", "backups", "datasets", "logs", "artifacts", "documents")
ID_ALPHABET = string.ascii_uppercase + string.digits

MFA_CONDITION: dict[str, Any] = {
    "effect": "allow-if",
    "operator": "Bool",
    "key": "aws:MultiFactorAuthPresent",
    "values": ["true"],
}
SOURCE_IP_CONDITION: dict[str, Any] = {
    "effect": "allow-if",
    "operator": "IpAddress",
    "key": "aws:SourceIp",
    "values": [CORPORATE_CIDR],
}


# -- the synthetic graph ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """One policy document, for writing its statements in the shape of `Statement.describe()`."""

    arn: str
    name: str
    kind: str = "identity"

    def allow(
        self,
        index: int,
        sid: str | None,
        actions: Sequence[str],
        resources: Sequence[str] | None = None,
        *,
        condition: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        described: dict[str, Any] = {
            "policy": self.arn,
            "policy_name": self.name,
            "policy_kind": self.kind,
            "statement_index": index,
            "sid": sid,
            "effect": "Allow",
            "Action": list(actions),
        }
        if resources is not None:
            described["Resource"] = list(resources)
        if condition is not None:
            described["Condition"] = dict(condition)
        return described


def _statement_ref(described: Mapping[str, Any]) -> str:
    ref = f"{described['policy']}#{described['statement_index']}"
    return f"{ref}({described['sid']})" if described["sid"] else ref


def grant(
    rel: Rel,
    actions: Sequence[str],
    statements: Sequence[dict[str, Any]],
    conditions: Sequence[dict[str, Any]] = (),
    note: str | None = None,
) -> dict[str, Any]:
    """Build the properties of a permission edge, as `engine.graph.edge_properties` writes them.

    The reason is the sentence of the relationship type, then the granting statements
    sorted by reference, then the undecided conditions. Edges granted by the same
    statements share one such dict; networkx copies it into each edge's own dict.
    """
    technique, sentence = TECHNIQUES.get(rel, ("policy-check", "is allowed ({actions})"))
    ordered = sorted(statements, key=_statement_ref)
    reason = sentence.format(actions=", ".join(actions))
    reason += ", granted by " + ", ".join(_statement_ref(described) for described in ordered)
    if conditions:
        reason += "; " + "; ".join(condition_text(condition) for condition in conditions)
    properties: dict[str, Any] = {
        "rel": str(rel),
        "actions": list(actions),
        "conditional": bool(conditions),
        "conditions": list(conditions),
        "statements": ordered,
        "technique": technique,
        "reason": reason,
    }
    if note is not None:
        properties["note"] = note
        properties["reason"] += f" ({note})"
    return properties


@dataclass(slots=True)
class Account:
    """One account's resources, which the account-wide roles reach after all its teams exist."""

    account_id: str
    buckets: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    guardrails: list[str] = field(default_factory=list)
    vpc_apis: dict[str, list[str]] = field(default_factory=dict)  # region -> node ids
    assumable_roles: list[str] = field(default_factory=list)
    developers: list[str] = field(default_factory=list)
    previous_admin: str | None = None

    @property
    def iam(self) -> str:
        return f"arn:{PARTITION}:iam::{self.account_id}"


@dataclass(slots=True)
class Team:
    """One team's name, region and the nodes that its permission edges connect."""

    name: str
    region: str
    account: Account
    buckets: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    function_roles: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    knowledge_base: str = ""


class SyntheticGraph:
    """Make a DeputyGraph of synthetic accounts and teams on a networkx MultiDiGraph."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.graph = nx.MultiDiGraph()
        self.teams = 0
        self.accounts = 0
        # Counted here because MultiDiGraph.number_of_edges() sums the degrees of all nodes.
        self.relationships = 0

    def generate(self, relationships: int, deadline: float) -> None:
        """Add accounts of teams until the graph has `relationships` relationships or the deadline passes."""
        self._add_outside_principals()
        while self.relationships < relationships and time.monotonic() < deadline:
            account = self._start_account(self.accounts)
            for _ in range(TEAMS_PER_ACCOUNT):
                self._add_team(account, self.teams)
                self.teams += 1
                if self.relationships >= relationships or time.monotonic() >= deadline:
                    break
            self._finish_account(account)
            self.accounts += 1

    def deputy_graph(self, seed: int) -> DeputyGraph:
        """Wrap the graph as `GraphStore.load` takes it. Its snapshot and authorizer are empty."""
        snapshot = Snapshot(path=f"{SNAPSHOT_PREFIX}:seed={seed}:relationships={self.relationships}")
        return DeputyGraph(self.graph, snapshot, Authorizer(snapshot), Sensitivity())

    # -- helpers ----------------------------------------------------------------------

    def _id(self) -> str:
        return "".join(self.rng.choices(ID_ALPHABET, k=10))

    def _node(self, node_id: str, label: Label, **properties: Any) -> str:
        self.graph.add_node(node_id, label=str(label), arn=node_id, **properties)
        return node_id

    def _structure(self, source: str, target: str, rel: Rel, **properties: Any) -> None:
        properties.setdefault("reason", STRUCTURE_SENTENCES[rel])
        self._grant(source, target, {"rel": str(rel), **properties})

    def _grant(self, source: str, target: str, properties: dict[str, Any]) -> None:
        if not self.graph.has_edge(source, target, key=properties["rel"]):
            self.relationships += 1
        self.graph.add_edge(source, target, key=properties["rel"], **properties)

    def _role(self, arn: str, account: Account, *, services: Sequence[str] = ()) -> str:
        return self._node(
            arn,
            Label.ROLE,
            name=arn.rsplit("/", 1)[-1],
            account=account.account_id,
            service_linked=False,
            missing_policies=[],
            assumable_by_principals=not services,
            trusted_federated=[],
            trusted_services=sorted(services),
        )

    def _assume(self, source: str, role: str, identity: dict[str, Any] | None, *, mfa: bool = False) -> None:
        trust_policy = Policy(f"{role}#trust-policy", "trust policy", "trust")
        condition = {"Bool": {"aws:MultiFactorAuthPresent": "true"}} if mfa else None
        statements = [trust_policy.allow(0, None, ["sts:AssumeRole"], condition=condition)]
        if identity is not None:
            statements.append(identity)
        conditions = [MFA_CONDITION] if mfa else []
        self._grant(source, role, grant(Rel.CAN_ASSUME, ["sts:AssumeRole"], statements, conditions))

    def _call(self, source: str, apis: Sequence[str], statement: dict[str, Any]) -> None:
        for api in apis:
            self._grant(source, api, grant(Rel.CAN_CALL, [self.graph.nodes[api]["action"]], [statement]))

    # -- accounts ---------------------------------------------------------------------

    def _add_outside_principals(self) -> None:
        for service in ("lambda.amazonaws.com", "bedrock.amazonaws.com"):
            self._node(f"service:{service}", Label.SERVICE_PRINCIPAL, name=service, account=None)
        for vendor in VENDOR_ACCOUNTS:
            root = f"arn:{PARTITION}:iam::{vendor}:root"
            self._node(root, Label.EXTERNAL_ACCOUNT, name=root, account=vendor)

    def _start_account(self, index: int) -> Account:
        account = Account(f"{210000000000 + index * 1117:012d}")
        self._node(f"{account.iam}:group/developers", Label.GROUP, name="developers", account=account.account_id)
        for region in REGIONS:
            account.vpc_apis[region] = [
                self._node(
                    f"vpc-api:{account.account_id}:{region}:{action}",
                    Label.VPC_API,
                    name=action,
                    account=account.account_id,
                    region=region,
                    action=action,
                    sensitive=True,
                    sensitivity="VPC provisioning API",
                )
                for action in VPC_PROVISIONING_ACTIONS
            ]
        for number in range(GUARDRAILS_PER_ACCOUNT):
            guardrail = f"arn:{PARTITION}:bedrock:{REGIONS[0]}:{account.account_id}:guardrail/{self._id().lower()}"
            self._node(
                guardrail,
                Label.GUARDRAIL,
                name=f"content-filter-{number}",
                account=account.account_id,
                region=REGIONS[0],
                sensitive=True,
                sensitivity="guardrail changes are sensitive",
            )
            account.guardrails.append(guardrail)
        return account

    def _finish_account(self, account: Account) -> None:
        """Add the account-wide roles: platform admins, auditors, a vendor's role and the developers' grant."""
        everything = Policy(f"arn:{PARTITION}:iam::aws:policy/AdministratorAccess", "AdministratorAccess").allow(
            0, None, ["*"], ["*"]
        )
        admins = [self._role(f"{account.iam}:role/platform-admin-{n}", account) for n in range(PLATFORM_ADMINS)]
        for admin in admins:
            for rel, actions, targets in (
                (Rel.CAN_READ, ["s3:GetObject"], account.buckets),
                (Rel.CAN_WRITE, ["s3:PutObject", "s3:DeleteObject"], account.buckets),
                (Rel.CAN_INVOKE_AGENT, ["bedrock:InvokeAgent"], account.aliases),
                (Rel.CAN_CONFIGURE_AGENT, CONFIGURE_ACTIONS, account.agents),
                (Rel.CAN_MODIFY_GUARDRAIL, GUARDRAIL_ACTIONS, account.guardrails),
                (Rel.CAN_INVOKE_FUNCTION, ["lambda:InvokeFunction"], account.functions),
            ):
                properties = grant(rel, actions, [everything])
                for target in targets:
                    self._grant(admin, target, properties)
            for apis in account.vpc_apis.values():
                self._call(admin, apis, everything)
            for role in account.assumable_roles:
                self._assume(admin, role, everything)
            for other in admins:
                self._assume(admin, other, everything, mfa=True)

        audit = grant(
            Rel.CAN_READ,
            ["s3:GetObject"],
            [
                Policy(f"arn:{PARTITION}:iam::aws:policy/AmazonS3ReadOnlyAccess", "AmazonS3ReadOnlyAccess").allow(
                    0, None, ["s3:Get*", "s3:List*"], ["*"]
                )
            ],
        )
        for number in range(AUDITORS):
            auditor = self._role(f"{account.iam}:role/security-auditor-{number}", account)
            for bucket in account.buckets:
                self._grant(auditor, bucket, audit)

        vendor = VENDOR_ACCOUNTS[self.accounts % len(VENDOR_ACCOUNTS)]
        vendor_role = self._role(f"{account.iam}:role/vendor-support", account)
        note = f"depends on the identity-based policies in account {vendor}, which the snapshot does not hold"
        trust = Policy(f"{vendor_role}#trust-policy", "trust policy", "trust").allow(0, None, ["sts:AssumeRole"])
        self._grant(
            f"arn:{PARTITION}:iam::{vendor}:root",
            vendor_role,
            grant(Rel.CAN_ASSUME, ["sts:AssumeRole"], [trust], note=note),
        )
        support = Policy(f"{vendor_role}#inline:support", "support").allow(0, "ReadLogs", ["s3:GetObject"], ["*"])
        for bucket in account.buckets[::10]:
            self._grant(vendor_role, bucket, grant(Rel.CAN_READ, ["s3:GetObject"], [support]))

        # The developers group's policy allows bedrock:InvokeAgent on every alias of the account.
        invoke_any = grant(
            Rel.CAN_INVOKE_AGENT,
            ["bedrock:InvokeAgent"],
            [
                Policy(f"{account.iam}:policy/developers-bedrock-access", "developers-bedrock-access").allow(
                    0, "InvokeAnyAgent", ["bedrock:InvokeAgent"], ["*"]
                )
            ],
        )
        for developer in account.developers:
            for alias in account.aliases:
                if not self.graph.has_edge(developer, alias, key=str(Rel.CAN_INVOKE_AGENT)):
                    self._grant(developer, alias, invoke_any)

    # -- teams ------------------------------------------------------------------------

    def _add_team(self, account: Account, index: int) -> None:
        team = Team(f"{TEAM_WORDS[index % len(TEAM_WORDS)]}{index // len(TEAM_WORDS)}", REGIONS[index % 2], account)
        self._add_buckets(team)
        self._add_functions(team)
        self._add_knowledge_base(team)
        for number in range(AGENTS_PER_TEAM):
            self._add_agent(team, number)
        self._add_people_and_workloads(team)

    def _add_buckets(self, team: Team) -> None:
        account_id = team.account.account_id
        for number in range(BUCKETS_PER_TEAM):
            name = f"{team.name}-{BUCKET_WORDS[number % len(BUCKET_WORDS)]}-{account_id}-{number}"
            properties: dict[str, Any] = {
                "name": name,
                "account": account_id,
                "region": team.region,
                "sensitive": number % 4 == 0,
                "has_policy": number % 5 == 0,
            }
            if number % 4 == 0:
                properties["sensitivity"] = "tag data-classification=confidential"
            team.buckets.append(self._node(f"arn:{PARTITION}:s3:::{name}", Label.S3_BUCKET, **properties))
        team.account.buckets += team.buckets

    def _add_functions(self, team: Team) -> None:
        """Add Lambda functions with their execution roles: one reads, one writes, one deploys networks."""
        account = team.account
        for number in range(FUNCTIONS_PER_TEAM):
            name = f"{team.name}-fn-{number}"
            function = self._node(
                f"arn:{PARTITION}:lambda:{team.region}:{account.account_id}:function:{name}",
                Label.LAMBDA_FUNCTION,
                name=name,
                account=account.account_id,
                region=team.region,
                has_policy=True,
            )
            role = self._role(
                f"{account.iam}:role/service-role/{name}-role", account, services=["lambda.amazonaws.com"]
            )
            self._structure(function, role, Rel.HAS_EXECUTION_ROLE)
            self._assume("service:lambda.amazonaws.com", role, None)
            policy = Policy(f"{role}#inline:function-access", "function-access")
            read = grant(
                Rel.CAN_READ, ["s3:GetObject"], [policy.allow(0, "ReadData", ["s3:GetObject", "s3:ListBucket"], ["*"])]
            )
            for bucket in team.buckets:
                self._grant(role, bucket, read)
            if number == 0:
                self._call(role, account.vpc_apis[team.region], policy.allow(1, "Networking", ["ec2:*"], ["*"]))
            if number == 1:
                statement = policy.allow(2, "WriteResults", WRITE_ACTIONS, ["*"])
                for bucket in team.buckets[:5]:
                    self._grant(role, bucket, grant(Rel.CAN_WRITE, WRITE_ACTIONS, [statement]))
            team.functions.append(function)
            team.function_roles.append(role)
        account.functions += team.functions

    def _add_knowledge_base(self, team: Team) -> None:
        account = team.account
        team.knowledge_base = self._node(
            f"arn:{PARTITION}:bedrock:{team.region}:{account.account_id}:knowledge-base/{self._id()}",
            Label.KNOWLEDGE_BASE,
            name=f"{team.name}-kb",
            account=account.account_id,
            region=team.region,
        )
        role = self._role(
            f"{account.iam}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_{team.name}",
            account,
            services=["bedrock.amazonaws.com"],
        )
        self._structure(team.knowledge_base, role, Rel.HAS_EXECUTION_ROLE)
        self._assume("service:bedrock.amazonaws.com", role, None)
        sources = team.buckets[:2]
        statement = Policy(f"{role}#inline:kb-data", "kb-data").allow(
            0, "ReadSources", ["s3:GetObject", "s3:ListBucket"], sources
        )
        for bucket in sources:
            source = self._node(
                f"{team.knowledge_base}/data-source/{self._id()}",
                Label.DATA_SOURCE,
                name=f"{self.graph.nodes[bucket]['name']}-s3",
                account=account.account_id,
            )
            self._structure(team.knowledge_base, source, Rel.HAS_DATA_SOURCE)
            self._structure(source, bucket, Rel.INGESTS_FROM, prefixes=["docs/"])
            self._grant(role, bucket, grant(Rel.CAN_READ, ["s3:GetObject"], [statement]))

    def _add_agent(self, team: Team, number: int) -> None:
        """Add an agent with three versions and two or three aliases. About 5% of the aliases are paused."""
        account = team.account
        agent_id = self._id()
        name = f"{team.name}-assistant-{number}"
        agent = self._node(
            f"arn:{PARTITION}:bedrock:{team.region}:{account.account_id}:agent/{agent_id}",
            Label.BEDROCK_AGENT,
            name=name,
            account=account.account_id,
            region=team.region,
        )
        account.agents.append(agent)
        role = self._role(
            f"{account.iam}:role/service-role/AmazonBedrockExecutionRoleForAgents_{name}",
            account,
            services=["bedrock.amazonaws.com"],
        )
        self._assume("service:bedrock.amazonaws.com", role, None)
        policy = Policy(f"{role}#inline:agent-access", "agent-access")
        read = grant(
            Rel.CAN_READ, ["s3:GetObject"], [policy.allow(0, "ReadAnyObject", ["s3:GetObject", "s3:ListBucket"], ["*"])]
        )
        for bucket in team.buckets:
            self._grant(role, bucket, read)
        invoke = grant(
            Rel.CAN_INVOKE_FUNCTION,
            ["lambda:InvokeFunction"],
            [policy.allow(1, "CallTools", ["lambda:InvokeFunction"], ["*"])],
        )
        for function in team.functions:
            self._grant(role, function, invoke)

        guardrail = account.guardrails[number % len(account.guardrails)]
        retrieve = policy.allow(2, "Retrieve", ["bedrock:Retrieve"], [team.knowledge_base])
        versions = [
            self._add_version(team, agent, version, role=role, guardrail=guardrail, retrieve=retrieve)
            for version in VERSIONS
        ]
        routes = {"live": [versions[2]], "test": [versions[0]]}
        if number % 2 == 0:
            routes["canary"] = [versions[1], versions[2]]
        for alias_name, routed in routes.items():
            alias = self._node(
                f"arn:{PARTITION}:bedrock:{team.region}:{account.account_id}:agent-alias/{agent_id}/{self._id()}",
                Label.AGENT_ALIAS,
                name=f"{name}/{alias_name}",
                account=account.account_id,
                region=team.region,
                agent=agent,
                guardrail=None,
            )
            active = self.rng.random() >= 0.05
            reason = (
                STRUCTURE_SENTENCES[Rel.ROUTES_TO]
                if active
                else "would route here, but the alias is paused or dissociated"
            )
            for version in routed:
                self._structure(alias, version, Rel.ROUTES_TO, active=active, reason=reason)
            team.aliases.append(alias)
        account.aliases += team.aliases[-len(routes) :]

    def _add_version(
        self, team: Team, agent: str, version: str, *, role: str, guardrail: str, retrieve: dict[str, Any]
    ) -> str:
        """Add a version with two action groups (5% disabled, 10% not invocable).

        Numbered versions also use the team's knowledge base.
        """
        agent_data = self.graph.nodes[agent]
        version_id = self._node(
            f"{agent}#version/{version}",
            Label.AGENT_VERSION,
            name=f"{agent_data['name']} version {version}",
            account=agent_data["account"],
            region=team.region,
            version=version,
            agent=agent,
            role_from_agent=False,
            guardrail=guardrail.rsplit("/", 1)[-1],
        )
        self._structure(version_id, agent, Rel.VERSION_OF)
        self._structure(version_id, role, Rel.HAS_EXECUTION_ROLE)
        self._structure(version_id, guardrail, Rel.USES_GUARDRAIL, guardrail_version="1")
        for number in range(ACTION_GROUPS_PER_VERSION):
            function = team.functions[(number + len(version)) % len(team.functions)]
            enabled = self.rng.random() >= 0.05
            group = self._node(
                f"{version_id}/action-group/{self._id()}",
                Label.ACTION_GROUP,
                name=f"{agent_data['name']}-tools-{number}",
                account=agent_data["account"],
                region=team.region,
                enabled=enabled,
                lambda_arn=function,
            )
            self._structure(version_id, group, Rel.HAS_ACTION_GROUP, enabled=enabled)
            invocable = self.rng.random() >= 0.1
            resource_policy = Policy(f"{function}#resource-policy", "resource-policy", "resource")
            # engine.graph explains CALLS_FUNCTION with the properties of a lambda:InvokeFunction grant.
            calls = grant(
                Rel.CAN_INVOKE_FUNCTION,
                ["lambda:InvokeFunction"],
                [resource_policy.allow(0, "bedrock-agent-invoke", ["lambda:InvokeFunction"], [function])],
            )
            calls.update(
                rel=str(Rel.CALLS_FUNCTION),
                invocable=invocable,
                executor=function,
                reason="calls the Lambda function when the agent acts; the function's resource-based policy "
                + ("lets Bedrock invoke it" if invocable else "does not let this agent invoke it"),
            )
            self._grant(group, function, calls)
        if version != "DRAFT":
            uses = grant(Rel.USES_KNOWLEDGE_BASE, ["bedrock:Retrieve"], [retrieve])
            del uses["technique"]  # engine.graph writes this explanation without one
            uses.update(enabled=True, retrievable=True)
            self._grant(version_id, team.knowledge_base, uses)
        return version_id

    def _add_people_and_workloads(self, team: Team) -> None:
        """Add users, workload roles, a deploy role and an admin role, with CAN_ASSUME chains between them.

        Users assume two workload roles each, two users the admin role (behind MFA) and one
        the deploy role. Three workload roles and one function role may assume the deploy
        role, which may assume the admin role. Team admins chain to the previous team's
        admin, behind MFA, in runs of up to five teams.
        """
        account = team.account
        team_policy = Policy(f"{account.iam}:policy/{team.name}-access", f"{team.name}-access")
        objects = [f"arn:{PARTITION}:s3:::{team.name}-*/*"]
        read = grant(
            Rel.CAN_READ, ["s3:GetObject"], [team_policy.allow(0, "ReadTeamBuckets", ["s3:GetObject"], objects)]
        )
        office = team_policy.allow(
            1, "ReadFromOffice", ["s3:GetObject"], objects, condition={"IpAddress": {"aws:SourceIp": CORPORATE_CIDR}}
        )
        read_from_office = grant(Rel.CAN_READ, ["s3:GetObject"], [office], [SOURCE_IP_CONDITION])
        write = grant(Rel.CAN_WRITE, WRITE_ACTIONS, [team_policy.allow(2, "WriteTeamBuckets", WRITE_ACTIONS, objects)])
        functions_arn = f"arn:{PARTITION}:lambda:{team.region}:{account.account_id}:function:{team.name}-*"
        invoke_function = grant(
            Rel.CAN_INVOKE_FUNCTION,
            ["lambda:InvokeFunction"],
            [team_policy.allow(3, "InvokeTeamFunctions", ["lambda:InvokeFunction"], [functions_arn])],
        )
        aliases_arn = f"arn:{PARTITION}:bedrock:{team.region}:{account.account_id}:agent-alias/*"
        invoke_agent = grant(
            Rel.CAN_INVOKE_AGENT,
            ["bedrock:InvokeAgent"],
            [team_policy.allow(4, "InvokeTeamAgents", ["bedrock:InvokeAgent"], [aliases_arn])],
        )
        assume = team_policy.allow(5, "AssumeTeamRoles", ["sts:AssumeRole"], [f"{account.iam}:role/{team.name}/*"])

        group = self._node(f"{account.iam}:group/{team.name}", Label.GROUP, name=team.name, account=account.account_id)
        workloads = [
            self._role(f"{account.iam}:role/{team.name}/{team.name}-app-{n}", account)
            for n in range(APP_ROLES_PER_TEAM)
        ]
        deploy = self._role(f"{account.iam}:role/{team.name}/{team.name}-deploy", account)
        admin = self._role(f"{account.iam}:role/{team.name}/{team.name}-admin", account)
        account.assumable_roles += [*workloads, deploy]

        for number in range(USERS_PER_TEAM):
            name = f"{team.name}-user-{number:02d}"
            user = self._node(
                f"{account.iam}:user/{team.name}/{name}", Label.USER, name=name, account=account.account_id
            )
            self._structure(user, group, Rel.MEMBER_OF)
            if number % 3 == 0:
                self._structure(user, f"{account.iam}:group/developers", Rel.MEMBER_OF)
                account.developers.append(user)
            for offset in (0, 1):
                self._assume(user, workloads[(number + offset) % APP_ROLES_PER_TEAM], assume)
            if number < 2:
                self._assume(user, admin, assume, mfa=True)
            if number == 2:
                self._assume(user, deploy, assume)
            for offset in range(5):
                bucket = team.buckets[(number + offset) % len(team.buckets)]
                self._grant(user, bucket, read_from_office if self.rng.random() < 0.1 else read)
            for alias in team.aliases:
                self._grant(user, alias, invoke_agent)

        for number, role in enumerate(workloads):
            for position, bucket in enumerate(team.buckets):
                self._grant(role, bucket, read)
                if position % 3 == number % 3:
                    self._grant(role, bucket, write)
            for function in team.functions:
                self._grant(role, function, invoke_function)
            if number < 3:
                self._assume(role, deploy, assume)
            if number == 0:
                for alias in team.aliases:
                    self._grant(role, alias, invoke_agent)
        deploy_identity = Policy(f"{team.function_roles[2]}#inline:function-access", "function-access").allow(
            3, "Deploy", ["sts:AssumeRole"], [deploy]
        )
        self._assume(team.function_roles[2], deploy, deploy_identity)
        self._add_deploy_and_admin(team, deploy, admin)

    def _add_deploy_and_admin(self, team: Team, deploy: str, admin: str) -> None:
        account = team.account
        deploy_policy = Policy(f"{deploy}#inline:deploy", "deploy")
        self._call(deploy, account.vpc_apis[team.region], deploy_policy.allow(0, "Networking", ["ec2:*"], ["*"]))
        self._assume(deploy, admin, deploy_policy.allow(1, "Escalate", ["sts:AssumeRole"], [admin]))
        artifacts = deploy_policy.allow(2, "Artifacts", ["s3:*"], [f"arn:{PARTITION}:s3:::{team.name}-*/*"])
        for bucket in team.buckets:
            self._grant(deploy, bucket, grant(Rel.CAN_WRITE, WRITE_ACTIONS, [artifacts]))
        functions = grant(
            Rel.CAN_INVOKE_FUNCTION,
            ["lambda:InvokeFunction"],
            [deploy_policy.allow(3, "Functions", ["lambda:*"], ["*"])],
        )
        for function in team.functions:
            self._grant(deploy, function, functions)

        team_admin = Policy(f"{account.iam}:policy/{team.name}-admin", f"{team.name}-admin").allow(
            0, "TeamAdmin", ["*"], ["*"]
        )
        for bucket in team.buckets:
            self._grant(admin, bucket, grant(Rel.CAN_READ, ["s3:GetObject"], [team_admin]))
            self._grant(admin, bucket, grant(Rel.CAN_WRITE, WRITE_ACTIONS, [team_admin]))
        configure = grant(Rel.CAN_CONFIGURE_AGENT, CONFIGURE_ACTIONS, [team_admin])
        for agent in account.agents[-AGENTS_PER_TEAM:]:
            self._grant(deploy, agent, configure)
            self._grant(admin, agent, configure)
        for guardrail in account.guardrails:
            self._grant(admin, guardrail, grant(Rel.CAN_MODIFY_GUARDRAIL, GUARDRAIL_ACTIONS, [team_admin]))
        for apis in account.vpc_apis.values():
            self._call(admin, apis, team_admin)
        if account.previous_admin is not None and self.teams % 5 != 0:
            self._assume(admin, account.previous_admin, team_admin, mfa=True)
        account.previous_admin = admin


# -- measuring the store ---------------------------------------------------------------


class TimedGraphStore(GraphStore):
    """A GraphStore that records when each step of `load` starts and ends, and each write transaction.

    NOTE: it overrides private methods of GraphStore (`_write`, `_write_nodes`,
    `_write_relationships`, `_make_current`), so a change to how `load` is split into
    them needs a change here. The gaps between the steps are the Python work in between:
    `node_rows` before the nodes and `relationship_rows` before the relationships.
    """

    def __init__(self, driver: Driver, database: str) -> None:
        super().__init__(driver, database)
        self.marks: list[tuple[str, float]] = []
        self.transactions: list[float] = []
        self.batches: list[tuple[str, int]] = []  # (label or type, rows) of each batch

    def _mark(self, name: str) -> None:
        self.marks.append((name, time.perf_counter()))

    def _write(self, work: Any) -> Any:
        started = time.perf_counter()
        try:
            return super()._write(work)
        finally:
            self.transactions.append(time.perf_counter() - started)

    def ensure_schema(self) -> None:
        self._mark("schema")
        super().ensure_schema()
        self._mark("schema_done")

    def _write_nodes(self, build_id: str, rows: Mapping[str, list[dict[str, Any]]]) -> int:
        self._plan_batches(rows)
        self._mark("nodes")
        try:
            return super()._write_nodes(build_id, rows)
        finally:
            self._mark("nodes_done")

    def _write_relationships(self, build_id: str, rows: Mapping[str, list[dict[str, Any]]]) -> int:
        self._plan_batches(rows)
        self._mark("relationships")
        try:
            return super()._write_relationships(build_id, rows)
        finally:
            self._mark("relationships_done")

    def _make_current(self, build_id: str, nodes: int, relationships: int) -> None:
        self._mark("swap")
        super()._make_current(build_id, nodes, relationships)
        self._mark("swap_done")

    def prune(self, *, keep: int = 3) -> list[str]:
        self._mark("prune")
        try:
            return super().prune(keep=keep)
        finally:
            self._mark("prune_done")

    def _plan_batches(self, rows: Mapping[str, list[dict[str, Any]]]) -> None:
        # The same split into batches as GraphStore: rows.items() in order, BATCH_SIZE rows at a time.
        size = queries.store.BATCH_SIZE
        for name, items in rows.items():
            for start in range(0, len(items), size):
                self.batches.append((name, len(items[start : start + size])))


def measure_load(store: TimedGraphStore, deputy: DeputyGraph, keep: int) -> dict[str, Any]:
    """Load the graph once and split the wall time into the steps of `GraphStore.load`."""
    store.marks.clear()
    store.transactions.clear()
    store.batches.clear()
    load_average = os.getloadavg()[0]
    server_cpu = server_cpu_seconds(store)
    client_cpu = time.process_time()
    started = time.perf_counter()
    error: str | None = None
    record: BuildRecord | None = None
    try:
        record = store.load(deputy, keep=keep)
    except StoreError as failure:
        error = str(failure)
    finished = time.perf_counter()
    client_cpu = time.process_time() - client_cpu
    server_cpu_after = server_cpu_seconds(store)
    marks = dict(store.marks)

    def span(start: str, end: str) -> float | None:
        if start not in marks or end not in marks:
            return None
        return round(marks[end] - marks[start], 3)

    nodes = deputy.graph.number_of_nodes()
    relationships = deputy.graph.number_of_edges()
    seconds = {
        "schema": span("schema", "schema_done"),
        "node_rows_and_build_record": span("schema_done", "nodes"),
        "nodes": span("nodes", "nodes_done"),
        "relationship_rows": span("nodes_done", "relationships"),
        "relationships": span("relationships", "relationships_done"),
        "swap": span("swap", "swap_done"),
        "prune": span("prune", "prune_done"),
        "total": round(finished - started, 3),
    }
    # A stopped load gets no rates, because its last phase ended early.
    node_seconds = seconds["nodes"] if error is None else None
    relationship_seconds = seconds["relationships"] if error is None else None
    result: dict[str, Any] = {
        "build": record.build_id if record else None,
        "load_average_1m": round(load_average, 2),
        "seconds": seconds,
        "nodes_per_second": round(nodes / node_seconds) if node_seconds else None,
        "relationships_per_second": round(relationships / relationship_seconds) if relationship_seconds else None,
        "relationships_per_second_end_to_end": round(relationships / seconds["total"]) if error is None else None,
        "cpu_seconds": {
            "client": round(client_cpu, 3),
            "server": None
            if server_cpu is None or server_cpu_after is None
            else round(server_cpu_after - server_cpu, 3),
        },
        "write_transactions": len(store.transactions),
        "batches": _batch_summary(store),
        "error": error,
    }
    return result


def _batch_summary(store: TimedGraphStore) -> dict[str, Any]:
    """Seconds and rows per second of the write batches, by label or relationship type.

    The write transactions are, in order: the build record, then one per batch, then the
    swap and the prune's deletes. Batches are matched to the transactions after the first.
    """
    durations = store.transactions[1 : 1 + len(store.batches)]
    by_name: dict[str, list[float]] = {}
    rows: Counter[str] = Counter()
    for (name, count), seconds in zip(store.batches, durations, strict=False):
        by_name.setdefault(name, []).append(seconds)
        rows[name] += count
    summary: dict[str, Any] = {}
    for name, values in sorted(by_name.items(), key=lambda item: -sum(item[1])):
        total = sum(values)
        summary[name] = {
            "rows": rows[name],
            "batches": len(values),
            "seconds": round(total, 3),
            "rows_per_second": round(rows[name] / total) if total else None,
            "batch_seconds_max": round(max(values), 3),
        }
    return summary


class Watchdog:
    """Terminate this run's transactions on the server when the run or one operation runs out of time.

    Transactions are found with `dbms.listConnections()` by the Bolt user agent of the
    measuring driver, then ended with `TERMINATE TRANSACTIONS`. The watchdog uses its own
    driver with another user agent, so it never ends its own transactions.
    """

    POLL_SECONDS = 0.5

    def __init__(self, settings: Neo4jSettings, user_agent: str, deadline: float) -> None:
        self.user_agent = user_agent
        self.deadline = deadline
        self.expired = threading.Event()
        self._driver = GraphDatabase.driver(
            settings.uri, auth=(settings.user, settings.password), user_agent=f"{user_agent}-watchdog"
        )
        self._database = settings.database
        self._lock = threading.Lock()
        self._operation_deadline: float | None = None
        self._operation_stopped = False
        self._errors = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def begin(self, seconds: float | None) -> None:
        """Start an operation that may take at most `seconds` (None: only the run's deadline)."""
        with self._lock:
            self._operation_deadline = None if seconds is None else time.monotonic() + seconds
            self._operation_stopped = False

    def end(self) -> bool:
        """End the operation; return True when the watchdog terminated it."""
        with self._lock:
            stopped = self._operation_stopped
            self._operation_deadline = None
            self._operation_stopped = False
            return stopped

    def close(self) -> None:
        self._closing.set()
        self._thread.join()
        self._driver.close()

    def _run(self) -> None:
        while not self._closing.wait(self.POLL_SECONDS):
            now = time.monotonic()
            # The lock keeps `end` and the next `begin` from running between the check and
            # the termination, so a new operation is never ended for the old one's limit.
            with self._lock:
                if now >= self.deadline:
                    if not self.expired.is_set():
                        logger.warning("the run reached --timeout; terminating its transactions")
                    self.expired.set()
                    self._terminate()
                elif self._operation_deadline is not None and now >= self._operation_deadline:
                    if not self._operation_stopped:
                        logger.warning("an operation reached --query-timeout; terminating its transaction")
                    self._operation_stopped = True
                    self._terminate()

    def _terminate(self) -> None:
        try:
            with self._driver.session(database=self._database) as session:
                connections = session.run(
                    "CALL dbms.listConnections() YIELD connectionId, userAgent "
                    "WHERE userAgent = $agent RETURN collect(connectionId) AS ids",
                    agent=self.user_agent,
                ).single(strict=True)["ids"]
                transactions = session.run(
                    "SHOW TRANSACTIONS YIELD transactionId, connectionId "
                    "WHERE connectionId IN $ids RETURN collect(transactionId) AS ids",
                    ids=connections,
                ).single(strict=True)["ids"]
                if transactions:
                    session.run("TERMINATE TRANSACTIONS $ids", ids=transactions).consume()
        except (Neo4jError, DriverError, OSError) as error:
            self._errors += 1
            # One message per 20 failures, so that a lost server does not flood the log.
            if self._errors % 20 == 1:
                logger.warning("terminating transactions failed (%s failures so far): %s", self._errors, error)


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def measure_queries(
    store: GraphStore,
    watchdog: Watchdog,
    name: str,
    parameter: str,
    sample: Sequence[tuple[str, str]],
    *,
    query_timeout: float,
) -> dict[str, Any]:
    """Run one library query for each sampled value twice, and report the second pass.

    `sample` contains (value, group) pairs; the group (such as `invoker`) is reported with
    the slowest values.
    """
    bound = query(name)
    result: dict[str, Any] = {"query": name, "sample": len(sample), "load_average_1m": round(os.getloadavg()[0], 2)}
    passes: list[list[tuple[float, int | None, str, str]]] = []
    for label in ("warm-up", "measured"):
        timings: list[tuple[float, int | None, str, str]] = []
        server_cpu = server_cpu_seconds(store)
        started = time.perf_counter()
        for value, group in sample:
            if watchdog.expired.is_set():
                break
            parameters = bound.bind({parameter: value})
            watchdog.begin(query_timeout)
            began = time.perf_counter()
            rows: int | None
            try:
                rows = len(store.run_read(bound.text, parameters))
            except (Neo4jError, DriverError) as error:
                logger.warning("%s for %s failed: %s", name, value, error)
                rows = None
            seconds = time.perf_counter() - began
            if watchdog.end():
                rows = None
            timings.append((seconds, rows, value, group))
        wall = time.perf_counter() - started
        server_cpu_after = server_cpu_seconds(store)
        if label == "measured" and server_cpu is not None and server_cpu_after is not None:
            result["measured_pass"] = {
                "seconds": round(wall, 3),
                "server_cpu_seconds": round(server_cpu_after - server_cpu, 3),
            }
        logger.info("%s %s pass: %s queries in %.1f s", name, label, len(timings), wall)
        passes.append(timings)
    warm_up, measured = passes
    result["warm_up_seconds"] = round(sum(seconds for seconds, *_ in warm_up), 3)
    completed = sorted(seconds for seconds, rows, *_ in measured if rows is not None)
    result["completed"] = len(completed)
    result["failed_or_stopped"] = len(measured) - len(completed)
    if completed:
        row_counts = [rows for _, rows, *_ in measured if rows is not None]
        result["seconds"] = {
            "p50": round(percentile(completed, 0.50), 4),
            "p95": round(percentile(completed, 0.95), 4),
            "p99": round(percentile(completed, 0.99), 4),
            "max": round(completed[-1], 4),
            "mean": round(sum(completed) / len(completed), 4),
        }
        result["rows"] = {"mean": round(sum(row_counts) / len(row_counts), 1), "max": max(row_counts)}
    by_group: dict[str, list[float]] = {}
    for seconds, rows, _, group in measured:
        if rows is not None:
            by_group.setdefault(group, []).append(seconds)
    result["p50_by_group"] = {
        group: round(percentile(sorted(values), 0.5), 4) for group, values in sorted(by_group.items())
    }
    slowest = sorted(measured, key=lambda timing: -timing[0])[:5]
    result["slowest"] = [
        {"value": value, "group": group, "seconds": round(seconds, 3), "rows": rows}
        for seconds, rows, value, group in slowest
    ]
    return result


def profile_query(store: GraphStore, name: str, parameter: str, value: str) -> dict[str, Any]:
    """PROFILE one library query and list the operators with the most database hits."""
    bound = query(name)
    parameters = bound.bind({parameter: value})
    with store.driver.session(database=store.database) as session:
        started = time.perf_counter()
        summary = session.run("PROFILE " + bound.text, parameters).consume()
        seconds = time.perf_counter() - started
    plan = summary.profile or {}
    operators: list[dict[str, Any]] = []

    def walk(node: Mapping[str, Any], depth: int) -> None:
        arguments = node.get("args", {})
        operators.append(
            {
                "operator": node.get("operatorType"),
                "depth": depth,
                "rows": node.get("rows"),
                "db_hits": node.get("dbHits"),
                "details": str(arguments.get("Details", ""))[:160],
            }
        )
        for child in node.get("children", []):
            walk(child, depth + 1)

    walk(plan, 0)
    root = plan.get("args", {})
    return {
        "query": name,
        parameter: value,
        "seconds": round(seconds, 3),
        "runtime": root.get("runtime"),
        "planner": root.get("planner"),
        "db_hits": sum(int(operator["db_hits"] or 0) for operator in operators),
        "top_operators": sorted(operators, key=lambda operator: -int(operator["db_hits"] or 0))[:12],
        "index_and_scan_operators": [
            operator
            for operator in operators
            if "Seek" in str(operator["operator"]) or "Scan" in str(operator["operator"])
        ],
    }


# -- samples and the server -------------------------------------------------------------


def sample_principals(graph: nx.MultiDiGraph, count: int, invoker_share: float, seed: int) -> list[tuple[str, str]]:
    """Draw a fixed random sample of users and roles: `invoker_share` of them invokers of an agent, the rest others.

    An invoker has a CAN_INVOKE_AGENT relationship, directly or after a chain of CAN_ASSUME.
    """
    principals = {node for node, label in graph.nodes(data="label") if label in (Label.USER, Label.ROLE)}
    invokers = {source for source, _, rel in graph.edges(keys=True) if rel == Rel.CAN_INVOKE_AGENT} & principals
    frontier = list(invokers)
    while frontier:
        node = frontier.pop()
        for source, _, rel in graph.in_edges(node, keys=True):
            if rel == Rel.CAN_ASSUME and source in principals and source not in invokers:
                invokers.add(source)
                frontier.append(source)
    others = principals - invokers
    rng = random.Random(seed)
    invoker_count = min(len(invokers), round(count * invoker_share))
    other_count = min(len(others), count - invoker_count)
    sample = [(node, "invoker") for node in rng.sample(sorted(invokers), invoker_count)]
    sample += [(node, "other") for node in rng.sample(sorted(others), other_count)]
    rng.shuffle(sample)
    return sample


def sample_agents(graph: nx.MultiDiGraph, count: int, seed: int) -> list[tuple[str, str]]:
    agents = sorted(node for node, label in graph.nodes(data="label") if label == Label.BEDROCK_AGENT)
    return [(agent, "agent") for agent in random.Random(seed).sample(agents, min(count, len(agents)))]


def server_settings(store: GraphStore) -> dict[str, Any]:
    """Read the server's version, edition, page cache size and maximum heap, as it reports them."""
    settings: dict[str, Any] = {}
    with store.driver.session(database=store.database) as session:
        component = session.run(
            "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS version, edition"
        ).single(strict=True)
        settings["version"] = component["version"]
        settings["edition"] = component["edition"]
        pagecache = session.run(
            "CALL dbms.listConfig('server.memory.pagecache.size') YIELD name, value RETURN value"
        ).single()
        settings["pagecache"] = pagecache["value"] if pagecache else None
        heap = session.run(
            "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
            "RETURN attributes.HeapMemoryUsage.value.properties.max AS max"
        ).single()
        settings["heap_max_bytes"] = heap["max"] if heap else None
    return settings


def server_cpu_seconds(store: GraphStore) -> float | None:
    """Return the CPU seconds of the server's JVM so far, from its OperatingSystem MXBean, or None."""
    with store.driver.session(database=store.database) as session:
        row = session.run(
            "CALL dbms.queryJmx('java.lang:type=OperatingSystem') YIELD attributes "
            "RETURN attributes.ProcessCpuTime.value AS nanoseconds"
        ).single()
    return None if row is None or row["nanoseconds"] is None else int(row["nanoseconds"]) / 1e9


def store_contents(store: GraphStore) -> dict[str, Any]:
    """Count the nodes and builds in the database, and return the snapshot of the current build."""
    with store.driver.session(database=store.database) as session:
        row = session.run(
            "CALL () { MATCH (n:DeputyNode) RETURN count(n) AS nodes } "
            "CALL () { MATCH (b:DeputyBuild) RETURN count(b) AS builds } "
            "OPTIONAL MATCH (:DeputyCurrent)-[:CURRENT]->(current:DeputyBuild) "
            "RETURN nodes, builds, current.snapshot AS current"
        ).single(strict=True)
    return {"nodes": row["nodes"], "builds": row["builds"], "current_snapshot": row["current"]}


# -- the command -------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure GraphStore.load throughput and query latency on a synthetic graph in Neo4j."
    )
    parser.add_argument(
        "--relationships", type=int, default=1_000_000, help="minimum relationships in the graph (default: 1000000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the graph and the samples (default: 1)")

    parser.add_argument(
        "--principals", type=int, default=200, help="users and roles to run blast_radius_principal for (default: 200)"
    )
    parser.add_argument(
        "--invoker-share",
        type=float,
        default=0.75,
        help="share of the sampled principals that can invoke an agent, from 0 to 1 (default: 0.75)",
    )
    parser.add_argument("--agents", type=int, default=30, help="agents to run who_can_invoke_agent for (default: 30)")

    parser.add_argument(
        "--keep", type=int, default=1, help="builds the second load keeps; 1 prunes the first load (default: 1)"
    )

    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds the whole run may take before it stops (default: 3600)"
    )
    parser.add_argument(
        "--query-timeout",
        type=float,
        default=120.0,
        help="seconds one query may take before it is terminated and counted as stopped (default: 120)",
    )
    parser.add_argument(
        "--profile-slowest",
        action="store_true",
        help="PROFILE blast_radius_principal for the slowest sampled principal and report its costliest operators",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="rows per write transaction; replaces queries.store.BATCH_SIZE for this run, to compare sizes "
        f"(default: {queries.store.BATCH_SIZE})",
    )

    parser.add_argument("--neo4j-uri", help="Bolt URI of the server (default: NEO4J_URI or bolt://127.0.0.1:7687)")
    parser.add_argument(
        "--replace-current",
        action="store_true",
        help="load even when the database has a current build that this benchmark did not write",
    )

    args = parser.parse_args(argv)
    if args.relationships < 1:
        parser.error(f"--relationships {args.relationships} is invalid; give 1 or more")
    if not 0 <= args.invoker_share <= 1:
        parser.error(f"--invoker-share {args.invoker_share} is invalid; give a number from 0 to 1")
    if args.keep < 1:
        parser.error(f"--keep {args.keep} is invalid; give 1 or more")
    for option in ("principals", "agents"):
        if getattr(args, option) < 0:
            parser.error(f"--{option} {getattr(args, option)} is invalid; give 0 or more")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f"--batch-size {args.batch_size} is invalid; give 1 or more")
    if args.timeout <= 0 or args.query_timeout <= 0:
        parser.error("--timeout and --query-timeout must be positive numbers of seconds")
    return args


def run(args: argparse.Namespace, store: TimedGraphStore, watchdog: Watchdog) -> dict[str, Any]:
    """Generate, load twice and query. Stop between steps once the watchdog has expired."""
    result: dict[str, Any] = {"relationships_requested": args.relationships, "seed": args.seed}
    if args.batch_size is not None:
        queries.store.BATCH_SIZE = args.batch_size
    result["batch_size"] = queries.store.BATCH_SIZE
    result["driver"] = {
        "version": neo4j.__version__,
        # neo4j-rust-ext installs this module, and the driver then packs and unpacks Bolt messages in Rust.
        "rust_extension": importlib.util.find_spec("neo4j._rust") is not None,
    }
    result["server"] = server_settings(store)
    before = store_contents(store)
    result["store_before"] = before
    current = before["current_snapshot"]
    if current is not None and not str(current).startswith(SNAPSHOT_PREFIX) and not args.replace_current:
        raise StoreError(
            f"the database's current build comes from {current!r}, and loading would replace it. "
            "Use a server of your own or pass --replace-current"
        )

    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    synthetic = SyntheticGraph(args.seed)
    synthetic.generate(args.relationships, watchdog.deadline)
    deputy = synthetic.deputy_graph(args.seed)
    graph = deputy.graph
    result["graph"] = {
        "nodes": graph.number_of_nodes(),
        "relationships": graph.number_of_edges(),
        "accounts": synthetic.accounts,
        "teams": synthetic.teams,
        "nodes_by_label": dict(Counter(label for _, label in graph.nodes(data="label")).most_common()),
        "relationships_by_type": dict(Counter(rel for _, _, rel in graph.edges(keys=True)).most_common()),
        "generate_seconds": round(time.perf_counter() - started, 3),
        "load_average_1m": round(load_average, 2),
    }
    logger.info("generated %s nodes and %s relationships", graph.number_of_nodes(), graph.number_of_edges())
    if graph.number_of_edges() < args.relationships:
        result["timed_out"] = True
        return result

    loads: list[dict[str, Any]] = []
    result["loads"] = loads
    for name in ("first", "second"):
        if watchdog.expired.is_set():
            break
        watchdog.begin(None)
        load = measure_load(store, deputy, args.keep)
        watchdog.end()
        load["load"] = name
        loads.append(load)
        logger.info("%s load: %s", name, json.dumps(load["seconds"]))
        if load["error"]:
            break
    if watchdog.expired.is_set() or any(load["error"] for load in loads):
        result["timed_out"] = watchdog.expired.is_set()
        return result

    principals = sample_principals(graph, args.principals, args.invoker_share, args.seed)
    agents = sample_agents(graph, args.agents, args.seed)
    result["blast_radius_principal"] = measure_queries(
        store, watchdog, "blast_radius_principal", "principal", principals, query_timeout=args.query_timeout
    )
    result["who_can_invoke_agent"] = measure_queries(
        store, watchdog, "who_can_invoke_agent", "agent", agents, query_timeout=args.query_timeout
    )
    slowest = result["blast_radius_principal"]["slowest"]
    if args.profile_slowest and slowest and not watchdog.expired.is_set():
        watchdog.begin(args.query_timeout)
        result["profile"] = profile_query(store, "blast_radius_principal", "principal", slowest[0]["value"])
        if watchdog.end():
            result["profile"]["stopped"] = True
    result["timed_out"] = watchdog.expired.is_set()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    # The server notes each IF NOT EXISTS that had no effect and each label not yet created.
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    args = parse_arguments(argv)
    settings = Neo4jSettings.from_environment(uri=args.neo4j_uri)
    if not settings.password:
        print("bench_neo4j: error: NEO4J_PASSWORD is not set; export the password of the Neo4j user", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    user_agent = f"deputygraph-bench-neo4j/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    driver = GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password), user_agent=user_agent)
    watchdog: Watchdog | None = None
    started = time.perf_counter()
    try:
        driver.verify_connectivity()
        watchdog = Watchdog(settings, user_agent, deadline)
        result = run(args, TimedGraphStore(driver, settings.database), watchdog)
    except (StoreError, Neo4jError, DriverError, OSError) as error:
        print(f"bench_neo4j: error: {error}", file=sys.stderr)
        return 1
    finally:
        if watchdog is not None:
            watchdog.close()
        driver.close()
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))
    return 1 if result.get("timed_out") else 0


if __name__ == "__main__":
    sys.exit(main())
