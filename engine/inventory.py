"""The inventory: what a snapshot says exists, as plain typed records.

Ingestors (a snapshot folder today, live AWS later) produce a `Snapshot`; the graph
builder and the evaluator read only these records, never files or boto3. Policy
documents stay as the JSON objects AWS returns and are parsed by `engine.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PolicyDocument = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    """A policy embedded in one user, group or role."""

    name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A customer or AWS managed policy, with the document of its default version."""

    arn: str
    name: str
    path: str
    document: PolicyDocument
    is_aws_managed: bool


@dataclass(frozen=True, slots=True)
class User:
    arn: str
    name: str
    user_id: str
    account: str
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    inline_policies: tuple[InlinePolicy, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()
    permissions_boundary_arn: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    arn: str
    name: str
    group_id: str
    account: str
    path: str = "/"
    inline_policies: tuple[InlinePolicy, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Role:
    arn: str
    name: str
    role_id: str
    account: str
    trust_policy: PolicyDocument
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    inline_policies: tuple[InlinePolicy, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()
    permissions_boundary_arn: str | None = None
    instance_profile_arns: tuple[str, ...] = ()

    @property
    def is_service_linked(self) -> bool:
        """Service-linked roles live under the `/aws-service-role/` path."""
        return self.path.startswith("/aws-service-role/")


@dataclass(frozen=True, slots=True)
class ServiceLastAccessed:
    """IAM last-accessed data of one role: when it last used each service its policies allow.

    `services` maps a service namespace such as `s3` to the time it was last used, or to
    None when the report lists the service with no access in its tracking period.
    """

    role_arn: str
    services: Mapping[str, str | None]
    job_completed: str | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """An S3 bucket; `policy` is None when the bucket has no bucket policy."""

    name: str
    arn: str
    account: str
    region: str | None = None
    policy: PolicyDocument | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    tags_known: bool = False


@dataclass(frozen=True, slots=True)
class LambdaFunction:
    """A Lambda function; `policy` is its resource-based policy, None when it has none."""

    arn: str
    name: str
    account: str
    region: str
    role_arn: str
    policy: PolicyDocument | None = None
    runtime: str | None = None


@dataclass(frozen=True, slots=True)
class ActionGroup:
    """An action group of one agent version; `lambda_arn` is None for return-of-control groups."""

    action_group_id: str
    name: str
    enabled: bool
    lambda_arn: str | None
    parent_signature: str | None = None


@dataclass(frozen=True, slots=True)
class AgentKnowledgeBase:
    """A knowledge base associated with one agent version."""

    knowledge_base_id: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class GuardrailRef:
    identifier: str
    version: str | None


@dataclass(frozen=True, slots=True)
class AgentVersion:
    """What one agent version runs with: its execution role, action groups and knowledge bases.

    `role_from_agent` is True when the snapshot had no `agent-version.json` for this
    version, so the role (and guardrail) were taken from the agent's current settings.
    """

    version: str
    role_arn: str
    action_groups: tuple[ActionGroup, ...] = ()
    knowledge_bases: tuple[AgentKnowledgeBase, ...] = ()
    guardrail: GuardrailRef | None = None
    foundation_model: str | None = None
    role_from_agent: bool = False


@dataclass(frozen=True, slots=True)
class AgentAlias:
    """An alias; `versions` are the agent versions its routing configuration sends traffic to.

    `routing_known` is False when the snapshot does not say where the alias routes, so
    `versions` may leave out the versions it serves. `status` is AWS's agentAliasStatus,
    where DISSOCIATED means that no version is associated. `invocation_state` is
    aliasInvocationState, where REJECT_INVOCATIONS means the alias is paused. Both are
    None when the snapshot does not give them.
    """

    alias_id: str
    name: str
    arn: str
    versions: tuple[str, ...]
    status: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    invocation_state: str | None = None
    routing_known: bool = True


@dataclass(frozen=True, slots=True)
class Agent:
    arn: str
    agent_id: str
    name: str
    account: str
    region: str
    role_arn: str
    versions: Mapping[str, AgentVersion]
    aliases: tuple[AgentAlias, ...] = ()
    guardrail: GuardrailRef | None = None
    status: str | None = None
    foundation_model: str | None = None


@dataclass(frozen=True, slots=True)
class DataSource:
    """A knowledge-base data source; `bucket_arn` is set for S3 data sources."""

    data_source_id: str
    name: str
    knowledge_base_id: str
    bucket_arn: str | None
    inclusion_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    arn: str
    knowledge_base_id: str
    name: str
    account: str
    region: str
    role_arn: str | None
    data_sources: tuple[DataSource, ...] = ()


@dataclass(frozen=True, slots=True)
class Guardrail:
    arn: str
    guardrail_id: str
    name: str
    account: str
    region: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Trail:
    """A CloudTrail trail with its event selectors as AWS returns them."""

    arn: str
    name: str
    account: str
    home_region: str
    is_multi_region: bool
    is_organization_trail: bool
    event_selectors: tuple[Mapping[str, Any], ...] = ()
    advanced_event_selectors: tuple[Mapping[str, Any], ...] = ()
    selectors_known: bool = False


@dataclass(frozen=True, slots=True)
class OrgPolicy:
    """A service control policy or resource control policy with the ids it is attached to."""

    policy_id: str
    arn: str
    name: str
    policy_type: str  # SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY
    document: PolicyDocument
    aws_managed: bool
    target_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Organization:
    """The organization: its management account, OU tree (child id -> parent id) and policies."""

    organization_id: str
    management_account_id: str
    root_ids: tuple[str, ...]
    account_ids: tuple[str, ...]
    parents: Mapping[str, str]
    policies: tuple[OrgPolicy, ...] = ()
    enabled_policy_types: frozenset[str] = frozenset()


@dataclass(slots=True)
class AccountInventory:
    """Everything the snapshot holds for one account, keyed by ARN."""

    account_id: str
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    managed_policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    functions: dict[str, LambdaFunction] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    knowledge_bases: dict[str, KnowledgeBase] = field(default_factory=dict)
    guardrails: dict[str, Guardrail] = field(default_factory=dict)
    trails: dict[str, Trail] = field(default_factory=dict)
    last_accessed: dict[str, ServiceLastAccessed] = field(default_factory=dict)  # keyed by role ARN
    # Which parts of the account the snapshot covers: "iam", "s3", and
    # "lambda:REGION", "bedrock-agent:REGION", "bedrock:REGION", "cloudtrail:REGION".
    coverage: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class CollectionGap:
    """Data that `deputy collect` could not read, from the `gaps` of manifest.json.

    `account` is None for the organization, `region` None for global services, and
    `resource` the ARN or id of the one resource the call was about, if any. `cause` is
    `access-denied`, `scp`, `throttled` or `error`.
    """

    service: str
    operation: str
    subject: str
    error_code: str
    cause: str
    account: str | None = None
    region: str | None = None
    resource: str | None = None

    def sentence(self) -> str:
        """Return the "not analysed: ..." line that reports show for this gap."""
        where = f"account {self.account}" if self.account else "the organization"
        if self.region:
            where += f" ({self.region})"
        denied_by = ", denied by a service control policy" if self.cause == "scp" else ""
        return f"not analysed: {self.subject} in {where}: {self.operation} failed with {self.error_code}{denied_by}"


@dataclass(slots=True)
class Snapshot:
    """A whole snapshot: accounts, the organization if present, and what could not be seen."""

    path: str
    partition: str = "aws"
    collected_at: str | None = None
    accounts: dict[str, AccountInventory] = field(default_factory=dict)
    organization: Organization | None = None
    # One sentence per gap, for example "s3: not in snapshot for account 111122223333".
    not_seen: list[str] = field(default_factory=list)
    # The calls that failed while `deputy collect` wrote the snapshot; empty for hand-made ones.
    gaps: tuple[CollectionGap, ...] = ()
