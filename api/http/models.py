"""Response and request bodies of the REST API, with the examples shown at /docs."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ALICE = "arn:aws:iam::111122223333:user/alice"
HR_ALIAS = "arn:aws:bedrock:us-east-1:111122223333:agent-alias/Q7HRX2KD4N/PRD4N8XK2Z"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
INFRA_ROLE = "arn:aws:iam::111122223333:role/infra-vpc-provisioner-role"
SESSION = "arn:aws:sts::111122223333:assumed-role/infra-vpc-provisioner-role/run-1"

Item = TypeVar("Item")

# Bounds on a decision request's context, so one request cannot carry an unbounded body.
ContextKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]
ContextValues = Annotated[list[Annotated[str, StringConstraints(max_length=1024)]], Field(max_length=64)]


class PathNode(BaseModel):
    """One node on a path."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"arn": ALICE, "label": "User", "name": "alice"}]},
    )

    arn: str = Field(description="node id; an ARN except for VpcApi nodes and agent versions")
    label: str = Field(description="graph label, such as User, Role, AgentAlias or S3Bucket")
    name: str | None = Field(description="short name for people")


class PathEdge(BaseModel):
    """One relationship on a path, with the policy statements that grant it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "CAN_INVOKE_AGENT",
                    "source": ALICE,
                    "target": HR_ALIAS,
                    "reason": "may invoke the agent alias (bedrock:InvokeAgent), granted by ...",
                    "conditional": False,
                    "statement_refs": ["arn:aws:iam::111122223333:policy/developers-bedrock-access#0"],
                }
            ]
        },
    )

    type: str = Field(description="relationship type, such as CAN_ASSUME or ROUTES_TO")
    source: str = Field(description="id of the node the relationship starts at")
    target: str = Field(description="id of the node the relationship ends at")
    reason: str | None = Field(description="sentence that explains the step")
    conditional: bool = Field(description="true when the granting policies depend on a value a snapshot cannot hold")
    potential: str | None = Field(
        default=None,
        description="for an escalation step that assumes a resource or credentials the snapshot does not show, "
        "that assumption; null otherwise",
    )
    statement_refs: list[str] = Field(description="granting statements as POLICY_ID#STATEMENT_INDEX")


class PathResult(BaseModel):
    """One target reached from a start node, with the shortest path that explains it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": ALICE,
                    "target": HR_BUCKET,
                    "target_label": "S3Bucket",
                    "access": "read",
                    "weak": False,
                    "conditional": False,
                    "through_agent": True,
                    "confused_deputy": True,
                    "hops": 5,
                    "nodes": [{"arn": ALICE, "label": "User", "name": "alice"}],
                    "edges": [],
                }
            ]
        },
    )

    start: str = Field(description="user, role or agent alias where the path starts")
    target: str = Field(description="id of the node reached")
    target_label: str = Field(description="graph label of the target")
    access: str = Field(description="read, write, call or modify for a resource; act-as, invoke or retrieve otherwise")
    weak: bool = Field(description="true when the path relies on an agent's own execution role")
    conditional: bool = Field(description="true when some step depends on a condition a snapshot cannot decide")
    potential: bool = Field(
        default=False, description="true when some step assumes what the snapshot does not show (see its edge)"
    )
    through_agent: bool = Field(description="true when the path invokes a Bedrock agent alias")
    confused_deputy: bool | None = Field(
        description="true when the start could not reach the target without the agent; null for an agent's own reach"
    )
    hops: int = Field(description="number of relationships on the path")
    nodes: list[PathNode]
    edges: list[PathEdge]


class Page(BaseModel, Generic[Item]):
    """One page of a list in a stable order; request the next with offset=next_offset."""

    items: list[Item]
    total: int = Field(description="number of items in the whole list")
    offset: int = Field(description="index of the first item of this page")
    limit: int = Field(description="maximum number of items in a page")
    next_offset: int | None = Field(description="offset of the next page, or null on the last page")


