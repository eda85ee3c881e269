"""The principal that makes a request, and how a `Principal` element names it.

A request comes from an IAM user, a role session, an AWS service principal, an
external account whose policies the snapshot does not hold, or an anonymous caller.
`principal_match` says in which way a resource-based policy names that caller,
because AWS treats the ways differently: a grant to a user or session ARN is enough
on its own, a grant to a role ARN is still limited by the role's permissions
boundary, and a grant to an account only delegates to that account's policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum

from engine.arn import account_root_arn, is_account_id, is_arn, parse_arn

# The forms of principal that `Authorizer.request_principal` accepts, for error messages.
PRINCIPAL_FORMS = (
    "a user, role or assumed-role session ARN, a service principal such as bedrock.amazonaws.com, or anonymous"
)


class PrincipalKind(StrEnum):
    USER = "user"
    ROLE_SESSION = "role-session"
    SERVICE = "service"
    EXTERNAL = "external"  # an account or principal outside the snapshot
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class RequestPrincipal:
    """Who makes a request.

    For a role session `arn` is the role's IAM ARN and `session_arn` the STS ARN.
    For a service principal `arn` is the service name, such as `bedrock.amazonaws.com`.
    """

    kind: PrincipalKind
    arn: str
    account: str | None
    partition: str = "aws"
    unique_id: str | None = None
    name: str | None = None
    session_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_iam_entity(self) -> bool:
        return self.kind in (PrincipalKind.USER, PrincipalKind.ROLE_SESSION)


def session_note(session_arn: str, role_arn: str) -> str:
    """Build the note that the CLI and the REST API print when they return a role's paths for a session."""
    return (
        f"{session_arn} is a session of role {role_arn}, so these are the role's paths. "
        "Session policies and session tags are not in the snapshot. Session policies can only "
        "narrow these paths, and session tags can change the result of conditions on aws:PrincipalTag."
    )


def is_service_name(text: str) -> bool:
    """Tell whether text has the shape of a service principal, such as `bedrock.amazonaws.com`."""
    return "." in text and not text.startswith("arn:")


def is_principal_text(text: str) -> bool:
    """Tell whether text has one of the PRINCIPAL_FORMS. The snapshot may still lack the principal."""
    return text == "anonymous" or is_service_name(text) or is_arn(text)


class MatchKind(Enum):
    """How a Principal element names the caller, strongest first."""

    DIRECT = "direct"  # the user ARN, the role session ARN, or "*"
    ROLE = "role"  # the role ARN of a role session
    ACCOUNT = "account"  # the caller's account
    SERVICE = "service"  # the caller's service name


def _match_aws_entry(entry: str, principal: RequestPrincipal) -> MatchKind | None:
    if entry == "*":
        return MatchKind.DIRECT
    if principal.kind in (PrincipalKind.SERVICE, PrincipalKind.ANONYMOUS):
        return None
    if principal.account is not None and (
        entry == principal.account or entry == account_root_arn(principal.account, principal.partition)
    ):
        return MatchKind.ACCOUNT
    if principal.kind is PrincipalKind.ROLE_SESSION:
        if entry == principal.session_arn:
            return MatchKind.DIRECT
        return MatchKind.ROLE if entry in (principal.arn, principal.unique_id) else None
    # Users and external principals are named by their ARN. A policy may also hold a
    # unique id (AWS shows the id once the principal it named is deleted); an id
    # matches only the principal that has it.
    return MatchKind.DIRECT if entry in (principal.arn, principal.unique_id) else None


def principal_match(principals: Mapping[str, tuple[str, ...]], principal: RequestPrincipal) -> MatchKind | None:
    """The strongest way a `Principal` element names the caller, or None if it does not."""
    best: MatchKind | None = None
    order = list(MatchKind)
    for key, entries in principals.items():
        for entry in entries:
            if key == "*":
                found: MatchKind | None = MatchKind.DIRECT
            elif key == "AWS":
                found = _match_aws_entry(entry, principal)
            elif key == "Service":
                found = (
                    MatchKind.SERVICE if principal.kind is PrincipalKind.SERVICE and entry == principal.arn else None
                )
            else:
                found = None  # Federated and CanonicalUser never name the principals modelled here
            if found is not None and (best is None or order.index(found) < order.index(best)):
                best = found
    return best


def not_principal_exemption(not_principals: Mapping[str, tuple[str, ...]], principal: RequestPrincipal) -> str:
    """How a Deny with NotPrincipal treats the caller: "exempt", "denied" or "uncertain".

    The IAM User Guide page "AWS JSON policy elements: NotPrincipal" says a Deny with
    NotPrincipal spares a principal only when the element names it, and that AWS may
    check the account first, then the role, then the role session: a session is spared
    only when its own ARN is listed, and leaving out the account (or, for a session, the
    role) "might" deny the principal anyway. That "might" is reported as uncertain.
    """
    entries = {entry for key, values in not_principals.items() if key in ("*", "AWS") for entry in values}
    services = set(not_principals.get("Service", ()))
    if "*" in entries:
        return "exempt"
    if principal.kind is PrincipalKind.SERVICE:
        return "exempt" if principal.arn in services else "denied"
    if principal.kind is PrincipalKind.ANONYMOUS:
        return "denied"
    account = (
        {principal.account, account_root_arn(principal.account, principal.partition)} if principal.account else set()
    )
    account_listed = bool(entries & account)
    if principal.kind is PrincipalKind.ROLE_SESSION:
        role_listed = bool(entries & {principal.arn, principal.unique_id})
        if principal.session_arn is None:
            # The session name is chosen when the role is assumed; a listed session of
            # this role may or may not be the one in use.
            sessions = [e for e in entries if e.startswith(_session_prefix(principal))]
            return "uncertain" if sessions and role_listed else "denied"
        if principal.session_arn not in entries:
            return "denied"
        return "exempt" if role_listed and account_listed else "uncertain"
    if not entries & {principal.arn, principal.unique_id}:
        return "exempt" if account_listed and principal.kind is PrincipalKind.EXTERNAL else "denied"
    return "exempt" if account_listed else "uncertain"


def _session_prefix(principal: RequestPrincipal) -> str:
    return f"arn:{principal.partition}:sts::{principal.account}:assumed-role/{principal.name}/"


def account_of(arn_text: str) -> str | None:
    """The account id in an ARN or a bare account id, or None for service names."""
    if is_account_id(arn_text):
        return arn_text
    try:
        return parse_arn(arn_text).account or None
    except ValueError:
        return None
