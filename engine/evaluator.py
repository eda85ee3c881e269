"""AWS's policy evaluation logic over one request.

The order follows the IAM User Guide page "Policy evaluation logic"
(reference_policies_evaluation-logic). An explicit Deny in any policy wins. Then the
SCPs of the principal's account must allow at every level of the organization tree,
and the RCPs of the resource's account must not deny. Within one account, a
resource-based policy that names the user or session ARN grants on its own, and one
that names the role ARN grants within the role's permissions boundary. Otherwise the
identity-based policies and the boundary must both allow. Across accounts both sides
must allow, and role trust policies must allow the caller in every case.

Every check is three-valued: a statement whose conditions depend on a value that the
snapshot cannot know makes the result `conditional`, and the result carries those
conditions.

Not modelled: session policies (no session exists in a snapshot), KMS key policies,
ACLs and S3 Object Ownership, VPC endpoint policies, and the special treatment of
the account root user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.conditions import (
    ConditionClause,
    RequestContext,
    Truth,
    evaluate_conditions,
    substitute_variables,
)
from engine.errors import PolicyError
from engine.matching import arn_matches, arn_pattern_covers, arn_pattern_intersects
from engine.policy import Statement
from engine.principals import (
    MatchKind,
    PrincipalKind,
    RequestPrincipal,
    not_principal_exemption,
    principal_match,
)


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    CONDITIONAL = "conditional"


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every policy that applies to one request, sorted into AWS's policy types.

    `boundary`, `scp_levels` and `rcp_levels` are None when that type does not apply.
    That is the case without a boundary, and for SCPs in an account outside an
    organization, in the management account or for a service-linked role. Each SCP or
    RCP level contains the policies attached to one node of the organization tree (root,
    each OU, the account). Every SCP level must allow, and no RCP level may deny.
    `resource` is the resource-based policy, or the trust policy for `sts:AssumeRole`,
    in which case `resource_policy_required` is True.
    """

    identity: tuple[Statement, ...] = ()
    boundary: tuple[Statement, ...] | None = None
    scp_levels: tuple[tuple[Statement, ...], ...] | None = None
    rcp_levels: tuple[tuple[Statement, ...], ...] | None = None
    resource: tuple[Statement, ...] | None = None
    resource_policy_required: bool = False
    # Set when the SCP and RCP answer depends only on the account, action and resource, so
    # that one evaluation can serve every principal of the account.
    organization_key: str | None = None
    organization_cache: dict[tuple[object, ...], Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Request:
    """One request: who, which action, on which resource, with which context.

    With `resource_is_set` the resource is a pattern ending in `*` that stands for a
    set of resources (every object of a bucket, every VPC of an account); an Allow
    then applies if it covers some member and a Deny only if it covers all of them.
    """

    principal: RequestPrincipal
    action: str
    resource: str
    resource_account: str | None
    context: RequestContext
    resource_is_set: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The decision and the statements behind it."""

    decision: Decision
    granting: tuple[Statement, ...]  # identity-based and resource-based Allow statements that apply
    permitting: tuple[Statement, ...]  # boundary, SCP and RCP Allow statements that apply
    denying: tuple[Statement, ...]  # Deny statements that apply or may apply
    conditions: tuple[ConditionClause, ...]  # undecided conditions of Allow statements: allowed only if they hold
    deny_conditions: tuple[ConditionClause, ...]  # undecided conditions of Deny statements: allowed unless they hold
    missing_keys: frozenset[str]  # condition keys the policies read that the request lacks
    reason: str

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def possible(self) -> bool:
        """Allowed, or allowed when the undecided conditions hold."""
        return self.decision is not Decision.DENY


NO_ALLOW = "no identity-based or resource-based policy allows it"


def t_and(*values: Truth) -> Truth:
    if Truth.FALSE in values:
        return Truth.FALSE
    return Truth.UNKNOWN if Truth.UNKNOWN in values else Truth.TRUE


def t_or(*values: Truth) -> Truth:
    if Truth.TRUE in values:
        return Truth.TRUE
    return Truth.UNKNOWN if Truth.UNKNOWN in values else Truth.FALSE


def t_not(value: Truth) -> Truth:
    if value is Truth.UNKNOWN:
        return value
    return Truth.FALSE if value is Truth.TRUE else Truth.TRUE


@dataclass(slots=True)
class _Match:
    statement: Statement
    truth: Truth
    unresolved: tuple[ConditionClause, ...]
    principal: MatchKind | None = None


@dataclass(slots=True)
class _Trace:
    """Record of the statements and keys that the evaluation of one request has met."""

    matches: list[_Match] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    # Allow statements that would apply but for a condition on a key the request lacks.
    allows_missing_keys: list[tuple[Statement, frozenset[str]]] = field(default_factory=list)
    present: frozenset[str] = frozenset()  # the request's condition keys in lower case


def _pattern_applies(pattern: str, request: Request, *, is_allow: bool) -> bool:
    if not request.resource_is_set:
        return arn_matches(pattern, request.resource)
    if is_allow:
        return arn_pattern_intersects(pattern, request.resource)
    return arn_pattern_covers(pattern, request.resource)


def _resource_truth(statement: Statement, request: Request, trace: _Trace) -> Truth:
    patterns = statement.resources if statement.resources is not None else statement.not_resources
    if patterns is None:
        return Truth.TRUE  # trust policies have no Resource element
    unknown = False
    hits: list[bool] = []
    for raw in patterns:
        # NOTE: `${*}` and `${?}` become wildcards here instead of literal characters;
        # conditions.wildcard_match keeps them literal but resource matching does not use it yet.
        substitution = substitute_variables(raw, request.context)
        trace.missing.update(_missing_of(substitution.consulted_keys, trace))
        if substitution.unknowable:
            unknown = True
            continue
        if substitution.text is None:
            hits.append(False)
            continue
        if statement.resources is not None:
            hits.append(_pattern_applies(substitution.text, request, is_allow=statement.is_allow))
        else:
            # NotResource: a Deny applies to the whole set only if no excluded pattern
            # touches it. An Allow applies if some member is outside every excluded pattern.
            excluded = (
                arn_pattern_intersects(substitution.text, request.resource)
                if request.resource_is_set and not statement.is_allow
                else _pattern_applies(substitution.text, request, is_allow=False)
            )
            hits.append(excluded)
    if statement.resources is not None:
        if any(hits):
            return Truth.TRUE
    elif not any(hits):
        return Truth.UNKNOWN if unknown else Truth.TRUE
    elif any(hits):
        return Truth.FALSE
    return Truth.UNKNOWN if unknown else Truth.FALSE


def _missing_of(keys: Iterable[str], trace: _Trace) -> set[str]:
    return {key for key in keys if key.lower() not in trace.present}


def _match_statement(statement: Statement, request: Request, trace: _Trace, *, check_principal: bool) -> _Match | None:
    """Evaluate one statement; None when it does not apply to the request at all."""
    if not statement.covers_action(request.action):
        return None
    principal: MatchKind | None = None
    principal_applies = Truth.TRUE
    if check_principal:
        principal, principal_applies = _principal_truth(statement, request.principal)
        if principal_applies is Truth.FALSE:
            return None
    resource = t_and(principal_applies, _resource_truth(statement, request, trace))
    if resource is Truth.FALSE:
        return None
    try:
        outcome = evaluate_conditions(statement.conditions, request.context)
    except PolicyError as error:
        raise PolicyError(f"{statement.ref}: {error}") from error
    trace.missing.update(outcome.missing_keys)
    truth = t_and(resource, outcome.truth)
    if truth is Truth.FALSE:
        if statement.is_allow and outcome.missing_keys:
            trace.allows_missing_keys.append((statement, frozenset(outcome.missing_keys)))
        return None
    match = _Match(statement, truth, outcome.unresolved, principal)
    trace.matches.append(match)
    return match


def _principal_truth(statement: Statement, principal: RequestPrincipal) -> tuple[MatchKind | None, Truth]:
    """Return how the statement's Principal or NotPrincipal names the caller, and whether it applies."""
    if statement.principals is not None:
        kind = principal_match(statement.principals, principal)
        return kind, Truth.TRUE if kind is not None else Truth.FALSE
    if statement.not_principals is None:
        return MatchKind.DIRECT, Truth.TRUE  # SCPs have no Principal element
    if statement.is_allow:
        named = principal_match(statement.not_principals, principal) is not None
        return (None, Truth.FALSE) if named else (MatchKind.DIRECT, Truth.TRUE)
    exemption = not_principal_exemption(statement.not_principals, principal)
    truth = {"exempt": Truth.FALSE, "denied": Truth.TRUE}.get(exemption, Truth.UNKNOWN)
    return MatchKind.DIRECT, truth


def _layer(
    statements: Iterable[Statement],
    request: Request,
    trace: _Trace,
    *,
    check_principal: bool = False,
) -> tuple[list[_Match], list[_Match]]:
    allows: list[_Match] = []
    denies: list[_Match] = []
    for statement in statements:
        match = _match_statement(statement, request, trace, check_principal=check_principal)
        if match is None:
            continue
        (allows if statement.is_allow else denies).append(match)
    return allows, denies


def _any(matches: Iterable[_Match]) -> Truth:
    return t_or(*(match.truth for match in matches))


def evaluate(request: Request, policies: PolicySet) -> Evaluation:
    """Decide one request the way AWS does, with the statements behind the decision."""
    trace = _Trace(present=frozenset(key.lower() for key in request.context.values))
    principal = request.principal
    denies: list[_Match] = []
    permitting: list[_Match] = []

    identity_allows, identity_denies = _layer(policies.identity, request, trace)
    denies += identity_denies

    boundary_ok = Truth.TRUE
    if policies.boundary is not None:
        boundary_allows, boundary_denies = _layer(policies.boundary, request, trace)
        denies += boundary_denies
        permitting += boundary_allows
        boundary_ok = _any(boundary_allows)

    scp_ok, organization_denies, organization_allows = _organization_layers(request, policies, trace)
    rcp_ok = Truth.TRUE
    denies += organization_denies
    permitting += organization_allows

    resource_allows: list[_Match] = []
    if policies.resource is not None:
        resource_allows, resource_denies = _layer(policies.resource, request, trace, check_principal=True)
        denies += [match for match in resource_denies if match.principal is not None]
        denies += _boundary_not_principal_denies(policies, principal, request, trace)

    deny_truth = _any(denies)
    if deny_truth is Truth.TRUE:
        definite = [match for match in denies if match.truth is Truth.TRUE]
        reason = f"explicitly denied by {definite[0].statement.ref}"
        return _result(Decision.DENY, trace, [], [], definite, reason=reason)

    grant, reason_if_no = _grant(request, policies, identity_allows, resource_allows, boundary_ok)
    truth = t_and(t_not(deny_truth), rcp_ok, scp_ok, grant)
    granting = identity_allows + resource_allows

    if truth is Truth.FALSE:
        reason = _implicit_deny_reason(rcp_ok, scp_ok, reason_if_no)
        if reason == NO_ALLOW and trace.allows_missing_keys:
            reason = _missing_key_reason(trace.allows_missing_keys)
        return _result(Decision.DENY, trace, [], [], [], reason=reason)
    if truth is Truth.TRUE:
        return _result(Decision.ALLOW, trace, granting, permitting, [], reason="allowed")
    return _result(
        Decision.CONDITIONAL,
        trace,
        granting,
        permitting,
        [match for match in denies if match.truth is Truth.UNKNOWN],
        reason="allowed only if the listed conditions hold",
    )


_OrganizationResult = tuple[Truth, list[_Match], list[_Match], list[_Match], frozenset[str]]


def _organization_layers(
    request: Request, policies: PolicySet, trace: _Trace
) -> tuple[Truth, list[_Match], list[_Match]]:
    """SCPs (every level must allow) and RCPs (only their Deny statements decide), cached when allowed."""
    key: tuple[object, ...] | None = None
    cache = policies.organization_cache
    if policies.organization_key is not None and cache is not None:
        key = (
            policies.organization_key,
            request.action,
            request.resource,
            request.resource_is_set,
            request.resource_account,
        )
        cached: _OrganizationResult | None = cache.get(key)
        if cached is not None:
            scp_ok, denies, allows, matches, missing = cached
            trace.matches.extend(matches)
            trace.missing.update(missing)
            return scp_ok, denies, allows
    local = _Trace(present=trace.present)
    scp_ok, scp_denies, scp_allows = _organization_levels(policies.scp_levels, request, local)
    # RCPFullAWSAccess is attached to every root, OU and account once RCPs are enabled and
    # cannot be detached, so only the Deny statements of RCPs decide anything.
    _, rcp_denies, rcp_allows = _organization_levels(policies.rcp_levels, request, local, check_principal=True)
    denies = scp_denies + rcp_denies
    allows = scp_allows + rcp_allows
    if key is not None and cache is not None:
        cache[key] = (scp_ok, denies, allows, list(local.matches), frozenset(local.missing))
    trace.matches.extend(local.matches)
    trace.missing.update(local.missing)
    return scp_ok, denies, allows


def _organization_levels(
    levels: tuple[tuple[Statement, ...], ...] | None,
    request: Request,
    trace: _Trace,
    *,
    check_principal: bool = False,
) -> tuple[Truth, list[_Match], list[_Match]]:
    if levels is None:
        return Truth.TRUE, [], []
    per_level: list[Truth] = []
    denies: list[_Match] = []
    allows: list[_Match] = []
    for statements in levels:
        level_allows, level_denies = _layer(statements, request, trace, check_principal=check_principal)
        per_level.append(_any(level_allows))
        denies += level_denies
        allows += level_allows
    return t_and(*per_level), denies, allows


def _boundary_not_principal_denies(
    policies: PolicySet, principal: RequestPrincipal, request: Request, trace: _Trace
) -> list[_Match]:
    """Deny statements with NotPrincipal deny every principal that has a permissions boundary.

    The IAM User Guide page "Permissions boundaries for IAM entities" warns that such a
    statement denies a bounded user or role whatever its NotPrincipal lists.
    """
    if policies.boundary is None or policies.resource is None or not principal.is_iam_entity:
        return []
    found: list[_Match] = []
    for statement in policies.resource:
        if statement.is_allow or statement.not_principals is None:
            continue
        if not_principal_exemption(statement.not_principals, principal) != "exempt":
            continue  # already applied as an ordinary NotPrincipal deny
        if not statement.covers_action(request.action) or _resource_truth(statement, request, trace) is Truth.FALSE:
            continue
        outcome = evaluate_conditions(statement.conditions, request.context)
        if outcome.truth is not Truth.FALSE:
            found.append(_Match(statement, outcome.truth, outcome.unresolved, MatchKind.DIRECT))
    return found


def _grant(
    request: Request,
    policies: PolicySet,
    identity_allows: list[_Match],
    resource_allows: list[_Match],
    boundary_ok: Truth,
) -> tuple[Truth, str]:
    """Decide whether some policy grants the request, before denies and organization policies."""
    principal = request.principal

    def by_kind(*kinds: MatchKind) -> Truth:
        return _any(match for match in resource_allows if match.principal in kinds)

    if principal.kind in (PrincipalKind.SERVICE, PrincipalKind.ANONYMOUS):
        kind = MatchKind.SERVICE if principal.kind is PrincipalKind.SERVICE else MatchKind.DIRECT
        return by_kind(kind, MatchKind.DIRECT), "no resource-based policy allows this caller"

    named = by_kind(MatchKind.DIRECT, MatchKind.ROLE, MatchKind.ACCOUNT)
    identity = Truth.UNKNOWN if principal.kind is PrincipalKind.EXTERNAL else _any(identity_allows)
    identity_within_boundary = t_and(identity, boundary_ok)

    same_account = principal.kind is not PrincipalKind.EXTERNAL and principal.account == request.resource_account
    if not same_account:
        grant = t_and(identity_within_boundary, named)
        if grant is Truth.FALSE and named is Truth.FALSE:
            return (
                grant,
                "cross-account access needs the resource-based policy to allow this principal",
            )
        return grant, "cross-account access needs an identity-based policy that allows it"

    grant = t_or(
        by_kind(MatchKind.DIRECT),
        t_and(by_kind(MatchKind.ROLE), boundary_ok),
        identity_within_boundary,
    )
    if policies.resource_policy_required:
        grant = t_and(grant, named)
        if named is Truth.FALSE:
            return grant, "the role's trust policy does not allow this principal"
    if identity is Truth.FALSE:
        return grant, NO_ALLOW
    return grant, "the permissions boundary does not allow it"


def _missing_key_reason(allows: list[tuple[Statement, frozenset[str]]]) -> str:
    """Name the Allow statements that a missing condition key kept from applying.

    A condition on a key that the request lacks is false unless its operator is Null or
    ends in IfExists, so such an Allow does not apply. The IAM policy simulator reports
    these keys as missing context values.
    """
    refs = ", ".join(dict.fromkeys(statement.ref for statement, _ in allows))
    keys = sorted({key for _, statement_keys in allows for key in statement_keys})
    subject = "an Allow exists whose condition needs" if len(allows) == 1 else "Allows exist whose conditions need"
    verb = "was" if len(keys) == 1 else "were"
    return f"{subject} {', '.join(keys)}, which {verb} not given ({refs})"


def _implicit_deny_reason(rcp_ok: Truth, scp_ok: Truth, otherwise: str) -> str:
    if rcp_ok is Truth.FALSE:
        return "no resource control policy (RCP) allows it at every level of the organization"
    if scp_ok is Truth.FALSE:
        return "no service control policy (SCP) allows it at every level of the organization"
    return otherwise


def _result(
    decision: Decision,
    trace: _Trace,
    granting: list[_Match],
    permitting: list[_Match],
    denying: list[_Match],
    *,
    reason: str,
) -> Evaluation:
    unresolved: list[ConditionClause] = []
    deny_unresolved: list[ConditionClause] = []
    if decision is Decision.CONDITIONAL:
        # An Allow's conditions matter only where no other Allow of the same policy type
        # already applies without conditions.
        settled = {
            match.statement.source.kind
            for match in trace.matches
            if match.statement.is_allow and match.truth is Truth.TRUE
        }
        for match in trace.matches:
            if match.truth is not Truth.UNKNOWN:
                continue
            if match.statement.is_allow and match.statement.source.kind in settled:
                continue
            bucket = unresolved if match.statement.is_allow else deny_unresolved
            bucket += [clause for clause in match.unresolved if clause not in bucket]
    return Evaluation(
        decision=decision,
        granting=_unique(match.statement for match in granting),
        permitting=_unique(match.statement for match in permitting),
        denying=_unique(match.statement for match in denying),
        conditions=tuple(unresolved),
        deny_conditions=tuple(deny_unresolved),
        missing_keys=frozenset(trace.missing),
        reason=reason,
    )


def _unique(statements: Iterable[Statement]) -> tuple[Statement, ...]:
    """Statements in first-seen order, each once (one SCP may be attached at several levels)."""
    unique: dict[str, Statement] = {}
    for statement in statements:
        unique.setdefault(statement.ref, statement)
    return tuple(unique.values())