class ResolvedSession(BaseModel):
    """An assumed-role session ARN that the request named, and the role whose paths the response contains."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "arn": SESSION,
                    "role": INFRA_ROLE,
                    "note": f"{SESSION} is a session of role {INFRA_ROLE}, so these are the role's paths. ...",
                }
            ]
        },
    )

    arn: str = Field(description="the assumed-role session ARN that the request named")
    role: str = Field(description="ARN of the session's role, where the paths start")
    note: str = Field(
        description="sentence that states what the response leaves out: session policies and session tags"
    )


class PrincipalPage(Page[PathResult]):
    """One page of the paths from a user or role, or from the role of an assumed-role session."""

    session: ResolvedSession | None = Field(
        default=None, description="set when the request named an assumed-role session instead of a user or role"
    )
    not_seen: list[str] = Field(
        default_factory=list,
        description="what the snapshot could not show that may hide paths from this principal: notes about "
        "nodes it reaches, and notes about the whole snapshot such as no organization data",
    )


class Build(BaseModel):
    """One graph build: the snapshot it came from, its status and counts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "build": "20261204T230000Z-1a2b3c4d",
                    "status": "succeeded",
                    "current": True,
                    "snapshot": "examples/shared-hr-agent",
                    "started_at": "2026-12-04T23:00:00.000000+00:00",
                    "finished_at": "2026-12-04T23:00:02.000000+00:00",
                    "nodes": 59,
                    "relationships": 141,
                    "attack_paths": 23,
                    "error": None,
                },
                {
                    "build": "20261204T220000Z-9f8e7d6c",
                    "status": "failed",
                    "current": False,
                    "snapshot": "examples/shared-hr-agent",
                    "started_at": "2026-12-04T22:00:00.000000+00:00",
                    "finished_at": "2026-12-04T22:00:01.000000+00:00",
                    "nodes": 0,
                    "relationships": 0,
                    "attack_paths": None,
                    "error": "examples/shared-hr-agent/111122223333/iam/authorization-details.json: not valid JSON",
                },
            ]
        },
    )

    build: str = Field(description="build id")
    status: str = Field(
        description="running; succeeded; failed (see error); removed: succeeded, then deleted to keep only newer builds"
    )
    current: bool = Field(description="true for the build that queries read")
    snapshot: str = Field(description="snapshot folder the build was made from")
    started_at: str = Field(description="UTC time the build started, ISO 8601")
    finished_at: str | None = Field(description="UTC time the build finished, ISO 8601; null while it runs")
    nodes: int = Field(description="nodes written; 0 until the build succeeds")
    relationships: int = Field(description="relationships written; 0 until the build succeeds")
    attack_paths: int | None = Field(description="confused-deputy paths in the build; null until it succeeds")
    error: str | None = Field(description="why a failed build failed")


class BuildStarted(BaseModel):
    """A rebuild that was accepted and runs in the background."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"build": "20261204T230000Z-1a2b3c4d", "status": "running"}]},
    )

    build: str = Field(description="id of the new build; follow it at /v1/builds/{build}")
    status: str = Field(description="running")


class AttackPathKey(BaseModel):
    """A confused-deputy path, identified by its invoker, target and access."""

    invoker: str = Field(description="user or role that invokes the agent")
    target: str = Field(description="resource reached")
    access: str = Field(description="read, write, call or modify")


class TargetAccess(BaseModel):
    """A sensitive target and the access to it."""

    target: str
    access: str


class ReachGrowth(BaseModel):
    """A principal that reaches sensitive targets in the newer build that it did not reach in the older one."""

    principal: str = Field(description="user or role ARN")
    added: list[TargetAccess] = Field(description="sensitive targets and access it gained, sorted")


class BuildDiff(BaseModel):
    """What changed from one build to a later one.

    Each list is sorted and sliced from `offset` to at most `limit` items. The totals give
    the full sizes, and `next_offset` is null once every list is complete.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_build": "20261204T220000Z-9f8e7d6c",
                    "to_build": "20261204T230000Z-1a2b3c4d",
                    "paths_added": [{"invoker": ALICE, "target": HR_BUCKET, "access": "read"}],
                    "paths_added_total": 1,
                    "paths_removed": [],
                    "paths_removed_total": 0,
                    "reach_grew": [{"principal": ALICE, "added": [{"target": HR_BUCKET, "access": "read"}]}],
                    "reach_grew_total": 1,
                    "offset": 0,
                    "limit": 100,
                    "next_offset": None,
                }
            ]
        },
    )

    from_build: str = Field(description="the older build")
    to_build: str = Field(description="the newer build")
    paths_added: list[AttackPathKey] = Field(description="confused-deputy paths only in the newer build")
    paths_added_total: int
    paths_removed: list[AttackPathKey] = Field(description="confused-deputy paths only in the older build")
    paths_removed_total: int
    reach_grew: list[ReachGrowth] = Field(description="principals whose sensitive reach grew")
    reach_grew_total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="offset of the next slice of the lists, or null when none is longer")


