"""IAM policy documents parsed into statements that the evaluator can match.

Parsing follows the IAM JSON policy grammar: `Statement` is one object or a list,
`Action`/`Resource`/`Principal` and their `Not` forms hold a string or a list, and
`Principal` is `"*"` or an object keyed by `AWS`, `Service`, `Federated` or
`CanonicalUser`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.errors import PolicyError
from engine.matching import action_matches

# Condition keys whose values describe the caller or the service calling on its behalf.
PRINCIPAL_KEY_PREFIXES = (
    "aws:principal",
    "aws:username",
    "aws:userid",
    "aws:source",
    "aws:calledvia",
    "iam:resourcetag",
)


class PolicyKind(StrEnum):
    """Where a policy sits in AWS's evaluation logic."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "permissions-boundary"
    SCP = "scp"
    RCP = "rcp"


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Which policy a statement comes from, as an analyst would look it up.

    `policy_id` is the managed policy ARN, or for inline and resource-based policies
    a readable id such as `arn:aws:iam::111122223333:role/app#inline:s3-read`.
    """

    kind: PolicyKind
    policy_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy statement; the list fields are None when the element is absent."""

    source: PolicySource
    index: int
    sid: str | None
    effect: str  # "Allow" or "Deny"
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: Mapping[str, tuple[str, ...]] | None  # "*" is stored as {"*": ("*",)}
    not_principals: Mapping[str, tuple[str, ...]] | None
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def is_allow(self) -> bool:
        return self.effect == "Allow"

    def covers_action(self, action: str) -> bool:
        """Check the Action or NotAction element against one concrete action."""
        if self.actions is not None:
            return any(action_matches(pattern, action) for pattern in self.actions)
        return not any(action_matches(pattern, action) for pattern in self.not_actions or ())

    def reads_principal(self) -> bool:
        """Tell whether the statement's effect can differ between two callers with the same policies.

        That is the case when it names principals other than everyone, reads a key about the
        caller or the calling service, or uses a policy variable.
        """
        if self.not_principals is not None or self.principals not in (None, {"*": ("*",)}):
            return True
        if any("${" in pattern for pattern in (*(self.resources or ()), *(self.not_resources or ()))):
            return True
        for block in self.conditions.values():
            for key, value in block.items():
                if key.lower().startswith(PRINCIPAL_KEY_PREFIXES) or "${" in str(value):
                    return True
        return False

    @property
    def ref(self) -> str:
        """A short reference such as `arn:aws:iam::aws:policy/ReadOnlyAccess#1(ReadAll)`."""
        label = f"({self.sid})" if self.sid else ""
        return f"{self.source.policy_id}#{self.index}{label}"

    def describe(self) -> dict[str, Any]:
        """The statement as JSON-ready data, for output that shows why a decision was made."""
        result: dict[str, Any] = {
            "policy": self.source.policy_id,
            "policy_name": self.source.name,
            "policy_kind": str(self.source.kind),
            "statement_index": self.index,
            "sid": self.sid,
            "effect": self.effect,
        }
        for key, value in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if value is not None:
                result[key] = list(value)
        if self.conditions:
            result["Condition"] = json.loads(json.dumps(self.conditions))
        return result


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy document and its statements, in document order."""

    source: PolicySource
    statements: tuple[Statement, ...]


def _string_list(value: Any, element: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyError(f"{where}: {element} must be a string or a list of strings, got {value!r}")


def _principal_map(value: Any, element: str, where: str) -> dict[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise PolicyError(f'{where}: {element} must be "*" or an object such as {{"AWS": ...}}')
    result: dict[str, tuple[str, ...]] = {}
    for key, entries in value.items():
        if key not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyError(f"{where}: {element} has unknown key {key!r}")
        result[key] = _string_list(entries, f"{element}.{key}", where)
    return result


def _conditions(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: Condition must be an object, got {value!r}")
    for operator, block in value.items():
        if not isinstance(block, dict):
            raise PolicyError(f"{where}: Condition.{operator} must be an object of keys to values")
    return value


def parse_statement(raw: Any, source: PolicySource, index: int) -> Statement:
    """Parse one statement object; raise PolicyError naming the element at fault."""
    where = f"{source.policy_id} statement {index}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a statement must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny", got {effect!r}')
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where}: exactly one of Action and NotAction is required")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"{where}: Resource and NotResource cannot both be present")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(f"{where}: Principal and NotPrincipal cannot both be present")

    def optional_list(element: str) -> tuple[str, ...] | None:
        return _string_list(raw[element], element, where) if element in raw else None

    def optional_principals(element: str) -> dict[str, tuple[str, ...]] | None:
        return _principal_map(raw[element], element, where) if element in raw else None

    sid = raw.get("Sid")
    return Statement(
        source=source,
        index=index,
        sid=str(sid) if sid is not None else None,
        effect=effect,
        actions=optional_list("Action"),
        not_actions=optional_list("NotAction"),
        resources=optional_list("Resource"),
        not_resources=optional_list("NotResource"),
        principals=optional_principals("Principal"),
        not_principals=optional_principals("NotPrincipal"),
        conditions=_conditions(raw.get("Condition", {}), where),
    )


def parse_policy(document: Any, source: PolicySource) -> Policy:
    """Parse a policy document, given as a dict or as the JSON string some APIs return."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise PolicyError(f"{source.policy_id}: policy document is not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise PolicyError(f"{source.policy_id}: a policy document must be a JSON object")
    raw_statements = document.get("Statement")
    if raw_statements is None:
        raise PolicyError(f"{source.policy_id}: the policy has no Statement element")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(f"{source.policy_id}: Statement must be an object or a list of objects")
    statements = tuple(parse_statement(raw, source, index) for index, raw in enumerate(raw_statements))
    return Policy(source=source, statements=statements)
