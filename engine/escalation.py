"""Privilege-escalation edges: the ways a principal comes to act with stronger permissions.

The catalogue below lists the known techniques, the actions each one needs and the node
the caller reaches. Every action is a decision of the same `Authorizer` that gives the
other permission edges, so SCPs, RCPs, permissions boundaries and conditions apply. A
technique gives an edge when, for every group of its actions, at least one action is
allowed or conditionally allowed. The edge is conditional when some group holds only
conditionally.

Three kinds of targets:

- An existing user or role, whose present permissions the caller then uses: new access
  keys or a console password for a user, a rewritten trust policy, a role passed to a
  service that runs the caller's code, or a resource that already runs as the role.
- A Lambda function of the snapshot, whose code or layers the caller replaces; the walk
  continues through the function's execution role.
- An `EscalatedPrincipal`: a principal whose policies the caller has rewritten. Writing
  an identity-based policy (attach, put, a new default policy version) gives the
  written principal any permission its permissions boundary, the SCPs and the resource
  policies let through. That is one node per account and boundary, `any-policy:ACCOUNT`
  or `any-policy:ACCOUNT|BOUNDARY_ARN`, with an `Allow * on *` identity policy. Joining a
  group gives a member's permissions, `GROUP_ARN#member`, and removing a boundary gives
  the principal's own policies without it, `PRINCIPAL_ARN#no-boundary`.

A policy write gives an exact edge only when someone can both make the write and act as
the principal written: the caller on itself or on a user or role it reaches through
`CAN_ASSUME` and the other escalation edges, with the edge leaving the caller; or a
principal that reaches the caller that way, on itself or on a principal it alone acts as,
with the edge leaving that principal. A write on another user is also a potential edge
from the caller, since whoever also holds that user's access keys or password gains what
the write gives, and a snapshot does not record who has them. An `EscalatedPrincipal`
carries no principal ARN or tags, so a condition on them is unknowable there and makes
its edges conditional.

A technique that needs an existing resource the snapshot has no inventory of (an
instance, a stack, a development endpoint, a notebook, an event source, a cluster, a
console password, a second policy version) gives a *potential* edge whose `potential`
property states that assumption; `build_graph(..., potential=False)` leaves them out.

Not modelled here:

- a write that helps a principal reaching the caller only through an agent (its edge
  leaves the caller as a potential one);
- writes found by walking edges that other writes add;
- writes on principals reached only through conditional or potential edges;
- attaching a managed policy other than AdministratorAccess where a condition on
  `iam:PolicyARN` allows only some;
- the two-access-key limit of a user;
- the `sts:AssumeRole` decision after a trust policy is rewritten (the SCPs and boundary
  are not checked for it);
- policy writes and group changes made by an `EscalatedPrincipal`;
- passing a new role to an existing Lambda function, and pointing an action group at an
  existing function;
- creating an instance profile for a role that has none, except for EC2 and Data
  Pipeline, where the two IAM actions it needs are evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from engine.actions import action_info, resource_set_arn
from engine.arn import service_principal_suffix
from engine.authorizer import Authorizer
from engine.evaluator import Decision, Evaluation
from engine.inventory import LambdaFunction, Role, User
from engine.matching import arn_pattern_intersects
from engine.model import Rel
from engine.policy import PolicyKind, PolicySource, Statement, parse_policy
from engine.principals import PrincipalKind, RequestPrincipal


class Target(StrEnum):
    """The kind of node a technique reaches."""

    USER = "user"  # another user of the caller's account
    ROLE = "role"  # a role of the caller's account that is not service-linked
    PASSED_ROLE = "passed-role"  # a role that the service may assume, passed with iam:PassRole
    SERVICE_ROLE = "service-role"  # a role that the service may assume, used by an existing resource
    INSTANCE_ROLE = "instance-role"  # a role in an instance profile, used by an existing instance
    FUNCTION = "function"  # a Lambda function of the snapshot


@dataclass(frozen=True, slots=True)
class Technique:
    """One escalation technique: its edge type, tag, sentence and the actions it needs.

    `needs` contains groups of actions, and each group needs one allowed action. `service` is
    the service principal's first label (`lambda` for `lambda.amazonaws.com`) that must
    be trusted by the role; `passed_to` is the `iam:PassedToService` value sent with the
    PassRole request, and None where AWS's documentation does not settle it (the key is
    then unknowable). `potential` states the assumption about a resource outside the
    snapshot; `weak` marks a role that the service uses for its own calls only.
    """

    rel: Rel
    tag: str
    sentence: str
    needs: tuple[tuple[str, ...], ...]
    target: Target
    service: str | None = None
    passed_to: str | None = None
    needs_instance_profile: bool = False
    potential: str | None = None
    weak: bool = False


_INSTANCE = (
    "assumes a running EC2 instance with this role in its instance profile; the snapshot has no inventory of instances"
)

# Exact techniques that reach any principal come first: once a caller has an
# unconditional, exact edge to a target, later techniques are not evaluated for it.
CATALOGUE: tuple[Technique, ...] = (
    Technique(
        Rel.CAN_UPDATE_ASSUME_ROLE_POLICY,
        "update-assume-role-policy",
        "may rewrite the role's trust policy to trust itself, then assume the role ({actions})",
        (("iam:UpdateAssumeRolePolicy",),),
        Target.ROLE,
    ),
    Technique(
        Rel.CAN_CREATE_ACCESS_KEY,
        "create-access-key",
        "may create an access key for the user and sign in as the user ({actions})",
        (("iam:CreateAccessKey",),),
        Target.USER,
    ),
    Technique(
        Rel.CAN_CREATE_LOGIN_PROFILE,
        "create-login-profile",
        "may set a console password for the user and sign in as the user ({actions})",
        (("iam:CreateLoginProfile",),),
        Target.USER,
        potential="assumes the user has no console password yet; the snapshot does not record passwords",
    ),
    Technique(
        Rel.CAN_UPDATE_LOGIN_PROFILE,
        "update-login-profile",
        "may change the user's console password and sign in as the user ({actions})",
        (("iam:UpdateLoginProfile",),),
        Target.USER,
        potential="assumes the user has a console password; the snapshot does not record passwords",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_LAMBDA,
        "pass-role-lambda",
        "may pass the role to a new Lambda function and invoke it ({actions})",
        (("iam:PassRole",), ("lambda:CreateFunction",), ("lambda:InvokeFunction",)),
        Target.PASSED_ROLE,
        service="lambda",
        passed_to="lambda",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_EC2,
        "pass-role-ec2",
        "may pass the role to a new EC2 instance that runs its own user data ({actions})",
        (("iam:PassRole",), ("ec2:RunInstances",)),
        Target.PASSED_ROLE,
        service="ec2",
        passed_to="ec2",
        needs_instance_profile=True,
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_CLOUDFORMATION,
        "pass-role-cloudformation",
        "may pass the role to a new CloudFormation stack whose template it writes ({actions})",
        (("iam:PassRole",), ("cloudformation:CreateStack",)),
        Target.PASSED_ROLE,
        service="cloudformation",
        passed_to="cloudformation",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT,
        "pass-role-glue-dev-endpoint",
        "may pass the role to a new Glue development endpoint and log in to it ({actions})",
        (("iam:PassRole",), ("glue:CreateDevEndpoint",)),
        Target.PASSED_ROLE,
        service="glue",
        passed_to="glue",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_GLUE_JOB,
        "pass-role-glue-job",
        "may pass the role to a new Glue job and run it ({actions})",
        (("iam:PassRole",), ("glue:CreateJob",), ("glue:StartJobRun",)),
        Target.PASSED_ROLE,
        service="glue",
        passed_to="glue",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_DATA_PIPELINE,
        "pass-role-data-pipeline",
        "may pass the role as the resource role of a new Data Pipeline that runs its commands ({actions})",
        (
            ("iam:PassRole",),
            ("datapipeline:CreatePipeline",),
            ("datapipeline:PutPipelineDefinition",),
            ("datapipeline:ActivatePipeline",),
        ),
        Target.PASSED_ROLE,
        service="ec2",
        needs_instance_profile=True,
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_CODEBUILD,
        "pass-role-codebuild",
        "may pass the role to a new CodeBuild project whose build commands it writes, and start it ({actions})",
        (("iam:PassRole",), ("codebuild:CreateProject",), ("codebuild:StartBuild", "codebuild:StartBuildBatch")),
        Target.PASSED_ROLE,
        service="codebuild",
        passed_to="codebuild",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK,
        "pass-role-sagemaker-notebook",
        "may pass the role to a new SageMaker notebook instance and open it ({actions})",
        (
            ("iam:PassRole",),
            ("sagemaker:CreateNotebookInstance",),
            ("sagemaker:CreatePresignedNotebookInstanceUrl",),
        ),
        Target.PASSED_ROLE,
        service="sagemaker",
        passed_to="sagemaker",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING,
        "pass-role-sagemaker-training",
        "may pass the role to a new SageMaker training job that runs its container ({actions})",
        (("iam:PassRole",), ("sagemaker:CreateTrainingJob",)),
        Target.PASSED_ROLE,
        service="sagemaker",
        passed_to="sagemaker",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING,
        "pass-role-sagemaker-processing",
        "may pass the role to a new SageMaker processing job that runs its container ({actions})",
        (("iam:PassRole",), ("sagemaker:CreateProcessingJob",)),
        Target.PASSED_ROLE,
        service="sagemaker",
        passed_to="sagemaker",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_AGENTCORE_CODE_INTERPRETER,
        "pass-role-agentcore-code-interpreter",
        "may pass the role to a new AgentCore code interpreter and run its code there ({actions})",
        (
            ("iam:PassRole",),
            ("bedrock-agentcore:CreateCodeInterpreter",),
            ("bedrock-agentcore:StartCodeInterpreterSession",),
            ("bedrock-agentcore:InvokeCodeInterpreter",),
        ),
        Target.PASSED_ROLE,
        service="bedrock-agentcore",
        passed_to="bedrock-agentcore",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME,
        "pass-role-agentcore-runtime",
        "may pass the role to a new AgentCore runtime that runs its agent code, and invoke it ({actions})",
        (
            ("iam:PassRole",),
            ("bedrock-agentcore:CreateAgentRuntime",),
            ("bedrock-agentcore:InvokeAgentRuntime",),
        ),
        Target.PASSED_ROLE,
        service="bedrock-agentcore",
        passed_to="bedrock-agentcore",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_ACTION_GROUP_LAMBDA,
        "pass-role-action-group-lambda",
        "may pass the role to a new Lambda function, point an agent's action group at it and invoke the agent "
        "({actions})",
        (
            ("iam:PassRole",),
            ("lambda:CreateFunction",),
            ("lambda:AddPermission",),
            ("bedrock:CreateAgentActionGroup", "bedrock:UpdateAgentActionGroup"),
            ("bedrock:PrepareAgent",),
            ("bedrock:InvokeAgent",),
        ),
        Target.PASSED_ROLE,
        service="lambda",
        passed_to="lambda",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_BEDROCK_AGENT,
        "pass-role-bedrock-agent",
        "may make the role an agent's execution role and invoke the agent ({actions})",
        (("iam:PassRole",), ("bedrock:CreateAgent", "bedrock:UpdateAgent"), ("bedrock:InvokeAgent",)),
        Target.PASSED_ROLE,
        service="bedrock",
        passed_to="bedrock",
        weak=True,
    ),
    Technique(
        Rel.CAN_UPDATE_FUNCTION_CODE,
        "update-function-code",
        "may replace the function's code, which then runs with its execution role ({actions})",
        (("lambda:UpdateFunctionCode",),),
        Target.FUNCTION,
    ),
    Technique(
        Rel.CAN_UPDATE_FUNCTION_CONFIGURATION,
        "update-function-configuration",
        "may add a layer of its own code to the function, which then runs with its execution role ({actions})",
        (("lambda:UpdateFunctionConfiguration",),),
        Target.FUNCTION,
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE,
        "pass-role-lambda-event-source",
        "may pass the role to a new Lambda function and have an event source trigger it ({actions})",
        (("iam:PassRole",), ("lambda:CreateFunction",), ("lambda:CreateEventSourceMapping",)),
        Target.PASSED_ROLE,
        service="lambda",
        passed_to="lambda",
        potential="assumes a DynamoDB stream, Kinesis stream or SQS queue to trigger the function; "
        "the snapshot has no inventory of them",
    ),
    Technique(
        Rel.CAN_PASS_ROLE_TO_ECS,
        "pass-role-ecs",
        "may pass the role to a new ECS task definition and run the task ({actions})",
        (("iam:PassRole",), ("ecs:RegisterTaskDefinition",), ("ecs:RunTask", "ecs:StartTask")),
        Target.PASSED_ROLE,
        service="ecs-tasks",
        passed_to="ecs-tasks",
        potential="assumes an ECS cluster to run the task in; the snapshot has no inventory of clusters",
    ),
    Technique(
        Rel.CAN_UPDATE_STACK,
        "update-stack",
        "may update a CloudFormation stack that runs with the role, with a template it writes ({actions})",
        (("cloudformation:UpdateStack",),),
        Target.SERVICE_ROLE,
        service="cloudformation",
        potential="assumes a stack with this role as its service role; the snapshot has no inventory of stacks",
    ),
    Technique(
        Rel.CAN_UPDATE_GLUE_DEV_ENDPOINT,
        "update-glue-dev-endpoint",
        "may add its SSH key to a Glue development endpoint that runs with the role ({actions})",
        (("glue:UpdateDevEndpoint",),),
        Target.SERVICE_ROLE,
        service="glue",
        potential="assumes a development endpoint with this role; the snapshot has no inventory of endpoints",
    ),
    Technique(
        Rel.CAN_OPEN_NOTEBOOK,
        "open-sagemaker-notebook",
        "may open a SageMaker notebook instance that runs with the role ({actions})",
        (("sagemaker:CreatePresignedNotebookInstanceUrl",),),
        Target.SERVICE_ROLE,
        service="sagemaker",
        potential="assumes a notebook instance with this role; the snapshot has no inventory of notebooks",
    ),
    Technique(
        Rel.CAN_SEND_COMMAND,
        "ssm-send-command",
        "may run commands on an EC2 instance with the role through Systems Manager ({actions})",
        (("ssm:SendCommand",),),
        Target.INSTANCE_ROLE,
        service="ec2",
        potential=_INSTANCE,
    ),
    Technique(
        Rel.CAN_START_SESSION,
        "ssm-start-session",
        "may open a shell on an EC2 instance with the role through Session Manager ({actions})",
        (("ssm:StartSession",),),
        Target.INSTANCE_ROLE,
        service="ec2",
        potential=_INSTANCE,
    ),
    Technique(
        Rel.CAN_SEND_SSH_PUBLIC_KEY,
        "ec2-instance-connect",
        "may push an SSH key to an EC2 instance with the role and log in ({actions})",
        (("ec2-instance-connect:SendSSHPublicKey", "ec2-instance-connect:SendSerialConsoleSSHPublicKey"),),
        Target.INSTANCE_ROLE,
        service="ec2",
        potential=_INSTANCE,
    ),
)


class Write(StrEnum):
    """The kind of change a policy-writing technique makes."""

    USER_POLICY = "user-policy"
    ROLE_POLICY = "role-policy"
    GROUP_POLICY = "group-policy"
    POLICY_VERSION = "policy-version"
    BOUNDARY = "boundary"
    MEMBERSHIP = "membership"


@dataclass(frozen=True, slots=True)
class PolicyWrite:
    """A technique that rewrites policies; any one of `actions` suffices."""

    rel: Rel
    tag: str
    sentence: str
    actions: tuple[str, ...]
    write: Write
    potential: str | None = None


WRITES: tuple[PolicyWrite, ...] = (
    PolicyWrite(
        Rel.CAN_ATTACH_USER_POLICY,
        "attach-user-policy",
        "may attach any managed policy to a user ({actions})",
        ("iam:AttachUserPolicy",),
        Write.USER_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_PUT_USER_POLICY,
        "put-user-policy",
        "may write an inline policy into a user ({actions})",
        ("iam:PutUserPolicy",),
        Write.USER_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_ATTACH_ROLE_POLICY,
        "attach-role-policy",
        "may attach any managed policy to a role ({actions})",
        ("iam:AttachRolePolicy",),
        Write.ROLE_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_PUT_ROLE_POLICY,
        "put-role-policy",
        "may write an inline policy into a role ({actions})",
        ("iam:PutRolePolicy",),
        Write.ROLE_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_ATTACH_GROUP_POLICY,
        "attach-group-policy",
        "may attach any managed policy to a group of a user ({actions})",
        ("iam:AttachGroupPolicy",),
        Write.GROUP_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_PUT_GROUP_POLICY,
        "put-group-policy",
        "may write an inline policy into a group of a user ({actions})",
        ("iam:PutGroupPolicy",),
        Write.GROUP_POLICY,
    ),
    PolicyWrite(
        Rel.CAN_CREATE_POLICY_VERSION,
        "create-policy-version",
        "may write a new default version of a managed policy attached to a principal ({actions})",
        ("iam:CreatePolicyVersion",),
        Write.POLICY_VERSION,
    ),
    PolicyWrite(
        Rel.CAN_SET_DEFAULT_POLICY_VERSION,
        "set-default-policy-version",
        "may make another version of a managed policy attached to a principal the default ({actions})",
        ("iam:SetDefaultPolicyVersion",),
        Write.POLICY_VERSION,
        potential="assumes the policy has another version that grants more; the snapshot holds only the "
        "default version, and the edge gives any permission",
    ),
    PolicyWrite(
        Rel.CAN_DELETE_PERMISSIONS_BOUNDARY,
        "delete-permissions-boundary",
        "may remove the permissions boundary of a principal ({actions})",
        ("iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary"),
        Write.BOUNDARY,
    ),
    PolicyWrite(
        Rel.CAN_PUT_PERMISSIONS_BOUNDARY,
        "put-permissions-boundary",
        "may replace the permissions boundary of a principal with a permissive one ({actions})",
        ("iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary"),
        Write.BOUNDARY,
    ),
    PolicyWrite(
        Rel.CAN_ADD_USER_TO_GROUP,
        "add-user-to-group",
        "may add a user to the group, which then has the group's permissions ({actions})",
        ("iam:AddUserToGroup",),
        Write.MEMBERSHIP,
    ),
)

WRITE_ACTIONS = frozenset(action for write in WRITES for action in write.actions)


@dataclass(frozen=True, slots=True)
class VirtualPrincipal:
    """An `EscalatedPrincipal` node: a principal with policies that an attacker chose."""

    node_id: str
    name: str
    account: str
    kind: str  # "any-policy", "group-member" or "no-boundary"
    statements: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None
    boundary_arn: str | None

    def request_principal(self, partition: str) -> RequestPrincipal:
        kind = PrincipalKind.USER if self.kind == "group-member" else PrincipalKind.ROLE_SESSION
        return RequestPrincipal(kind, self.node_id, self.account, partition, None, self.name)


@dataclass(frozen=True, slots=True)
class EscalationEdge:
    """One derived edge, with the decision behind each allowed action."""

    source: str
    target: str
    rel: Rel
    tag: str
    sentence: str
    granted: tuple[tuple[str, Evaluation], ...]
    conditional: bool
    potential: str | None = None
    weak: bool = False
    note: str | None = None
    virtual: VirtualPrincipal | None = None

    @property
    def exact(self) -> bool:
        return not self.conditional and self.potential is None


class Decide(Protocol):
    """One policy decision; `is_set` marks a resource ARN pattern that stands for a set."""

    def __call__(
        self,
        principal: RequestPrincipal,
        action: str,
        resource: str,
        *,
        account: str | None,
        is_set: bool,
        given: Mapping[str, tuple[str, ...]] | None,
    ) -> Evaluation: ...


class EscalationRules:
    """Derive escalation edges for the principals of one snapshot.

    `trusted_by` maps a service principal name to the roles it may assume (the targets
    of its `CAN_ASSUME` edges).
    """

    def __init__(
        self,
        authorizer: Authorizer,
        decide: Decide,
        *,
        trusted_by: Mapping[str, frozenset[str]],
        functions: Iterable[LambdaFunction],
        potential: bool = True,
    ) -> None:
        self.authorizer = authorizer
        self.decide = decide
        self.partition = authorizer.partition
        self.suffix = service_principal_suffix(self.partition)
        self.trusted_by = trusted_by
        self.functions = sorted(functions, key=lambda function: function.arn)
        self.catalogue = tuple(t for t in CATALOGUE if potential or t.potential is None)
        self.writes = tuple(w for w in WRITES if potential or w.potential is None)
        self.virtuals: dict[str, VirtualPrincipal] = {}
        self.groups = {
            (group.account, group.name): group.arn
            for account in authorizer.snapshot.accounts.values()
            for group in account.groups.values()
        }
        self.lambda_accounts = {
            account.account_id
            for account in authorizer.snapshot.accounts.values()
            if any(entry.startswith("lambda:") for entry in account.coverage)
        }
        self.potential = potential
        self.managed_arns = {
            arn for account in authorizer.snapshot.accounts.values() for arn in account.managed_policies
        }

    # -- techniques that reach an existing principal or function ----------------------------

    def act_as_edges(self, node_id: str, principal: RequestPrincipal) -> list[EscalationEdge]:
        """Edges from one principal to the users, roles and functions it can come to act as."""
        statements = self.authorizer.identity_statements(node_id)
        if not any(statement.is_allow for statement in statements):
            return []
        edges: list[EscalationEdge] = []
        done: set[str] = {node_id}
        for listed in self.catalogue:
            technique = self._for_account(listed, principal.account)
            if technique is None:
                continue
            if not all(any(_may_allow(statements, action) for action in group) for group in technique.needs):
                continue
            shared = self._shared_decisions(principal, technique)
            if shared is None:
                continue
            for target, resource in self._candidates(principal, technique, statements):
                if target in done:
                    continue
                edge = self._technique_edge(
                    node_id, principal, technique=technique, shared=shared, target=target, resource=resource
                )
                if edge is None:
                    continue
                edges.append(edge)
                if edge.exact and not edge.weak:
                    done.add(target)
        return edges

    def _for_account(self, technique: Technique, account: str | None) -> Technique | None:
        """The technique as it applies in one account: a function edit without Lambda data is potential."""
        if technique.target is not Target.FUNCTION or account in self.lambda_accounts:
            return technique
        if not self.potential:
            return None
        return replace(
            technique,
            target=Target.SERVICE_ROLE,
            service="lambda",
            potential="assumes a Lambda function that runs with this role; the snapshot has no Lambda data "
            "for this account",
        )

    def _target_actions(self, technique: Technique) -> frozenset[str]:
        """Return the actions decided per target; the others are decided once per caller."""
        if technique.target in (Target.USER, Target.ROLE, Target.FUNCTION):
            return frozenset(action for group in technique.needs for action in group)
        if technique.target is Target.PASSED_ROLE:
            return frozenset({"iam:PassRole"})
        return frozenset()

    def _shared_decisions(self, principal: RequestPrincipal, technique: Technique) -> dict[str, Evaluation] | None:
        """Decide the actions that create a new resource, on every resource of that type in the account."""
        per_target = self._target_actions(technique)
        decisions: dict[str, Evaluation] = {}
        for group in technique.needs:
            if all(action in per_target for action in group):
                continue
            allowed = False
            for action in group:
                evaluation = self._on_account_set(principal, action)
                if evaluation.decision is not Decision.DENY:
                    decisions[action] = evaluation
                    allowed = True
            if not allowed:
                return None
        return decisions

    def _candidates(
        self, principal: RequestPrincipal, technique: Technique, statements: tuple[Statement, ...]
    ) -> list[tuple[str, str]]:
        """(target node, resource ARN decided per target) pairs, pruned by the caller's Resource patterns."""
        account = principal.account
        if technique.target is Target.USER:
            users = [u for u in self.authorizer.users() if u.account == account]
            return [(u.arn, u.arn) for u in users if _may_cover(statements, technique.needs[0], u.arn)]
        if technique.target is Target.ROLE:
            roles = [r for r in self.authorizer.roles() if r.account == account and not r.is_service_linked]
            return [(r.arn, r.arn) for r in roles if _may_cover(statements, technique.needs[0], r.arn)]
        if technique.target is Target.FUNCTION:
            # A function policy may admit callers of other accounts, so those functions stay in.
            return [(f.arn, f.arn) for f in self.functions if f.account == account or f.policy is not None]
        roles = self._service_roles(technique, account)
        if technique.target is Target.PASSED_ROLE:
            return [(r.arn, r.arn) for r in roles if _may_cover(statements, ("iam:PassRole",), r.arn)]
        return [(r.arn, r.arn) for r in roles]

    def _service_roles(self, technique: Technique, account: str | None) -> list[Role]:
        """Roles of the account, not service-linked, that the technique's service may assume."""
        if technique.service is None:
            return []
        names = self.trusted_by.get(f"{technique.service}.{self.suffix}", frozenset())
        roles = [self.authorizer.role(arn) for arn in sorted(names)]
        found = [r for r in roles if r is not None and r.account == account and not r.is_service_linked]
        if technique.target is Target.INSTANCE_ROLE:
            found = [r for r in found if r.instance_profile_arns]
        return found

    def _technique_edge(
        self,
        node_id: str,
        principal: RequestPrincipal,
        *,
        technique: Technique,
        shared: dict[str, Evaluation],
        target: str,
        resource: str,
    ) -> EscalationEdge | None:
        per_target = self._target_actions(technique)
        needs = technique.needs
        role = self.authorizer.role(target)
        if technique.needs_instance_profile and role is not None and not role.instance_profile_arns:
            needs = (*needs, ("iam:CreateInstanceProfile",), ("iam:AddRoleToInstanceProfile",))
        account = self.authorizer.account_of_resource(resource, principal)
        granted: list[tuple[str, Evaluation]] = []
        conditional = False
        for group in needs:
            group_granted: list[tuple[str, Evaluation]] = []
            for action in group:
                if action in per_target:
                    given = None
                    if action == "iam:PassRole" and technique.passed_to:
                        given = {"iam:PassedToService": (f"{technique.passed_to}.{self.suffix}",)}
                    evaluation = self.decide(principal, action, resource, account=account, is_set=False, given=given)
                elif action in shared:
                    evaluation = shared[action]
                else:
                    evaluation = self._on_account_set(principal, action)
                if evaluation.decision is not Decision.DENY:
                    group_granted.append((action, evaluation))
            if not group_granted:
                return None
            conditional = conditional or all(e.decision is Decision.CONDITIONAL for _, e in group_granted)
            granted += group_granted
        return EscalationEdge(
            source=node_id,
            target=target,
            rel=technique.rel,
            tag=technique.tag,
            sentence=technique.sentence,
            granted=tuple(granted),
            conditional=conditional,
            potential=technique.potential,
            weak=technique.weak,
            note=(
                "Bedrock uses the role for the agent's own calls; the model has to be steered into using it"
                if technique.weak
                else None
            ),
        )

    def _on_account_set(self, principal: RequestPrincipal, action: str) -> Evaluation:
        resource = resource_set_arn(action, partition=self.partition, region="*", account=principal.account or "*")
        is_set = resource is not None
        return self.decide(principal, action, resource or "*", account=principal.account, is_set=is_set, given=None)

    # -- techniques that rewrite policies ------------------------------------------------

    def may_write(self, node_id: str) -> bool:
        """Tell whether any identity-based Allow of the principal names a policy-writing action."""
        statements = self.authorizer.identity_statements(node_id)
        return any(_may_allow(statements, action) for action in WRITE_ACTIONS)

    def write_edges(self, node_id: str, principal: RequestPrincipal, acts_as: Iterable[str]) -> list[EscalationEdge]:
        """Edges to the principals that the caller can give stronger policies and then act as.

        `acts_as` contains the users and roles the caller reaches through act-as edges; the
        caller itself is always included and tried first.
        """
        arns = [node_id, *sorted(set(acts_as) - {node_id})]
        return self._writes(node_id, principal, arns, source=node_id)

    def helped_edges(
        self, node_id: str, principal: RequestPrincipal, helped: str, acts_as: Iterable[str]
    ) -> list[EscalationEdge]:
        """Edges from a principal that can act as the caller, for writes on principals only it acts as.

        `helped` reaches the caller through act-as edges, and `acts_as` contains the users
        and roles `helped` acts as that the caller does not. The caller's policies decide the
        write; the principal it gives is one that `helped` can act as, so the edge leaves
        from `helped`.
        """
        arns = [helped, *sorted(set(acts_as) - {helped})]
        return self._writes(node_id, principal, arns, source=helped)

    def credential_edges(
        self, node_id: str, principal: RequestPrincipal, acts_as: Iterable[str]
    ) -> list[EscalationEdge]:
        """Potential edges for writes on users the caller does not act as.

        A user's access keys and console password are not in a snapshot, so a caller that
        may rewrite another user's policies or groups escalates only if it also has that
        user's credentials. The edge is therefore potential and states that assumption.
        """
        if not self.potential:
            return []
        account = principal.account
        skip = set(acts_as) | {node_id}
        users = sorted(user.arn for user in self.authorizer.users() if user.account == account and user.arn not in skip)
        return self._writes(node_id, principal, users, source=node_id, credentials=True)

    def _writes(
        self,
        node_id: str,
        principal: RequestPrincipal,
        arns: list[str],
        *,
        source: str,
        credentials: bool = False,
    ) -> list[EscalationEdge]:
        statements = self.authorizer.identity_statements(node_id)
        subjects = [r for r in (self.authorizer.user(a) or self.authorizer.role(a) for a in arns) if r is not None]
        edges: list[EscalationEdge] = []
        reached: set[tuple[Rel, str]] = set()
        for write in self.writes:
            actions = [action for action in write.actions if _may_allow(statements, action)]
            for subject in subjects if actions else []:
                for resource, virtual in self._write_targets(write, subject):
                    if (write.rel, virtual.node_id) in reached or not _may_cover(statements, tuple(actions), resource):
                        continue
                    granted = self._write_decisions(principal, actions, subject, resource)
                    if not granted:
                        continue
                    reached.add((write.rel, virtual.node_id))
                    edge = EscalationEdge(
                        source=source,
                        target=virtual.node_id,
                        rel=write.rel,
                        tag=write.tag,
                        sentence=write.sentence,
                        granted=tuple(granted),
                        conditional=all(e.decision is Decision.CONDITIONAL for _, e in granted),
                        potential=_credentials(subject.arn) if credentials else write.potential,
                        note=None if credentials else _write_note(node_id, source, subject.arn),
                        virtual=virtual,
                    )
                    edges.append(edge)
                    if edge.exact and virtual.kind == "any-policy" and virtual.boundary is None:
                        # Any policy without a boundary covers every other write.
                        return edges
        return edges

    def _write_decisions(
        self, principal: RequestPrincipal, actions: list[str], subject: User | Role, resource: str
    ) -> list[tuple[str, Evaluation]]:
        kind = "User" if isinstance(subject, User) else "Role"
        granted: list[tuple[str, Evaluation]] = []
        for action in actions:
            if "PermissionsBoundary" in action and kind not in action:
                continue
            given = self._write_context(action, subject)
            evaluation = self.decide(principal, action, resource, account=subject.account, is_set=False, given=given)
            if evaluation.decision is not Decision.DENY:
                granted.append((action, evaluation))
        return granted

    def _write_context(self, action: str, subject: User | Role) -> dict[str, tuple[str, ...]]:
        """The IAM condition keys of a policy write that the snapshot settles.

        `iam:PermissionsBoundary` is the written principal's boundary, or absent when it has
        none (an empty tuple), except for the Put...PermissionsBoundary actions, where it is
        the boundary being set. `iam:PolicyARN` is the policy attached. The attacker's
        choice for both is AdministratorAccess, which is what the any-policy target means.
        So a condition that allows only other policies leaves the write without an edge.
        """
        info = action_info(action)
        keys = {key.lower() for key in info.condition_keys} if info is not None else set()
        administrator = f"arn:{self.partition}:iam::aws:policy/AdministratorAccess"
        given: dict[str, tuple[str, ...]] = {}
        if "iam:policyarn" in keys:
            given["iam:PolicyARN"] = (administrator,)
        if "iam:permissionsboundary" in keys:
            if action.lower().startswith("iam:put") and action.lower().endswith("permissionsboundary"):
                given["iam:PermissionsBoundary"] = (administrator,)
            else:
                boundary = subject.permissions_boundary_arn
                given["iam:PermissionsBoundary"] = (boundary,) if boundary else ()
        return given

    def _write_targets(self, write: PolicyWrite, subject: User | Role) -> list[tuple[str, VirtualPrincipal]]:
        """(resource the write action is decided on, principal it gives) pairs for one subject."""
        is_user = isinstance(subject, User)
        if write.write is Write.USER_POLICY:
            return [(subject.arn, self._any_policy(subject))] if is_user else []
        if write.write is Write.ROLE_POLICY:
            if isinstance(subject, User) or subject.is_service_linked:
                return []
            return [(subject.arn, self._any_policy(subject))]
        if write.write is Write.BOUNDARY:
            if not subject.permissions_boundary_arn or self.authorizer.boundary_statements(subject.arn) is None:
                return []
            return [(subject.arn, self._no_boundary(subject))]
        if write.write is Write.POLICY_VERSION:
            return [(arn, self._any_policy(subject)) for arn in self._customer_policies(subject)]
        if not isinstance(subject, User):
            return []
        member_of = {self.groups.get((subject.account, name)) for name in subject.group_names}
        if write.write is Write.GROUP_POLICY:
            return [(arn, self._any_policy(subject)) for arn in sorted(a for a in member_of if a)]
        groups = sorted((arn, name) for (account, name), arn in self.groups.items() if account == subject.account)
        return [(arn, self._member_of(arn, name, subject)) for arn, name in groups if arn not in member_of]

    def _customer_policies(self, subject: User | Role) -> list[str]:
        arns = list(subject.attached_policy_arns)
        if isinstance(subject, User):
            for account in self.authorizer.snapshot.accounts.values():
                for group in account.groups.values():
                    if group.account == subject.account and group.name in subject.group_names:
                        arns += group.attached_policy_arns
        own = f"arn:{self.partition}:iam::{subject.account}:policy/"
        return sorted({arn for arn in arns if arn.startswith(own) and arn in self.managed_arns})

    # -- principals that exist only in the graph ----------------------------------------

    def _any_policy(self, subject: User | Role) -> VirtualPrincipal:
        boundary = self.authorizer.boundary_statements(subject.arn)
        boundary_arn = subject.permissions_boundary_arn if boundary is not None else None
        node_id = f"any-policy:{subject.account}" + (f"|{boundary_arn}" if boundary_arn else "")
        name = f"any permission in account {subject.account}"
        if boundary_arn:
            name += f" within boundary {boundary_arn.rsplit('/', 1)[-1]}"
        source = PolicySource(PolicyKind.IDENTITY, f"{node_id}#attacker-policy", "a policy the attacker wrote")
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        statements = parse_policy(document, source).statements
        return self._virtual(
            VirtualPrincipal(node_id, name, subject.account, "any-policy", statements, boundary, boundary_arn)
        )

    def _no_boundary(self, subject: User | Role) -> VirtualPrincipal:
        node_id = f"{subject.arn}#no-boundary"
        statements = self.authorizer.identity_statements(subject.arn)
        name = f"{subject.name} without its permissions boundary"
        return self._virtual(VirtualPrincipal(node_id, name, subject.account, "no-boundary", statements, None, None))

    def _member_of(self, group_arn: str, group_name: str, subject: User) -> VirtualPrincipal:
        boundary = self.authorizer.boundary_statements(subject.arn)
        boundary_arn = subject.permissions_boundary_arn if boundary is not None else None
        node_id = f"{group_arn}#member" + (f"|{boundary_arn}" if boundary_arn else "")
        name = f"a member of group {group_name}"
        if boundary_arn:
            name += f" within boundary {boundary_arn.rsplit('/', 1)[-1]}"
        statements = self.authorizer.group_statements(subject.account, group_name)
        virtual = VirtualPrincipal(node_id, name, subject.account, "group-member", statements, boundary, boundary_arn)
        return self._virtual(virtual)

    def _virtual(self, virtual: VirtualPrincipal) -> VirtualPrincipal:
        known = self.virtuals.get(virtual.node_id)
        if known is not None:
            return known
        self.virtuals[virtual.node_id] = virtual
        self.authorizer.add_virtual_principal(virtual.node_id, virtual.statements, virtual.boundary)
        return virtual


def _credentials(user: str) -> str:
    return (
        f"assumes the caller also has the access keys or console password of {user}, or of another user "
        "it may rewrite; the snapshot does not record who has a user's credentials"
    )


def _write_note(writer: str, source: str, subject: str) -> str | None:
    """Say whose policies allow the write and on which principal, where that is not the edge's source."""
    if writer == source:
        return None if subject == source else f"acting as {subject}"
    if subject == source:
        return f"through {writer}, whose policies allow the write"
    return f"through {writer}, whose policies allow the write, acting as {subject}"


def _may_allow(statements: Iterable[Statement], action: str) -> bool:
    return any(statement.is_allow and statement.covers_action(action) for statement in statements)


def _may_cover(statements: Iterable[Statement], actions: tuple[str, ...], arn: str) -> bool:
    """Tell whether an Allow statement for one of the actions has a Resource pattern that can match the ARN."""
    for statement in statements:
        if not statement.is_allow or not any(statement.covers_action(action) for action in actions):
            continue
        if statement.resources is None:
            return True
        if any("${" in pattern or arn_pattern_intersects(pattern, arn) for pattern in statement.resources):
            return True
    return False