class DecisionRequest(BaseModel):
    """One request to evaluate, as `deputy check` takes it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "principal": ALICE,
                    "action": "s3:GetObject",
                    "resource": "arn:aws:s3:::acme-hr-policies/handbook.pdf",
                    "context": {"aws:SourceIp": ["203.0.113.7"]},
                }
            ]
        },
    )

    principal: str = Field(
        min_length=1,
        max_length=2048,
        description="user, role or assumed-role session ARN, a service principal, or 'anonymous'",
    )
    action: str = Field(
        min_length=1,
        max_length=256,
        description="one action such as s3:GetObject",
        json_schema_extra={"pattern": r"^[A-Za-z0-9-]+:[A-Za-z0-9]+$"},
    )
    resource: str = Field(
        min_length=1,
        max_length=2048,
        description="resource ARN, or *",
        json_schema_extra={"pattern": r"^(\*|arn:[^:]+:[^:]+:[^:]*:[^:]*:.*)$"},
    )
    context: dict[ContextKey, ContextValues] = Field(
        default_factory=dict,
        max_length=64,
        description="condition key values; a key with several values is multivalued",
    )


class Statement(BaseModel):
    """One policy statement that took part in a decision."""

    policy: str = Field(description="policy id: a managed policy ARN or OWNER_ARN#inline:NAME and similar forms")
    policy_name: str
    policy_kind: str = Field(description="identity, boundary, scp, rcp, resource or trust")
    statement_index: int = Field(description="position of the statement in the policy, from 0")
    sid: str | None
    effect: str
    document: dict[str, Any] = Field(description="the statement's Action, Resource and Condition elements")


class Condition(BaseModel):
    """A condition the decision depends on and the request could not settle."""

    effect: str = Field(description="allow-if: needed for the allow; deny-if: would deny")
    operator: str
    key: str
    values: list[str]


class Decision(BaseModel):
    """The decision for one request, like AWS's policy simulator gives it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "principal": ALICE,
                    "action": "s3:GetObject",
                    "access_level": "Read",
                    "resource": "arn:aws:s3:::acme-hr-policies/handbook.pdf",
                    "decision": "deny",
                    "reason": "no statement allows the request",
                    "granting": [],
                    "permitting": [],
                    "denying": [],
                    "conditions": [],
                    "missing_context_keys": [],
                }
            ]
        },
    )

    principal: str
    action: str = Field(description="the action as AWS spells it")
    access_level: str = Field(description="List, Read, Write, Permissions management or Tagging")
    resource: str
    decision: str = Field(description="allow, deny or conditional")
    reason: str
    granting: list[Statement] = Field(description="identity-based and resource-based Allow statements that apply")
    permitting: list[Statement] = Field(description="boundary, SCP and RCP Allow statements that apply")
    denying: list[Statement] = Field(description="Deny statements that apply or may apply")
    conditions: list[Condition]
    missing_context_keys: list[str] = Field(description="condition keys the policies read that the request lacks")


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"detail": "invalid API key"}]},
    )

    detail: str = Field(description="what failed and what to do")
    request_id: str | None = Field(default=None, description="request id of a 500, for the service log")


class Health(BaseModel):
    """Liveness or readiness of the service."""

    status: str = Field(description="ok, or unavailable with the reason in detail")
    backend: str = Field(description="embedded or neo4j")
    detail: str | None = None
