"""What the finding rules share: the agents' roles and functions, and probe requests.

A probe asks the real evaluator a question about a caller that the snapshot does not
hold, such as "would a role of this account that may do anything be let through by
the SCPs?" or "may Bedrock, acting for another account's agent, assume this role?".
The probe caller gets one identity-based policy that allows every action, so that the
decision shows what the other policies (SCPs, resource-based policies, trust policies)
decide on their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from engine.authorizer import Authorizer
from engine.evaluator import Evaluation, Request, evaluate
from engine.graph import DeputyGraph, unqualified_function_arn
from engine.inventory import Agent, AgentVersion, LambdaFunction
from engine.paths import Reach
from engine.policy import PolicyKind, PolicySource, Statement, parse_policy
from engine.principals import PrincipalKind, RequestPrincipal
from engine.sensitivity import Sensitivity

PROBE_ROLE_NAME = "deputygraph-probe"
ALLOW_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    PolicySource(PolicyKind.IDENTITY, "deputygraph:probe-allow-all", "probe: allow every action"),
).statements


@dataclass(frozen=True, slots=True)
class AgentUse:
    """One place where an agent runs with a role: a version, or the agent's current settings."""

    agent: Agent
    version: str


@dataclass(frozen=True, slots=True)
class FunctionUse:
    """An action group that calls a Lambda function."""

    agent: Agent
    version: AgentVersion
    action_group: str


@dataclass
class FindingContext:
    """The graph, its inventory and the rules' configuration, with indexes built once."""

    deputy: DeputyGraph
    sensitivity: Sensitivity
    # Every invoker's sensitive blast radius, when the caller has computed it already.
    blast_radii: Mapping[str, Sequence[Reach]] | None = None

    @property
    def authorizer(self) -> Authorizer:
        return self.deputy.authorizer

    @property
    def partition(self) -> str:
        return self.deputy.snapshot.partition

    def agents(self) -> Iterator[Agent]:
        for account in sorted(self.deputy.snapshot.accounts.values(), key=lambda item: item.account_id):
            yield from sorted(account.agents.values(), key=lambda agent: agent.arn)

    def functions(self) -> dict[str, LambdaFunction]:
        return {
            arn: function
            for account in self.deputy.snapshot.accounts.values()
            for arn, function in account.functions.items()
        }

    @cached_property
    def agent_roles(self) -> dict[str, list[AgentUse]]:
        """Execution role ARN -> the agents and versions that run with it."""
        uses: dict[str, list[AgentUse]] = defaultdict(list)
        for agent in self.agents():
            uses[agent.role_arn].append(AgentUse(agent, "current"))
            for version in agent.versions.values():
                uses[version.role_arn].append(AgentUse(agent, version.version))
        return dict(sorted(uses.items()))

    @cached_property
    def action_group_functions(self) -> dict[str, list[FunctionUse]]:
        """Unqualified function ARN -> the action groups that call it."""
        uses: dict[str, list[FunctionUse]] = defaultdict(list)
        for agent in self.agents():
            for version in agent.versions.values():
                for group in version.action_groups:
                    if group.lambda_arn:
                        uses[unqualified_function_arn(group.lambda_arn)].append(FunctionUse(agent, version, group.name))
        return dict(sorted(uses.items()))

    @cached_property
    def lambda_roles(self) -> dict[str, list[str]]:
        """Execution role ARN of an action-group function -> those functions."""
        functions = self.functions()
        roles: dict[str, list[str]] = defaultdict(list)
        for function_arn in self.action_group_functions:
            function = functions.get(function_arn)
            if function is not None:
                roles[function.role_arn].append(function_arn)
        return dict(sorted(roles.items()))

    def node_name(self, node_id: str) -> str:
        data = self.deputy.graph.nodes.get(node_id)
        if data is None:
            return node_id.rsplit("/", 1)[-1]
        return str(data.get("name") or node_id)

    # -- probes -----------------------------------------------------------------------

    def probe_role(self, account: str) -> RequestPrincipal:
        """A role of the account that the snapshot does not hold and no policy names."""
        arn = f"arn:{self.partition}:iam::{account}:role/{PROBE_ROLE_NAME}"
        return RequestPrincipal(
            PrincipalKind.ROLE_SESSION, arn, account, self.partition, "AROAPROBE", PROBE_ROLE_NAME, None
        )

    def probe(
        self,
        principal: RequestPrincipal,
        action: str,
        resource: str,
        *,
        resource_account: str | None,
        resource_is_set: bool = False,
        scps: bool = True,
        resource_policy: bool = True,
        source_arn: str | None = None,
        given: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Evaluation:
        """Evaluate one request for a caller whose identity-based policy allows everything.

        `scps=False` leaves the SCPs out and `resource_policy=False` the resource-based
        policy, so that a probe can ask what one kind of policy decides.
        """
        authorizer = self.authorizer
        policies = authorizer.policy_set(principal, action, resource, resource_account)
        identity: tuple[Statement, ...] = ALLOW_ALL if principal.is_iam_entity else ()
        policies = replace(
            policies,
            identity=identity,
            boundary=None,
            scp_levels=policies.scp_levels if scps else None,
            resource=policies.resource if resource_policy else None,
            organization_key=None,
            organization_cache=None,
        )
        context = authorizer.build_context(principal, resource, resource_account, given=given, source_arn=source_arn)
        request = Request(principal, action, resource, resource_account, context, resource_is_set)
        return evaluate(request, policies)

    def outside_account(self) -> str:
        """An account id that is neither in the snapshot nor in its organization."""
        taken = set(self.deputy.snapshot.accounts)
        organization = self.deputy.snapshot.organization
        if organization is not None:
            taken |= set(organization.account_ids) | {organization.management_account_id}
        candidate = 999999999999
        while str(candidate) in taken:
            candidate -= 1
        return str(candidate)


def statement_evidence_fields(statement: Statement) -> dict[str, object]:
    return {"policy": statement.source.policy_id, "statement_index": statement.index, "sid": statement.sid}
