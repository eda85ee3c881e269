"""Build the attack graph from a snapshot: nodes, structure edges and permission edges.

Permission edges are never guessed from policy text: each one is the result of a full
policy evaluation (`engine.authorizer`) for a concrete principal, action and resource.
Candidates are pruned before evaluation so that tens of thousands of principals stay
affordable. A principal is checked against a resource only when one of its
identity-based Allow statements names a matching action and a Resource pattern that
can cover it, or when the resource's own policy names the principal, its account or
everyone. Decisions that do
not depend on who the principal is (no policy variables, no principal condition keys,
no resource-based policy) are cached per distinct set of policies.

Privilege-escalation edges come from `engine.escalation`, evaluated with the same
authorizer and the same caching.

Not modelled here: S3 access points, object ACLs, and Lambda function URLs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from engine.actions import resource_set_arn
from engine.arn import (
    account_root_arn,
    is_account_id,
    parse_arn,
    s3_objects_arn,
    service_arn,
    service_principal_suffix,
)
from engine.authorizer import Authorizer
from engine.conditions import ConditionClause
from engine.escalation import EscalationEdge, EscalationRules
from engine.evaluator import Decision, Evaluation
from engine.inventory import Agent, AgentAlias, AgentVersion, KnowledgeBase, Role, Snapshot, User
from engine.matching import arn_pattern_intersects
from engine.model import (
    ACT_AS_RELS,
    ASSUME_ROLE_ACTIONS,
    CONFIGURE_AGENT_ACTIONS,
    INVOKE_AGENT_ACTIONS,
    INVOKE_FUNCTION_ACTIONS,
    MODIFY_GUARDRAIL_ACTIONS,
    PASS_ROLE_ACTIONS,
    PERMISSION_RELS,
    READ_OBJECT_ACTIONS,
    STRUCTURE_SENTENCES,
    TECHNIQUES,
    VPC_PROVISIONING_ACTIONS,
    WRITE_OBJECT_ACTIONS,
    Label,
    Rel,
)
from engine.policy import PolicyKind, PolicySource, Statement, parse_policy
from engine.principals import PrincipalKind, RequestPrincipal
from engine.sensitivity import Sensitivity

logger = logging.getLogger(__name__)

ANY_PRINCIPAL_ID = "*"


@dataclass(slots=True)
class DeputyGraph:
    """The built graph with the inventory and authorizer that produced it."""

    graph: nx.MultiDiGraph
    snapshot: Snapshot
    authorizer: Authorizer
    sensitivity: Sensitivity
    notes: list[str] = field(default_factory=list)
    # The nodes that a note of `notes` concerns; a note not listed concerns every principal.
    note_subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Per-node moves and walks that engine.paths shares between principals. The graph
    # never changes after build_graph returns, so nothing in them goes stale.
    path_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    hub_cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    path_index: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    path_moves: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def node(self, node_id: str) -> dict[str, Any]:
        return dict(self.graph.nodes[node_id])

    def role_arn(self, account: str, name: str) -> str | None:
        """Find a role by account and name, as a session ARN names it (without the role's path)."""
        for node, data in self.graph.nodes(data=True):
            if data["label"] == Label.ROLE and data.get("account") == account and data.get("name") == name:
                return str(node)
        return None


@dataclass(frozen=True, slots=True)
class _Target:
    node_id: str
    resource: str
    account: str | None
    is_set: bool = False


def build_graph(snapshot: Snapshot, sensitivity: Sensitivity | None = None, *, potential: bool = True) -> DeputyGraph:
    """Build the graph of one snapshot on networkx.

    With `potential=False` the escalation techniques that assume a resource the snapshot
    has no inventory of (instances, stacks, console passwords) give no edges.
    """
    builder = _Builder(snapshot, sensitivity or Sensitivity(), potential=potential)
    return builder.build()


def rebuild_principal(deputy: DeputyGraph, snapshot: Snapshot, principal_arn: str) -> DeputyGraph:
    """Return a copy of the graph with one user's or role's permission edges evaluated again over `snapshot`.

    `snapshot` must differ from the graph's own snapshot only in the identity-based
    policies of that principal, as a least-privilege proposal does. Those policies decide
    only the principal's outgoing permission edges (`CAN_PASS_ROLE` included), its
    `policy_digest` and, for an agent execution role, whether its versions may retrieve
    from their knowledge bases. Everything else is copied, so the result equals what
    `build_graph(snapshot)` gives, for a fraction of its evaluations.
    """
    builder = _Builder(snapshot, deputy.sensitivity)
    builder._add_principals()
    builder._add_resources()
    builder._add_agents()
    builder._add_vpc_apis()
    builder._index_resource_policies()
    builder._add_permission_edges(principal_arn, builder.authorizer.request_principal(principal_arn))
    # Trust policies are unchanged, so the roles that Bedrock may assume come from the old graph.
    bedrock = f"service:bedrock.{service_principal_suffix(builder.partition)}"
    if bedrock in deputy.graph:
        builder.graph.add_node(bedrock, **deputy.graph.nodes[bedrock])
        for _, role, rel, data in deputy.graph.out_edges(bedrock, keys=True, data=True):
            builder.graph.add_edge(bedrock, role, key=rel, **data)
    builder._add_pass_role_to_bedrock()
    builder._add_knowledge_base_retrieval()

    graph = deputy.graph.copy()
    stale = [(principal_arn, target, rel) for _, target, rel in graph.out_edges(principal_arn, keys=True)]
    graph.remove_edges_from([edge for edge in stale if edge[2] in PERMISSION_RELS])
    for _, target, rel, data in builder.graph.out_edges(principal_arn, keys=True, data=True):
        if rel in PERMISSION_RELS:
            graph.add_edge(principal_arn, target, key=rel, **data)
    graph.nodes[principal_arn]["policy_digest"] = builder.graph.nodes[principal_arn].get("policy_digest")
    for version, role, rel in deputy.graph.edges(keys=True):
        if rel != Rel.HAS_EXECUTION_ROLE or role != principal_arn:
            continue
        if deputy.graph.nodes[version]["label"] != Label.AGENT_VERSION:
            continue
        for _, knowledge_base, key, data in builder.graph.out_edges(version, keys=True, data=True):
            if key == Rel.USES_KNOWLEDGE_BASE:
                graph.add_edge(version, knowledge_base, key=key, **data)
    return DeputyGraph(
        graph, snapshot, builder.authorizer, deputy.sensitivity, list(deputy.notes), dict(deputy.note_subjects)
    )


class _Builder:
    def __init__(self, snapshot: Snapshot, sensitivity: Sensitivity, *, potential: bool = True) -> None:
        self.snapshot = snapshot
        self.potential = potential
        self.fingerprints: dict[str, tuple[object, ...] | None] = {}
        self.sensitivity = sensitivity
        self.authorizer = Authorizer(snapshot, graph_mode=True)
        self.graph = nx.MultiDiGraph()
        self.partition = snapshot.partition
        self.targets: dict[Rel, list[_Target]] = defaultdict(list)
        self.vpc_targets: list[tuple[str, str, _Target]] = []  # (action, region, target)
        self.named_by_resource_policy: dict[str, set[str]] = defaultdict(set)  # principal entry -> resource ids
        self.cache: dict[tuple[object, ...], Evaluation] = {}
        self.trust_index: dict[str, set[str]] | None = None
        self.scope_cache: dict[tuple[Rel, frozenset[str]], frozenset[str]] = {}
        self.session_index: dict[str, list[tuple[str, str]]] = defaultdict(list)  # session prefix -> (entry, role)
        self.session_resources: dict[str, list[tuple[str, str]]] = defaultdict(list)  # prefix -> (entry, resource)
        self.notes: list[str] = list(snapshot.not_seen)
        self.note_subjects: dict[str, tuple[str, ...]] = {}
        # An SCP or RCP that reads the principal (aws:PrincipalArn, principal tags) makes
        # decisions differ between principals with the same policies, so none are cached.
        self.organization_depends_on_principal = any(
            statement.reads_principal()
            for policy in (snapshot.organization.policies if snapshot.organization else ())
            for statement in parse_policy(
                dict(policy.document), PolicySource(PolicyKind.SCP, policy.arn, policy.name)
            ).statements
        )
        self.cache_hits = 0
        self.evaluations = 0
        # Edge property values stored once (see `_shared`), and each statement's description.
        self.shared: dict[Any, Any] = {}
        self.described: dict[str, dict[str, Any]] = {}

    # -- nodes and structure ----------------------------------------------------------

    def build(self) -> DeputyGraph:
        self._add_principals()
        self._add_resources()
        self._add_agents()
        self._add_vpc_apis()
        self._index_resource_policies()
        for user in self.authorizer.users():
            self._add_permission_edges(user.arn, self.authorizer.request_principal(user.arn))
        for role in self.authorizer.roles():
            self._add_permission_edges(role.arn, self.authorizer.request_principal(role.arn))
        self._add_outside_principals()
        self._add_pass_role_to_bedrock()
        self._add_escalations()
        self._add_action_group_calls()
        self._add_knowledge_base_retrieval()
        self._note_missing_policies()
        self._note_missing_resources()
        self._mark_service_only_roles()
        logger.info(
            "built graph: %s nodes, %s edges, %s policy evaluations (%s taken from the cache)",
            self.graph.number_of_nodes(),
            self.graph.number_of_edges(),
            self.evaluations,
            self.cache_hits,
        )
        return DeputyGraph(self.graph, self.snapshot, self.authorizer, self.sensitivity, self.notes, self.note_subjects)

    def _node(self, node_id: str, label: Label, **properties: Any) -> None:
        self.graph.add_node(node_id, label=str(label), arn=node_id, **properties)

    def _edge(self, source: str, target: str, rel: Rel, **properties: Any) -> None:
        if rel in STRUCTURE_SENTENCES and "reason" not in properties:
            properties["reason"] = STRUCTURE_SENTENCES[rel]
        self.graph.add_edge(source, target, key=str(rel), rel=str(rel), **self._shared(properties))

    def _shared(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Replace each string and list value with an equal one that an earlier edge stores.

        One wildcard grant gives many edges with the same actions, statements and reason,
        so each of those values is stored once. A list is compared by its strings and
        numbers and by the identity of other items: the statement descriptions that
        `edge_properties` takes from `self.described` are the same objects on every edge.
        Edge values are never changed in place after this.
        """
        shared = self.shared
        for key, value in properties.items():
            if isinstance(value, str):
                properties[key] = shared.setdefault(value, value)
            elif isinstance(value, list):
                items = tuple(item if isinstance(item, str | int | float) else id(item) for item in value)
                properties[key] = shared.setdefault((key, items), value)
        return properties

    def _add_principals(self) -> None:
        for account in self.snapshot.accounts.values():
            for group in account.groups.values():
                self._node(group.arn, Label.GROUP, name=group.name, account=group.account)
            for user in account.users.values():
                self._node(user.arn, Label.USER, name=user.name, account=user.account)
                for group_name in user.group_names:
                    group_arn = (
                        f"arn:{self.partition}:iam::{user.account}:group{_path_of(account, group_name)}{group_name}"
                    )
                    if group_arn not in self.graph:
                        # Only groups missing from the snapshot are not added above.
                        self._node(group_arn, Label.GROUP, name=group_name, account=user.account, in_inventory=False)
                    self._edge(user.arn, group_arn, Rel.MEMBER_OF)
            for role in account.roles.values():
                self._node(
                    role.arn,
                    Label.ROLE,
                    name=role.name,
                    account=role.account,
                    service_linked=role.is_service_linked,
                    missing_policies=self.authorizer.missing_managed_policies(role.arn),
                    policy_digest=self._policy_digest(role.arn),
                )

    def _policy_digest(self, role_arn: str) -> str:
        """Return a SHA-256 of the role's identity-based and boundary statements, so builds can be compared."""
        statements = [
            *self.authorizer.identity_statements(role_arn),
            *(self.authorizer.boundary_statements(role_arn) or ()),
        ]
        text = json.dumps([statement.describe() for statement in statements], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _add_resources(self) -> None:
        for account in self.snapshot.accounts.values():
            for bucket in account.buckets.values():
                reason = self.sensitivity.bucket_reason(bucket.name, bucket.tags)
                self._node(
                    bucket.arn,
                    Label.S3_BUCKET,
                    name=bucket.name,
                    account=bucket.account,
                    region=bucket.region,
                    sensitive=reason is not None,
                    sensitivity=reason,
                    has_policy=bucket.policy is not None,
                )
                objects = s3_objects_arn(bucket.name, self.partition)
                target = _Target(bucket.arn, objects, bucket.account, is_set=True)
                self.targets[Rel.CAN_READ].append(target)
                self.targets[Rel.CAN_WRITE].append(target)
            for function in account.functions.values():
                self._node(
                    function.arn,
                    Label.LAMBDA_FUNCTION,
                    name=function.name,
                    account=function.account,
                    region=function.region,
                    has_policy=function.policy is not None,
                )
                self.targets[Rel.CAN_INVOKE_FUNCTION].append(_Target(function.arn, function.arn, function.account))
                self._ensure_role(function.role_arn)
                self._edge(function.arn, function.role_arn, Rel.HAS_EXECUTION_ROLE)
            for guardrail in account.guardrails.values():
                self._node(
                    guardrail.arn,
                    Label.GUARDRAIL,
                    name=guardrail.name,
                    account=guardrail.account,
                    region=guardrail.region,
                    sensitive=self.sensitivity.guardrail_modification,
                    sensitivity="guardrail changes are sensitive" if self.sensitivity.guardrail_modification else None,
                )
                self.targets[Rel.CAN_MODIFY_GUARDRAIL].append(_Target(guardrail.arn, guardrail.arn, guardrail.account))
            for knowledge_base in account.knowledge_bases.values():
                self._add_knowledge_base(knowledge_base)

    def _add_knowledge_base(self, knowledge_base: KnowledgeBase) -> None:
        self._node(
            knowledge_base.arn,
            Label.KNOWLEDGE_BASE,
            name=knowledge_base.name,
            account=knowledge_base.account,
            region=knowledge_base.region,
        )
        if knowledge_base.role_arn:
            self._ensure_role(knowledge_base.role_arn)
            self._edge(knowledge_base.arn, knowledge_base.role_arn, Rel.HAS_EXECUTION_ROLE)
        for source in knowledge_base.data_sources:
            source_id = f"{knowledge_base.arn}/data-source/{source.data_source_id}"
            self._node(source_id, Label.DATA_SOURCE, name=source.name, account=knowledge_base.account)
            self._edge(knowledge_base.arn, source_id, Rel.HAS_DATA_SOURCE)
            if source.bucket_arn:
                if source.bucket_arn not in self.graph:
                    bucket_name = parse_arn(source.bucket_arn).resource.split("/", 1)[0]
                    reason = self.sensitivity.bucket_reason(bucket_name, {})
                    self._node(
                        source.bucket_arn,
                        Label.S3_BUCKET,
                        name=bucket_name,
                        account=None,
                        sensitive=reason is not None,
                        sensitivity=reason,
                        in_inventory=False,
                    )
                self._edge(
                    source_id,
                    source.bucket_arn,
                    Rel.INGESTS_FROM,
                    prefixes=list(source.inclusion_prefixes),
                )

    def _ensure_role(self, role_arn: str) -> None:
        if role_arn not in self.graph:
            account = parse_arn(role_arn).account
            self._node(
                role_arn,
                Label.ROLE,
                name=role_arn.rsplit("/", 1)[-1],
                account=account,
                in_inventory=False,
            )

    def _add_agents(self) -> None:
        for account in self.snapshot.accounts.values():
            for agent in account.agents.values():
                self._add_agent(agent)

    def _add_agent(self, agent: Agent) -> None:
        self._node(
            agent.arn,
            Label.BEDROCK_AGENT,
            name=agent.name,
            account=agent.account,
            region=agent.region,
        )
        self.targets[Rel.CAN_CONFIGURE_AGENT].append(_Target(agent.arn, agent.arn, agent.account))
        for version in agent.versions.values():
            self._add_agent_version(agent, version)
        for alias in agent.aliases:
            self._node(
                alias.arn,
                Label.AGENT_ALIAS,
                name=f"{agent.name}/{alias.name}",
                account=agent.account,
                region=agent.region,
                agent=agent.arn,
                guardrail=None,
            )
            self.targets[Rel.CAN_INVOKE_AGENT].append(_Target(alias.arn, alias.arn, agent.account))
            self._add_routes(agent, alias)

    def _add_routes(self, agent: Agent, alias: AgentAlias) -> None:
        """Link an alias to the versions it routes to; a paused or dissociated alias routes nowhere.

        AWS's AgentAliasSummary gives REJECT_INVOCATIONS for a paused alias and DISSOCIATED
        for one with no version. When the snapshot does not say where an alias routes, it is
        linked to every version of the agent, as conditional, so no path is hidden.
        """
        active = alias.invocation_state != "REJECT_INVOCATIONS" and alias.status != "DISSOCIATED"
        reason = (
            STRUCTURE_SENTENCES[Rel.ROUTES_TO] if active else "would route here, but the alias is paused or dissociated"
        )
        routed = alias.versions if alias.routing_known else tuple(agent.versions)
        for version in routed:
            version_id = _version_id(agent, version)
            if version_id not in self.graph:
                continue
            properties: dict[str, Any] = {"active": active, "reason": reason}
            if not alias.routing_known:
                properties.update(
                    conditional=True, note="the snapshot does not say which versions this alias routes to"
                )
            self._edge(alias.arn, version_id, Rel.ROUTES_TO, **properties)

    def _add_agent_version(self, agent: Agent, version: AgentVersion) -> None:
        version_id = _version_id(agent, version.version)
        self._node(
            version_id,
            Label.AGENT_VERSION,
            name=f"{agent.name} version {version.version}",
            account=agent.account,
            region=agent.region,
            version=version.version,
            agent=agent.arn,
            role_from_agent=version.role_from_agent,
            guardrail=version.guardrail.identifier if version.guardrail else None,
        )
        self._edge(version_id, agent.arn, Rel.VERSION_OF)
        self._ensure_role(version.role_arn)
        note = (
            "the snapshot has no agent-version.json for this version; the role is the agent's current one"
            if version.role_from_agent
            else None
        )
        self._edge(version_id, version.role_arn, Rel.HAS_EXECUTION_ROLE, note=note)
        if version.role_from_agent and version.version != "DRAFT":
            # The DRAFT's settings are agent.json itself; only numbered versions can differ.
            self._note(
                f"agent {agent.name} ({agent.agent_id}) version {version.version}: no agent-version.json, "
                "so its execution role and guardrail are the agent's current ones",
                version_id,
            )
        for group in version.action_groups:
            group_id = f"{version_id}/action-group/{group.action_group_id}"
            self._node(
                group_id,
                Label.ACTION_GROUP,
                name=group.name,
                account=agent.account,
                region=agent.region,
                enabled=group.enabled,
                lambda_arn=group.lambda_arn,
            )
            self._edge(version_id, group_id, Rel.HAS_ACTION_GROUP, enabled=group.enabled)
        for association in version.knowledge_bases:
            kb_arn = service_arn(
                "bedrock",
                agent.region,
                agent.account,
                f"knowledge-base/{association.knowledge_base_id}",
                self.partition,
            )
            if kb_arn not in self.graph:
                self._node(
                    kb_arn,
                    Label.KNOWLEDGE_BASE,
                    name=association.knowledge_base_id,
                    account=agent.account,
                    in_inventory=False,
                )
            self._edge(version_id, kb_arn, Rel.USES_KNOWLEDGE_BASE, enabled=association.enabled)
        if version.guardrail is not None:
            guardrail_id = self._guardrail_arn(agent, version.guardrail.identifier)
            if guardrail_id in self.graph:
                self._edge(
                    version_id,
                    guardrail_id,
                    Rel.USES_GUARDRAIL,
                    guardrail_version=version.guardrail.version,
                )

    def _guardrail_arn(self, agent: Agent, identifier: str) -> str:
        if identifier.startswith("arn:"):
            return identifier
        return f"arn:{self.partition}:bedrock:{agent.region}:{agent.account}:guardrail/{identifier}"

    def _add_vpc_apis(self) -> None:
        if not self.sensitivity.vpc_provisioning:
            return
        for account in self.snapshot.accounts.values():
            regions = sorted({entry.split(":", 1)[1] for entry in account.coverage if ":" in entry}) or ["*"]
            for region in regions:
                for action in VPC_PROVISIONING_ACTIONS:
                    node_id = f"vpc-api:{account.account_id}:{region}:{action}"
                    resource = resource_set_arn(
                        action, partition=self.partition, region=region, account=account.account_id
                    )
                    self._node(
                        node_id,
                        Label.VPC_API,
                        name=action,
                        account=account.account_id,
                        region=region,
                        action=action,
                        sensitive=True,
                        sensitivity="VPC provisioning API",
                    )
                    target = _Target(node_id, resource or "*", account.account_id, is_set=resource is not None)
                    self.vpc_targets.append((action, region, target))

    def _index_resource_policies(self) -> None:
        """Record which principals each bucket and function policy names, for pruning."""
        for rel in (Rel.CAN_READ, Rel.CAN_INVOKE_FUNCTION):
            for target in self.targets[rel]:
                statements = self.authorizer.resource_policy(target.node_id) or ()
                for entry in _named_entries(statements):
                    self.named_by_resource_policy[entry].add(target.node_id)
                    if ":assumed-role/" in entry:
                        self.session_resources[entry.rsplit("/", 1)[0] + "/"].append((entry, target.node_id))

    # -- permission edges -------------------------------------------------------------

    def _add_permission_edges(self, node_id: str, principal: RequestPrincipal) -> None:
        statements = self.authorizer.identity_statements(principal.arn)
        named = self._resources_naming(principal)
        fingerprint = self._fingerprint(principal, statements)
        for rel, actions in (
            (Rel.CAN_INVOKE_AGENT, INVOKE_AGENT_ACTIONS),
            (Rel.CAN_CONFIGURE_AGENT, CONFIGURE_AGENT_ACTIONS),
            (Rel.CAN_MODIFY_GUARDRAIL, MODIFY_GUARDRAIL_ACTIONS),
            (Rel.CAN_INVOKE_FUNCTION, INVOKE_FUNCTION_ACTIONS),
            (Rel.CAN_READ, READ_OBJECT_ACTIONS),
            (Rel.CAN_WRITE, WRITE_OBJECT_ACTIONS),
        ):
            identity_actions = [action for action in actions if _may_allow(statements, action)]
            in_scope = self._targets_in_scope(rel, statements, identity_actions)
            for target in self.targets[rel]:
                if target.node_id in named:
                    candidates: tuple[str, ...] | list[str] = actions
                elif target.node_id in in_scope:
                    candidates = identity_actions
                else:
                    continue
                if candidates:
                    self._permission_edge(node_id, principal, rel, candidates, target, fingerprint=fingerprint)
        self._add_session_grants(node_id, principal)
        for action, _region, target in self.vpc_targets:
            if target.account == principal.account and _may_allow(statements, action):
                self._permission_edge(node_id, principal, Rel.CAN_CALL, (action,), target, fingerprint=fingerprint)
        for role in self._roles_trusting(principal):
            target = _Target(role.arn, role.arn, role.account)
            self._permission_edge(node_id, principal, Rel.CAN_ASSUME, ASSUME_ROLE_ACTIONS, target)
        for role, session_arn in self._sessions_trusted(principal):
            if self.graph.has_edge(node_id, role.arn, key=str(Rel.CAN_ASSUME)):
                continue
            target = _Target(role.arn, role.arn, role.account)
            session = replace(principal, session_arn=session_arn)
            note = f"only the role session {session_arn} may assume it"
            self._permission_edge(node_id, session, Rel.CAN_ASSUME, ASSUME_ROLE_ACTIONS, target, note=note)

    def _add_session_grants(self, node_id: str, principal: RequestPrincipal) -> None:
        """Edges from bucket and function policies that name one session of this role.

        The caller of AssumeRole picks the session name, so a principal that can assume
        the role can act as the named session. The edge states which name is needed.
        """
        if principal.kind is not PrincipalKind.ROLE_SESSION:
            return
        prefix = f"arn:{self.partition}:sts::{principal.account}:assumed-role/{principal.name}/"
        for entry, resource_id in sorted(self.session_resources.get(prefix, [])):
            session = replace(principal, session_arn=entry)
            note = f"only as the role session {entry.rsplit('/', 1)[-1]!r}, a name chosen when the role is assumed"
            for rel, actions in (
                (Rel.CAN_READ, READ_OBJECT_ACTIONS),
                (Rel.CAN_WRITE, WRITE_OBJECT_ACTIONS),
                (Rel.CAN_INVOKE_FUNCTION, INVOKE_FUNCTION_ACTIONS),
            ):
                target = next((t for t in self.targets[rel] if t.node_id == resource_id), None)
                if target is None or self.graph.has_edge(node_id, resource_id, key=str(rel)):
                    continue
                self._permission_edge(node_id, session, rel, actions, target, note=note)

    def _sessions_trusted(self, principal: RequestPrincipal) -> list[tuple[Role, str]]:
        """Roles whose trust policy names one session of this role, such as an SSO user's session."""
        if principal.kind is not PrincipalKind.ROLE_SESSION:
            return []
        self._roles_trusting(principal)  # builds the trust and session indexes
        prefix = f"arn:{self.partition}:sts::{principal.account}:assumed-role/{principal.name}/"
        found: list[tuple[Role, str]] = []
        for entry, arn in sorted(self.session_index.get(prefix, [])):
            role = self.authorizer.role(arn)
            if role is not None:
                found.append((role, entry))
        return found

    def _targets_in_scope(self, rel: Rel, statements: tuple[Statement, ...], actions: list[str]) -> frozenset[str]:
        """Targets that some Allow statement for these actions could cover, from its Resource patterns.

        The result depends only on the patterns, so it is computed once per distinct set
        of patterns. A statement with NotResource, a policy variable or a pattern that starts
        with a wildcard keeps every target in scope; the full evaluation decides the rest.
        """
        if not actions:
            return frozenset()
        patterns: set[str] = set()
        for statement in statements:
            if not statement.is_allow or not any(statement.covers_action(action) for action in actions):
                continue
            if statement.resources is None:
                return self._all_targets(rel)
            patterns.update(statement.resources)
        if any(pattern.startswith("*") or "${" in pattern for pattern in patterns):
            return self._all_targets(rel)
        key = (rel, frozenset(patterns))
        cached = self.scope_cache.get(key)
        if cached is None:
            cached = frozenset(
                target.node_id
                for target in self.targets[rel]
                if any(arn_pattern_intersects(pattern, target.resource) for pattern in patterns)
            )
            self.scope_cache[key] = cached
        return cached

    def _all_targets(self, rel: Rel) -> frozenset[str]:
        key = (rel, frozenset({"*"}))
        if key not in self.scope_cache:
            self.scope_cache[key] = frozenset(target.node_id for target in self.targets[rel])
        return self.scope_cache[key]

    def _resources_naming(self, principal: RequestPrincipal) -> set[str]:
        entries = {ANY_PRINCIPAL_ID, principal.arn}
        if principal.account:
            entries |= {principal.account, account_root_arn(principal.account, self.partition)}
        if principal.unique_id:
            entries.add(principal.unique_id)
        found: set[str] = set()
        for entry in entries:
            found |= self.named_by_resource_policy.get(entry, set())
        return found

    def _roles_trusting(self, principal: RequestPrincipal) -> list[Role]:
        """Roles whose trust policy names the principal, its account or everyone."""
        if self.trust_index is None:
            self.trust_index = defaultdict(set)
            for role in self.authorizer.roles():
                for entry in _named_entries(self.authorizer.resource_policy(role.arn) or ()):
                    self.trust_index[entry].add(role.arn)
                    if ":assumed-role/" in entry:
                        self.session_index[entry.rsplit("/", 1)[0] + "/"].append((entry, role.arn))
        entries = {ANY_PRINCIPAL_ID, principal.arn}
        if principal.unique_id:
            entries.add(principal.unique_id)
        # A trust in an account delegates to the caller's own policies. Only callers with an
        # Allow that names sts:AssumeRole can pass it, so the rest need no evaluation.
        if principal.account and _may_allow(self.authorizer.identity_statements(principal.arn), "sts:AssumeRole"):
            entries |= {principal.account, account_root_arn(principal.account, self.partition)}
        arns: set[str] = set()
        for entry in entries:
            arns |= self.trust_index.get(entry, set())
        roles = (self.authorizer.role(arn) for arn in sorted(arns))
        return [role for role in roles if role is not None]

    def _fingerprint(self, principal: RequestPrincipal, statements: tuple[Statement, ...]) -> tuple[object, ...] | None:
        """Return a cache key for decisions that depend only on the policies, or None."""
        if self.organization_depends_on_principal:
            return None
        boundary = self.authorizer.boundary_statements(principal.arn) or ()
        for statement in (*statements, *boundary):
            if statement.reads_principal():
                return None
        role = self.authorizer.role(principal.arn)
        policy_ids = tuple(dict.fromkeys(statement.source.policy_id for statement in statements))
        boundary_ids = tuple(dict.fromkeys(statement.source.policy_id for statement in boundary))
        return (
            principal.account,
            policy_ids,
            boundary_ids,
            role is not None and role.is_service_linked,
        )

    def _decide(
        self,
        principal: RequestPrincipal,
        action: str,
        target: _Target,
        fingerprint: tuple[object, ...] | None,
        *,
        source_arn: str | None = None,
    ) -> Evaluation:
        key: tuple[object, ...] | None = None
        if fingerprint is not None and self.authorizer.resource_policy(target.resource) is None:
            key = (fingerprint, action, target.resource)
            cached = self.cache.get(key)
            if cached is not None:
                self.cache_hits += 1
                return cached
        self.evaluations += 1
        evaluation = self.authorizer.decide(
            principal,
            action,
            target.resource,
            resource_account=target.account,
            resource_is_set=target.is_set,
            source_arn=source_arn,
        )
        if key is not None:
            self.cache[key] = evaluation
        return evaluation

    def _permission_edge(
        self,
        node_id: str,
        principal: RequestPrincipal,
        rel: Rel,
        actions: Iterable[str],
        target: _Target,
        *,
        fingerprint: tuple[object, ...] | None = None,
        source_arn: str | None = None,
        note: str | None = None,
    ) -> None:
        granted: list[str] = []
        evaluations: list[Evaluation] = []
        for action in actions:
            evaluation = self._decide(principal, action, target, fingerprint, source_arn=source_arn)
            if evaluation.decision is Decision.DENY:
                continue
            granted.append(action)
            evaluations.append(evaluation)
        if not granted:
            return
        properties = edge_properties(rel, granted, evaluations, described=self.described)
        if note is not None:
            properties["note"] = note
            properties["reason"] += f" ({note})"
        self._edge(node_id, target.node_id, rel, **properties)

    # -- principals outside the snapshot and AWS services ------------------------------

    def _add_outside_principals(self) -> None:
        known_accounts = set(self.snapshot.accounts)
        for role in self.authorizer.roles():
            statements = self.authorizer.resource_policy(role.arn) or ()
            target = _Target(role.arn, role.arn, role.account)
            for service in sorted(_named_services(statements)):
                node_id = f"service:{service}"
                if node_id not in self.graph:
                    self._node(node_id, Label.SERVICE_PRINCIPAL, name=service, account=None)
                caller = RequestPrincipal(PrincipalKind.SERVICE, service, None, self.partition)
                self._permission_edge(node_id, caller, Rel.CAN_ASSUME, ASSUME_ROLE_ACTIONS, target)
            for entry in sorted(_named_entries(statements)):
                self._outside_assume(entry, known_accounts, target)

    def _outside_assume(self, entry: str, known_accounts: set[str], target: _Target) -> None:
        if entry == ANY_PRINCIPAL_ID:
            if ANY_PRINCIPAL_ID not in self.graph:
                self._node(ANY_PRINCIPAL_ID, Label.ANY_PRINCIPAL, name="any AWS principal", account=None)
            caller = RequestPrincipal(PrincipalKind.EXTERNAL, ANY_PRINCIPAL_ID, None, self.partition)
            note = "any principal of any account whose own policies allow it; those policies are not in the snapshot"
            self._permission_edge(ANY_PRINCIPAL_ID, caller, Rel.CAN_ASSUME, ASSUME_ROLE_ACTIONS, target, note=note)
            return
        account = entry if is_account_id(entry) else _account(entry)
        if account is None or account in known_accounts:
            return
        node_id = account_root_arn(account, self.partition) if is_account_id(entry) else entry
        if node_id not in self.graph:
            self._node(node_id, Label.EXTERNAL_ACCOUNT, name=node_id, account=account)
        caller = RequestPrincipal(PrincipalKind.EXTERNAL, node_id, account, self.partition)
        note = f"depends on the identity-based policies in account {account}, which the snapshot does not hold"
        self._permission_edge(node_id, caller, Rel.CAN_ASSUME, ASSUME_ROLE_ACTIONS, target, note=note)

    def _add_pass_role_to_bedrock(self) -> None:
        """Edges from agent reconfigurers to the roles they may pass to Bedrock.

        Changing an agent's execution role needs bedrock:UpdateAgent and iam:PassRole on a
        role that Bedrock may assume; the PassRole request carries iam:PassedToService.
        """
        bedrock = f"service:bedrock.{service_principal_suffix(self.partition)}"
        if bedrock not in self.graph:
            return
        roles = sorted(target for _, target, rel in self.graph.out_edges(bedrock, keys=True) if rel == Rel.CAN_ASSUME)
        configurers = sorted(
            {source for source, _, rel in self.graph.edges(keys=True) if rel == Rel.CAN_CONFIGURE_AGENT}
        )
        given = {"iam:PassedToService": (bedrock.removeprefix("service:"),)}
        for node_id in configurers:
            principal = self.authorizer.request_principal(node_id)
            statements = self.authorizer.identity_statements(node_id)
            if not _may_allow(statements, "iam:PassRole"):
                continue
            for role_arn in roles:
                role = self.authorizer.role(role_arn)
                if role is None:
                    continue
                evaluations = [
                    self.authorizer.decide(
                        principal, "iam:PassRole", role_arn, resource_account=role.account, given=given
                    )
                ]
                if evaluations[0].decision is Decision.DENY:
                    continue
                properties = edge_properties(
                    Rel.CAN_PASS_ROLE, list(PASS_ROLE_ACTIONS), evaluations, described=self.described
                )
                self._edge(
                    node_id,
                    role_arn,
                    Rel.CAN_PASS_ROLE,
                    passed_to_service=given["iam:PassedToService"][0],
                    **properties,
                )

    # -- privilege escalation ------------------------------------------------------------

    def _add_escalations(self) -> None:
        """Escalation edges of every user and role, then of the principals they rewrite.

        A principal that may give itself any policy, with no permissions boundary, reaches
        everything through that one edge, so its other techniques are not evaluated.
        """
        trusted_by: dict[str, set[str]] = defaultdict(set)
        for node_id, data in self.graph.nodes(data=True):
            if data["label"] != Label.SERVICE_PRINCIPAL:
                continue
            for _, target, rel in self.graph.out_edges(node_id, keys=True):
                if rel == Rel.CAN_ASSUME:
                    trusted_by[str(data["name"])].add(target)
        rules = EscalationRules(
            self.authorizer,
            self._decide_escalation,
            trusted_by={name: frozenset(roles) for name, roles in trusted_by.items()},
            functions=[f for account in self.snapshot.accounts.values() for f in account.functions.values()],
            potential=self.potential,
        )
        records: list[User | Role] = [*self.authorizer.users(), *self.authorizer.roles()]
        principals = [(record.arn, self.authorizer.request_principal(record.arn)) for record in records]
        unbounded: set[str] = set()
        for node_id, principal in principals:
            for edge in rules.write_edges(node_id, principal, ()) if rules.may_write(node_id) else []:
                self._escalation_edge(edge)
                virtual = edge.virtual
                if edge.exact and virtual is not None and virtual.kind == "any-policy" and virtual.boundary is None:
                    unbounded.add(node_id)
        for node_id, principal in principals:
            if node_id not in unbounded:
                for edge in rules.act_as_edges(node_id, principal):
                    self._escalation_edge(edge)
        # Write edges lead to escalated principals, which act-as walks do not enter, so each
        # principal's act-as set stays the same while this loop adds them.
        acting: dict[str, set[str]] = {}

        def acts_as_of(node: str) -> set[str]:
            if node not in acting:
                acting[node] = self._acts_as(node)
            return acting[node]

        for node_id, principal in principals:
            if node_id in unbounded or not rules.may_write(node_id):
                continue
            acts_as = acts_as_of(node_id)
            edges = rules.write_edges(node_id, principal, acts_as) if len(acts_as) > 1 else []
            # A principal that can act as the writer gains what the writer gives it, or a
            # principal that it alone acts as.
            for helped in sorted(self._acting_as(node_id) - {node_id}):
                edges += rules.helped_edges(node_id, principal, helped, acts_as_of(helped) - acts_as)
            edges += rules.credential_edges(node_id, principal, acts_as)
            for edge in edges:
                # The first edge of a kind between two nodes is the strongest: exact writes
                # come before the potential ones.
                if not self.graph.has_edge(edge.source, edge.target, key=edge.rel):
                    self._escalation_edge(edge)
        for virtual in list(rules.virtuals.values()):
            if virtual.node_id not in self.graph:
                continue  # no write that would create it was allowed
            principal = virtual.request_principal(self.partition)
            self._add_permission_edges(virtual.node_id, principal)
            for edge in rules.act_as_edges(virtual.node_id, principal):
                self._escalation_edge(edge)

    def _acts_as(self, node_id: str) -> set[str]:
        """Users and roles whose permissions the principal comes to use through exact act-as edges.

        A write found through a conditional or potential edge would rest on that edge's
        condition or assumption, and the write edge could not say so. Such chains are left out.
        """
        seen = {node_id}
        queue = [node_id]
        while queue:
            node = queue.pop()
            for _, target, rel, data in self.graph.out_edges(node, keys=True, data=True):
                label = self.graph.nodes[target]["label"]
                follows = (rel in ACT_AS_RELS and _exact_step(data)) or (
                    rel == Rel.HAS_EXECUTION_ROLE and self.graph.nodes[node]["label"] == Label.LAMBDA_FUNCTION
                )
                if follows and target not in seen and label in (Label.USER, Label.ROLE, Label.LAMBDA_FUNCTION):
                    seen.add(target)
                    queue.append(target)
        return {node for node in seen if self.graph.nodes[node]["label"] in (Label.USER, Label.ROLE)}

    def _acting_as(self, node_id: str) -> set[str]:
        """Users and roles that come to use the principal's permissions through exact act-as edges."""
        nodes = self.graph.nodes
        seen = {node_id}
        queue = [node_id]
        while queue:
            node = queue.pop()
            for source, _, rel, data in self.graph.in_edges(node, keys=True, data=True):
                label = nodes[source]["label"]
                follows = (rel in ACT_AS_RELS and _exact_step(data) and label in (Label.USER, Label.ROLE)) or (
                    rel == Rel.HAS_EXECUTION_ROLE and label == Label.LAMBDA_FUNCTION
                )
                if follows and source not in seen:
                    seen.add(source)
                    queue.append(source)
        return {node for node in seen if nodes[node]["label"] in (Label.USER, Label.ROLE)}

    def _escalation_edge(self, edge: EscalationEdge) -> None:
        if edge.virtual is not None and edge.target not in self.graph:
            virtual = edge.virtual
            self._node(
                virtual.node_id,
                Label.ESCALATED_PRINCIPAL,
                name=virtual.name,
                account=virtual.account,
                escalation=virtual.kind,
                boundary=virtual.boundary_arn,
            )
        properties = edge_properties(
            edge.rel,
            [action for action, _ in edge.granted],
            [evaluation for _, evaluation in edge.granted],
            technique=(edge.tag, edge.sentence),
            conditional=edge.conditional,
            described=self.described,
        )
        properties["escalation"] = True
        properties["explanation"] = edge.sentence.format(actions=", ".join(action for action, _ in edge.granted))
        if edge.weak:
            properties["weak"] = True
        for key, text in (("potential", edge.potential), ("note", edge.note)):
            if text is not None:
                properties[key] = text
                properties["reason"] += f" ({text})"
        self._edge(edge.source, edge.target, edge.rel, **properties)

    def _decide_escalation(
        self,
        principal: RequestPrincipal,
        action: str,
        resource: str,
        *,
        account: str | None,
        is_set: bool,
        given: Mapping[str, tuple[str, ...]] | None,
    ) -> Evaluation:
        if principal.arn not in self.fingerprints:
            statements = self.authorizer.identity_statements(principal.arn)
            self.fingerprints[principal.arn] = self._fingerprint(principal, statements)
        fingerprint = self.fingerprints[principal.arn]
        key: tuple[object, ...] | None = None
        if fingerprint is not None and self.authorizer.resource_policy(resource) is None:
            key = (fingerprint, action, resource, tuple(sorted((given or {}).items())))
            cached = self.cache.get(key)
            if cached is not None:
                self.cache_hits += 1
                return cached
        self.evaluations += 1
        evaluation = self.authorizer.decide(
            principal, action, resource, resource_account=account, resource_is_set=is_set, given=given
        )
        if key is not None:
            self.cache[key] = evaluation
        return evaluation

    def _add_action_group_calls(self) -> None:
        """Link each action group to its Lambda where the Lambda's policy lets Bedrock invoke it.

        Bedrock calls the function as the service principal with `aws:SourceArn` set to
        the agent's ARN and `aws:SourceAccount` to its account, so a resource-based policy
        scoped to another agent does not let this one in. An executor may name a version
        or alias (`...:function:NAME:QUALIFIER`); the node is the function itself.
        """
        bedrock = self.authorizer.service_principal("bedrock")
        for node_id, data in list(self.graph.nodes(data=True)):
            if data["label"] != Label.ACTION_GROUP or not data.get("lambda_arn"):
                continue
            executor = str(data["lambda_arn"])
            function_arn = unqualified_function_arn(executor)
            agent_arn = node_id.split("#", 1)[0]
            if function_arn not in self.graph or self.graph.nodes[function_arn].get("in_inventory") is False:
                self._missing_function(node_id, data, function_arn, agent_arn)
                continue
            account = self.authorizer.account_of_resource(function_arn)
            evaluation = self.authorizer.decide(
                bedrock, "lambda:InvokeFunction", executor, resource_account=account, source_arn=agent_arn
            )
            note = None
            if evaluation.decision is Decision.DENY and executor != function_arn:
                # NOTE: whether a statement for the unqualified ARN admits calls to a
                # qualified one is not settled here, so such an edge is kept as conditional.
                fallback = self.authorizer.decide(
                    bedrock, "lambda:InvokeFunction", function_arn, resource_account=account, source_arn=agent_arn
                )
                if fallback.decision is not Decision.DENY:
                    evaluation = fallback
                    note = f"the function's policy names {function_arn}, and the action group calls {executor}"
            properties = edge_properties(
                Rel.CAN_INVOKE_FUNCTION, ["lambda:InvokeFunction"], [evaluation], described=self.described
            )
            if note is not None:
                properties.update(conditional=True, note=note)
            properties["invocable"] = evaluation.decision is not Decision.DENY
            properties["executor"] = executor
            properties["reason"] = (
                "calls the Lambda function when the agent acts; the function's resource-based policy "
                + ("lets Bedrock invoke it" if properties["invocable"] else "does not let this agent invoke it")
            )
            self._edge(node_id, function_arn, Rel.CALLS_FUNCTION, **properties)

    def _missing_function(self, node_id: str, data: dict[str, Any], function_arn: str, agent_arn: str) -> None:
        if function_arn not in self.graph:
            self._node(function_arn, Label.LAMBDA_FUNCTION, name=function_arn.rsplit(":", 1)[-1], in_inventory=False)
        self._edge(node_id, function_arn, Rel.CALLS_FUNCTION, invocable=False, note="function not in snapshot")
        self._note(
            f"action group {data.get('name')} of agent {agent_arn} calls {function_arn}, which the snapshot "
            "does not hold: what the function's role reaches is not analysed",
            node_id,
            function_arn,
        )

    def _note_missing_resources(self) -> None:
        """Name the execution roles and knowledge-base buckets that the graph links to but the snapshot lacks.

        Such a role has no permission edges, so no path goes on from it, and such a bucket
        is known only by its ARN. The notes name them, so that fewer paths are not read as less reach.
        """
        for source, target, rel in sorted(self.graph.edges(keys=True)):
            holder = self.graph.nodes[source]
            if rel == Rel.HAS_EXECUTION_ROLE and self.authorizer.role(target) is None:
                kind = {
                    Label.LAMBDA_FUNCTION: "Lambda function",
                    Label.AGENT_VERSION: "agent version",
                    Label.KNOWLEDGE_BASE: "knowledge base",
                }.get(holder["label"], str(holder["label"]))
                self._note(
                    f"execution role {target} of {kind} {holder.get('name') or source} is not in the snapshot: "
                    "what that role reaches is not analysed",
                    source,
                    target,
                )
            elif rel == Rel.INGESTS_FROM and self.graph.nodes[target].get("in_inventory") is False:
                self._note(
                    f"bucket {target}, which data source {holder.get('name') or source} ingests from, is not in "
                    "the snapshot: its tags and bucket policy are not analysed",
                    source,
                    target,
                )

    def _note(self, text: str, *subjects: str) -> None:
        """Add a "not analysed" note; with subjects, it concerns only walks that pass those nodes."""
        if text in self.note_subjects or (not subjects and text in self.notes):
            if subjects:
                self.note_subjects[text] = tuple(dict.fromkeys((*self.note_subjects[text], *subjects)))
            return
        self.notes.append(text)
        if subjects:
            self.note_subjects[text] = tuple(dict.fromkeys(subjects))

    def _note_missing_policies(self) -> None:
        """Name the principals whose attached or boundary policies, or whose groups, the snapshot lacks."""
        missing: dict[str, list[User | Role]] = defaultdict(list)
        records: list[User | Role] = [*self.authorizer.users(), *self.authorizer.roles()]
        for record in records:
            for policy_arn in self.authorizer.missing_managed_policies(record.arn):
                missing[policy_arn].append(record)
        for policy_arn, holders in sorted(missing.items()):
            self._note(
                f"managed policy {policy_arn} is attached to {_some_names(holders)} but its document is not in "
                "the snapshot: permissions it grants are not analysed, and as a boundary it is treated as absent",
                *(holder.arn for holder in holders),
            )
        members: dict[str, list[User]] = defaultdict(list)
        for account in self.snapshot.accounts.values():
            group_names = {group.name for group in account.groups.values()}
            for user in account.users.values():
                for name in user.group_names:
                    if name not in group_names:
                        members[f"arn:{self.partition}:iam::{user.account}:group/{name}"].append(user)
        for group_arn, users in sorted(members.items()):
            self._note(
                f"group {group_arn.rsplit('/', 1)[-1]} of account {users[0].account}, which {_some_names(users)} "
                "belong to, is not in the snapshot: the permissions its policies grant are not analysed",
                *(user.arn for user in users),
            )

    def _add_knowledge_base_retrieval(self) -> None:
        """Mark whether each agent version's execution role may query its knowledge bases.

        The agent retrieves with its execution role. The Bedrock User Guide page "Create a
        service role for Amazon Bedrock Agents" lists permissions to query the knowledge
        bases among the role's required permissions. So a role that may not call
        `bedrock:Retrieve` on a knowledge base gives no path through it.
        """
        edges = [
            (source, target, data)
            for source, target, rel, data in self.graph.edges(keys=True, data=True)
            if rel == Rel.USES_KNOWLEDGE_BASE
        ]
        for version_id, kb_arn, data in edges:
            role_arn = next(
                (t for _, t, rel in self.graph.out_edges(version_id, keys=True) if rel == Rel.HAS_EXECUTION_ROLE), None
            )
            if role_arn is None or self.authorizer.role(role_arn) is None:
                data["retrievable"] = True
                data["note"] = "the agent's execution role is not in the snapshot; retrieval is assumed"
                continue
            evaluation = self.authorizer.decide(
                self.authorizer.request_principal(role_arn),
                "bedrock:Retrieve",
                kb_arn,
                resource_account=self.authorizer.account_of_resource(kb_arn),
            )
            data["retrievable"] = evaluation.decision is not Decision.DENY
            data.update(
                {
                    key: value
                    for key, value in edge_properties(
                        Rel.USES_KNOWLEDGE_BASE, ["bedrock:Retrieve"], [evaluation]
                    ).items()
                    if key != "technique"
                }
            )
            if not data["retrievable"]:
                data["reason"] = (
                    "is associated with the knowledge base, but its execution role may not call bedrock:Retrieve on it"
                )

    def _mark_service_only_roles(self) -> None:
        for node_id, data in self.graph.nodes(data=True):
            if data["label"] != Label.ROLE:
                continue
            callers = [
                self.graph.nodes[source]["label"]
                for source, _, rel in self.graph.in_edges(node_id, keys=True)
                if rel == Rel.CAN_ASSUME
            ]
            data["assumable_by_principals"] = any(label != Label.SERVICE_PRINCIPAL for label in callers)
            # NOTE: web identity and SAML federation are recorded on the role, not evaluated:
            # the identity provider's users are outside the snapshot.
            trust = self.authorizer.resource_policy(node_id) or ()
            data["trusted_federated"] = sorted(
                {entry for s in trust if s.is_allow and s.principals for entry in s.principals.get("Federated", ())}
            )
            data["trusted_services"] = sorted(
                self.graph.nodes[source]["name"]
                for source, _, rel in self.graph.in_edges(node_id, keys=True)
                if rel == Rel.CAN_ASSUME and self.graph.nodes[source]["label"] == Label.SERVICE_PRINCIPAL
            )


def _exact_step(data: dict[str, Any]) -> bool:
    """Tell whether an act-as edge applies with no condition, assumption or steering of an agent."""
    return not data.get("weak") and not data.get("conditional") and "potential" not in data


def _some_names(records: list[User] | list[User | Role]) -> str:
    """Up to five principal names, then how many more."""
    names = sorted(record.name for record in records)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def edge_properties(
    rel: Rel,
    actions: list[str],
    evaluations: list[Evaluation],
    *,
    technique: tuple[str, str] | None = None,
    conditional: bool | None = None,
    described: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build the explanation a permission edge carries: actions, statements, conditions, sentence.

    By default any one of the granted actions gives the edge's access, so the edge is
    conditional only when every action is, and the actions that are only conditionally
    allowed are listed in `conditional_actions`. An escalation edge, which needs all its
    actions, passes its own `conditional`. With `described`, each statement's description
    is made once and kept there by its reference.
    """
    if conditional is None:
        conditional = all(evaluation.decision is Decision.CONDITIONAL for evaluation in evaluations)
    conditional_actions = (
        [
            action
            for action, evaluation in zip(actions, evaluations, strict=True)
            if evaluation.decision is Decision.CONDITIONAL
        ]
        if len(actions) == len(evaluations)
        else []
    )
    statements: dict[str, dict[str, Any]] = {}
    conditions: list[dict[str, Any]] = []
    for evaluation in evaluations:
        for statement in evaluation.granting:
            ref = statement.ref
            if ref in statements:
                continue
            description = described.get(ref) if described is not None else None
            if description is None:
                description = statement.describe()
                if described is not None:
                    described[ref] = description
            statements[ref] = description
        if evaluation.decision is Decision.CONDITIONAL:
            for effect, clauses in (
                ("allow-if", evaluation.conditions),
                ("deny-if", evaluation.deny_conditions),
            ):
                for clause in clauses:
                    entry = condition_json(clause, effect)
                    if entry not in conditions:
                        conditions.append(entry)
    tag, sentence = technique or TECHNIQUES.get(rel, ("policy-check", "is allowed ({actions})"))
    reason = sentence.format(actions=", ".join(actions))
    refs = sorted(statements)
    if refs:
        reason += f", granted by {', '.join(refs)}"
    if conditional and conditions:
        reason += "; " + "; ".join(condition_text(condition) for condition in conditions)
    elif conditional_actions and conditions:
        reason += f"; {', '.join(conditional_actions)} " + "; ".join(
            condition_text(condition) for condition in conditions
        )
    properties: dict[str, Any] = {
        "actions": actions,
        "conditional": conditional,
        "conditions": conditions,
        "statements": [statements[ref] for ref in refs],
        "technique": tag,
        "reason": reason,
    }
    if conditional_actions and not conditional:
        properties["conditional_actions"] = conditional_actions
    return properties


def condition_json(clause: ConditionClause, effect: str) -> dict[str, Any]:
    """Describe an undecided condition. `effect` is `allow-if` (needed) or `deny-if` (blocks)."""
    return {
        "effect": effect,
        "operator": clause.operator,
        "key": clause.key,
        "values": [str(v) for v in clause.values],
    }


def condition_text(condition: dict[str, Any]) -> str:
    words = "only if" if condition["effect"] == "allow-if" else "unless"
    return f"{words} {condition['operator']} {condition['key']} = {', '.join(condition['values'])}"


def unqualified_function_arn(arn: str) -> str:
    """`arn:...:function:NAME` for a function ARN that may end in `:VERSION` or `:ALIAS`."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def _version_id(agent: Agent, version: str) -> str:
    return f"{agent.arn}#version/{version}"


def _path_of(account: Any, group_name: str) -> str:
    for group in account.groups.values():
        if group.name == group_name:
            return str(group.path)
    return "/"


def _account(entry: str) -> str | None:
    try:
        account = parse_arn(entry).account
    except ValueError:
        return None
    return account or None


def _named_entries(statements: Iterable[Statement]) -> set[str]:
    """Collect the AWS principal entries (ARNs, account ids, `*`) that Allow statements name."""
    entries: set[str] = set()
    for statement in statements:
        if not statement.is_allow:
            continue
        if statement.not_principals is not None:
            entries.add(ANY_PRINCIPAL_ID)
            continue
        for key, values in (statement.principals or {}).items():
            if key in ("*", "AWS"):
                entries.update(values)
    return entries


def _named_services(statements: Iterable[Statement]) -> set[str]:
    services: set[str] = set()
    for statement in statements:
        if statement.is_allow and statement.principals:
            services.update(statement.principals.get("Service", ()))
    return services


def _may_allow(statements: Iterable[Statement], action: str) -> bool:
    """Tell whether any Allow statement names the action, before conditions and resources."""
    return any(statement.is_allow and statement.covers_action(action) for statement in statements)


def principal_records(graph: DeputyGraph) -> list[User | Role]:
    """Return every user and role of the snapshot, sorted by ARN."""
    return [*graph.authorizer.users(), *graph.authorizer.roles()]
