"""Evaluation of IAM policy `Condition` blocks, following AWS's documented rules.

The rules come from these pages of the IAM User Guide: "IAM JSON policy elements: Condition
operators", "Conditions with multiple context keys or values", "Single-valued vs. multivalued
context keys", "IAM policy elements: Variables and tags" and "AWS global condition context
keys". Docstrings name the page behind each rule.

deputygraph evaluates policies against a snapshot of an account, where some request values,
such as the source IP, MFA use or the time, can never be known. A `RequestContext` therefore
distinguishes three kinds of key: keys with known values, keys known to be absent, and keys
whose values are unknowable. A clause that depends on an unknowable key is `Truth.UNKNOWN`.
Clauses combine with AND: any FALSE gives FALSE, otherwise any UNKNOWN gives UNKNOWN,
otherwise the block is TRUE. `ConditionOutcome.unresolved` lists the UNKNOWN clauses so that
the attack graph can show what an edge still depends on.

This module does not model:

- The policy `Version` element. Variables are always substituted, but AWS treats `${...}` as
  literal text in policies without `"Version": "2012-10-17"`, so callers must not substitute
  variables for older policies.
- Which operator suits which key. The key types of the Service Authorization Reference are
  not checked, and neither is whether a key is single-valued or multivalued.
- Where a variable may stand in a `Resource` ARN. AWS allows variables only after the fifth
  colon, but `substitute_variables` replaces them anywhere in the text.
- Policy checks that AWS runs when a policy is written, beyond rejecting operators and values
  that cannot be evaluated at all.
- Proofs that a clause does not depend on its unknowable key. Such clauses are UNKNOWN, with
  two exceptions: a `Null` clause that lists both "true" and "false" is always TRUE, and a
  date comparison of `aws:CurrentTime` or `aws:TokenIssueTime` with dates that lie in the
  past at the time of the analysis is settled (see `_settled_time_clause`).
- Escaped quotes inside the default value of a variable, which AWS does not document.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from operator import eq, ge, gt, le, lt
from typing import Any

from engine.errors import PolicyError


class Truth(enum.Enum):
    """Result of a condition in three-valued logic."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


class KeyStatus(enum.Enum):
    """Whether a request carries a condition key, as far as the snapshot can tell."""

    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWABLE = "unknowable"


def _fold(key: str) -> str:
    """Normalise a condition key name, because AWS matches key names case-insensitively.

    The page "IAM JSON policy elements: Condition" documents context key names as not
    case-sensitive, and "AWS global condition context keys" documents the same for the tag
    key inside `aws:RequestTag/tag-key`. So the whole name is folded, tag key included.
    """
    return key.casefold()


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The condition keys of one request: known values, known absences and unknowable keys.

    Key names match case-insensitively in every field. `lookup` decides the status of a key
    in this order:

    1. A key listed in `values` is present, even with an empty tuple.
    2. A key listed in `unknowable` is unknowable.
    3. A key listed in `known_absent` is absent.
    4. Any other key is unknowable when `missing_is_unknowable` is set (graph mode), and
       absent otherwise.

    Values are text as a request carries it: dates in ISO 8601 or epoch seconds, booleans as
    "true" or "false", and binary keys as base64. Raises ValueError when two keys of `values`
    differ only in case.
    """

    values: Mapping[str, tuple[str, ...]]
    unknowable: frozenset[str] = frozenset()
    missing_is_unknowable: bool = False
    known_absent: frozenset[str] = frozenset()
    _values_by_key: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _unknowable_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    _absent_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values_by_key: dict[str, tuple[str, ...]] = {}
        spelling: dict[str, str] = {}
        for key, key_values in self.values.items():
            folded = _fold(key)
            if folded in values_by_key:
                raise ValueError(
                    f"request context keys {spelling[folded]!r} and {key!r} differ only in case."
                    " Condition key names are case-insensitive, so give each key once"
                )
            values_by_key[folded] = tuple(key_values)
            spelling[folded] = key
        object.__setattr__(self, "_values_by_key", values_by_key)
        object.__setattr__(self, "_unknowable_keys", frozenset(map(_fold, self.unknowable)))
        object.__setattr__(self, "_absent_keys", frozenset(map(_fold, self.known_absent)))

    @classmethod
    def build(
        cls,
        values: Mapping[str, Iterable[str] | str],
        *,
        unknowable: Iterable[str] = (),
        missing_is_unknowable: bool = False,
        known_absent: Iterable[str] = (),
    ) -> RequestContext:
        """Build a context from plain data, turning a single string into a 1-tuple."""
        normalised = {key: (raw,) if isinstance(raw, str) else tuple(raw) for key, raw in values.items()}
        return cls(
            values=normalised,
            unknowable=frozenset(unknowable),
            missing_is_unknowable=missing_is_unknowable,
            known_absent=frozenset(known_absent),
        )

    def lookup(self, key: str) -> tuple[KeyStatus, tuple[str, ...]]:
        """Return the status of `key` and its values, which are empty unless it is present."""
        folded = _fold(key)
        if folded in self._values_by_key:
            return KeyStatus.PRESENT, self._values_by_key[folded]
        if folded in self._unknowable_keys:
            return KeyStatus.UNKNOWABLE, ()
        if folded in self._absent_keys or not self.missing_is_unknowable:
            return KeyStatus.ABSENT, ()
        return KeyStatus.UNKNOWABLE, ()


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One operator, one key and the policy values for that key, as written in the policy."""

    operator: str
    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    """Result of a `Condition` block, with what it depended on.

    `consulted_keys` are spelled as in the policy and include the keys inside `${...}`
    variables. `missing_keys` are the consulted keys that the request lacks, which excludes
    unknowable keys and keys given with an empty tuple.
    """

    truth: Truth
    unresolved: tuple[ConditionClause, ...]
    consulted_keys: frozenset[str]
    missing_keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class Substitution:
    """A policy string with its policy variables replaced by request values.

    `text` is None when a variable had no value and no default, because AWS then lets the
    string match nothing ("IAM policy elements: Variables and tags", section "Policy variables
    with no value"). `text` is also None when `unknowable` is set. `literal_spans` are the
    `[start, end)` ranges of `text` that came from variables, defaults or the special
    variables `${*}`, `${?}` and `${$}`. Wildcard matching treats those characters literally.
    """

    text: str | None
    unknowable: bool
    consulted_keys: frozenset[str]
    literal_spans: tuple[tuple[int, int], ...] = ()


# A variable is `${key}` or `${key, 'default'}`, with optional spaces around the key and the
# default. Text that looks like `${` but does not fit this form stays literal.
_VARIABLE = re.compile(r"\$\{(?P<key>[^,}']+?)\s*(?:,\s*'(?P<default>[^']*)'\s*)?\}")

# Predefined variables that stand for characters that otherwise have a special meaning.
_SPECIAL_VARIABLES = frozenset({"*", "?", "$"})


def _resolve_variable(key: str, default: str | None, context: RequestContext) -> tuple[str | None, bool]:
    """Return the replacement for one variable and whether its key is unknowable.

    A multivalued key cannot be used as a variable ("Single-valued vs. multivalued context
    keys"), so a key with more than one value counts as having no value, like an absent key.
    """
    if key in _SPECIAL_VARIABLES:
        return key, False
    status, values = context.lookup(key)
    if status is KeyStatus.UNKNOWABLE:
        return None, True
    if len(values) == 1:
        return values[0], False
    return default, False


def substitute_variables(text: str, context: RequestContext) -> Substitution:
    """Replace the policy variables in `text` with values from the request context.

    Use this for `Resource` and `NotResource` elements and for condition values. A variable
    without a value takes its default. Without a default, `text` of the result is None, and
    that wins over an unknowable variable elsewhere in the string, because the string then
    matches nothing whatever the unknowable key holds. Keys match case-insensitively.
    """
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    consulted: set[str] = set()
    length = 0
    position = 0
    has_missing_value = False
    has_unknowable = False
    for match in _VARIABLE.finditer(text):
        key = match["key"].strip()
        if not key:
            continue
        if key not in _SPECIAL_VARIABLES:
            consulted.add(key)
        replacement, unknowable = _resolve_variable(key, match["default"], context)
        has_unknowable = has_unknowable or unknowable
        has_missing_value = has_missing_value or (replacement is None and not unknowable)
        before = text[position : match.start()]
        inserted = replacement or ""
        pieces.extend((before, inserted))
        length += len(before)
        spans.append((length, length + len(inserted)))
        length += len(inserted)
        position = match.end()
    pieces.append(text[position:])

    keys = frozenset(consulted)
    if has_missing_value:
        return Substitution(text=None, unknowable=False, consulted_keys=keys)
    if has_unknowable:
        return Substitution(text=None, unknowable=True, consulted_keys=keys)
    literal_spans = tuple(span for span in spans if span[0] < span[1])
    return Substitution(text="".join(pieces), unknowable=False, consulted_keys=keys, literal_spans=literal_spans)


def _literal_mask(length: int, literal_spans: tuple[tuple[int, int], ...]) -> list[bool]:
    mask = [False] * length
    for start, end in literal_spans:
        mask[start:end] = [True] * (end - start)
    return mask


def _translate_wildcards(text: str, literal: list[bool], start: int, end: int, *, any_run: str, any_char: str) -> str:
    """Translate `text[start:end]` into a regular expression.

    `*` becomes `any_run` and `?` becomes `any_char`, except where `literal` marks the
    character as coming from a variable.
    """
    parts: list[str] = []
    for index in range(start, end):
        char = text[index]
        if literal[index] or char not in "*?":
            parts.append(re.escape(char))
        elif char == "*":
            parts.append(any_run)
        else:
            parts.append(any_char)
    return "".join(parts)


@lru_cache(maxsize=4096)
def _string_pattern(text: str, literal_spans: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    """Compile a `StringLike` pattern: `*` matches any run of characters, `?` one character."""
    literal = _literal_mask(len(text), literal_spans)
    expression = _translate_wildcards(text, literal, 0, len(text), any_run=".*", any_char=".")
    return re.compile(expression, re.DOTALL)


@lru_cache(maxsize=4096)
def _arn_pattern(text: str, literal_spans: tuple[tuple[int, int], ...]) -> re.Pattern[str] | None:
    """Compile an `ArnLike` pattern, or return None when `text` has fewer than six components.

    AWS checks each of the six colon-delimited components separately, so a wildcard in the
    first five components cannot reach past a colon. The sixth component, the resource, keeps
    any further colons and a wildcard there matches them.
    """
    colons = [index for index, char in enumerate(text) if char == ":"][:5]
    if len(colons) < 5:
        return None
    literal = _literal_mask(len(text), literal_spans)
    starts = [0, *(colon + 1 for colon in colons)]
    ends = [*colons, len(text)]
    components = [
        _translate_wildcards(text, literal, start, end, any_run="[^:]*", any_char="[^:]")
        for start, end in zip(starts[:5], ends[:5], strict=True)
    ]
    resource = _translate_wildcards(text, literal, starts[5], ends[5], any_run=".*", any_char=".")
    return re.compile(":".join([*components, resource]), re.DOTALL)


def wildcard_match(pattern: Substitution, value: str) -> bool:
    """Return whether `value` matches a substituted pattern, as `StringLike` matches.

    `*` matches any run of characters and `?` matches one character. Characters that came
    from variables, such as `${*}`, match only themselves. A pattern without text matches
    nothing.
    """
    if pattern.text is None:
        return False
    return _string_pattern(pattern.text, pattern.literal_spans).fullmatch(value) is not None


class _Family(enum.Enum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP_ADDRESS = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


@dataclass(frozen=True, slots=True)
class _BaseOperator:
    """An operator without set prefix or IfExists suffix.

    A negated operator is the positive `comparison` with the result inverted. Negation
    applies after the policy values are OR'ed, which gives the NOR that "Conditions with
    multiple context keys or values" documents for negated operators.
    """

    family: _Family
    comparison: str
    negated: bool = False


_BASE_OPERATORS: dict[str, _BaseOperator] = {
    "StringEquals": _BaseOperator(_Family.STRING, "Equals"),
    "StringNotEquals": _BaseOperator(_Family.STRING, "Equals", negated=True),
    "StringEqualsIgnoreCase": _BaseOperator(_Family.STRING, "EqualsIgnoreCase"),
    "StringNotEqualsIgnoreCase": _BaseOperator(_Family.STRING, "EqualsIgnoreCase", negated=True),
    "StringLike": _BaseOperator(_Family.STRING, "Like"),
    "StringNotLike": _BaseOperator(_Family.STRING, "Like", negated=True),
    "NumericEquals": _BaseOperator(_Family.NUMERIC, "Equals"),
    "NumericNotEquals": _BaseOperator(_Family.NUMERIC, "Equals", negated=True),
    "NumericLessThan": _BaseOperator(_Family.NUMERIC, "LessThan"),
    "NumericLessThanEquals": _BaseOperator(_Family.NUMERIC, "LessThanEquals"),
    "NumericGreaterThan": _BaseOperator(_Family.NUMERIC, "GreaterThan"),
    "NumericGreaterThanEquals": _BaseOperator(_Family.NUMERIC, "GreaterThanEquals"),
    "DateEquals": _BaseOperator(_Family.DATE, "Equals"),
    "DateNotEquals": _BaseOperator(_Family.DATE, "Equals", negated=True),
    "DateLessThan": _BaseOperator(_Family.DATE, "LessThan"),
    "DateLessThanEquals": _BaseOperator(_Family.DATE, "LessThanEquals"),
    "DateGreaterThan": _BaseOperator(_Family.DATE, "GreaterThan"),
    "DateGreaterThanEquals": _BaseOperator(_Family.DATE, "GreaterThanEquals"),
    "Bool": _BaseOperator(_Family.BOOL, "Equals"),
    "BinaryEquals": _BaseOperator(_Family.BINARY, "Equals"),
    "IpAddress": _BaseOperator(_Family.IP_ADDRESS, "Contains"),
    "NotIpAddress": _BaseOperator(_Family.IP_ADDRESS, "Contains", negated=True),
    # ArnEquals and ArnLike behave identically, and so do their negations.
    "ArnEquals": _BaseOperator(_Family.ARN, "Like"),
    "ArnLike": _BaseOperator(_Family.ARN, "Like"),
    "ArnNotEquals": _BaseOperator(_Family.ARN, "Like", negated=True),
    "ArnNotLike": _BaseOperator(_Family.ARN, "Like", negated=True),
    "Null": _BaseOperator(_Family.NULL, "IsNull"),
}

_SET_OPERATORS = ("ForAnyValue", "ForAllValues")

# Families whose values may hold policy variables. The operators page lists variables as
# supported for String, ARN and Boolean operators, and not for the others.
_VARIABLE_FAMILIES = frozenset({_Family.STRING, _Family.ARN, _Family.BOOL})

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": eq,
    "LessThan": lt,
    "LessThanEquals": le,
    "GreaterThan": gt,
    "GreaterThanEquals": ge,
}


@dataclass(frozen=True, slots=True)
class _Operator:
    """A condition operator split into its set prefix, base operator and IfExists suffix."""

    name: str
    base: _BaseOperator
    set_operator: str | None
    if_exists: bool


@lru_cache(maxsize=512)
def _parse_operator(name: str) -> _Operator:
    """Split an operator name into its parts, or raise PolicyError naming an undefined one.

    Names must be spelled as the IAM User Guide spells them. `IfExists` may follow any
    operator except `Null`, and a `ForAnyValue:` or `ForAllValues:` prefix may precede any
    operator except `Null`.
    """
    prefix, separator, rest = name.partition(":")
    set_operator = prefix if separator else None
    if not separator:
        rest = name
    if_exists = rest.endswith("IfExists")
    base_name = rest.removesuffix("IfExists")
    base = _BASE_OPERATORS.get(base_name)
    if base is None or (set_operator is not None and set_operator not in _SET_OPERATORS):
        raise PolicyError(
            f"unknown condition operator {name!r}: expected an IAM operator such as"
            " StringEquals, optionally prefixed with ForAnyValue: or ForAllValues: and"
            " suffixed with IfExists"
        )
    if base.family is _Family.NULL and (if_exists or set_operator is not None):
        raise PolicyError(
            f"invalid condition operator {name!r}: Null takes no IfExists suffix and no"
            " ForAnyValue: or ForAllValues: prefix"
        )
    return _Operator(name=name, base=base, set_operator=set_operator, if_exists=if_exists)


def _policy_value_text(value: Any, clause: ConditionClause) -> str:
    """Return a policy value as text, as AWS reads JSON strings, numbers and booleans alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise PolicyError(
        f"condition {clause.operator} on key {clause.key!r} has value {value!r}:"
        " values must be strings, numbers or booleans"
    )


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")
_YEAR_AND_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _parse_number(text: str) -> Decimal | None:
    """Parse an integer or decimal number as a Decimal, which keeps "10" equal to "10.0"."""
    stripped = text.strip()
    return Decimal(stripped) if _NUMBER.fullmatch(stripped) else None


def _parse_date(text: str) -> float | None:
    """Parse a date into epoch seconds, or return None when it is neither accepted form.

    The operators page accepts epoch (UNIX) time and the W3C profile of ISO 8601: `YYYY`,
    `YYYY-MM`, `YYYY-MM-DD` and date-times with a time zone designator. A bare run of digits
    is read as epoch seconds, so `2020` means 2020 seconds after the epoch, not the year.
    Dates without a time zone are taken as UTC. Other ISO 8601 forms that
    `datetime.fromisoformat` parses are accepted too.
    """
    stripped = text.strip()
    if _EPOCH_SECONDS.fullmatch(stripped):
        return float(stripped)
    year_and_month = _YEAR_AND_MONTH.fullmatch(stripped)
    try:
        if year_and_month:
            moment = datetime(int(year_and_month[1]), int(year_and_month[2]), 1, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(stripped)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Parse a CIDR range, reading an address without a prefix as a single-address range.

    The operators page gives `/32` as the default prefix, which is what `ip_network` does for
    IPv4. For IPv6 it uses `/128`, the single-address range of that family.
    """
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _decode_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


_Predicate = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class _PolicyValue:
    """One policy value, ready to test request values against.

    `predicate` is None when the value matches nothing, which is the case for a variable
    without a value. `unknowable` marks a value whose variable key is unknowable.
    """

    predicate: _Predicate | None
    unknowable: bool = False


def _string_predicate(comparison: str, substitution: Substitution) -> _Predicate:
    text = substitution.text or ""
    if comparison == "Equals":
        return lambda request_value: request_value == text
    if comparison == "EqualsIgnoreCase":
        folded = text.casefold()
        return lambda request_value: request_value.casefold() == folded
    pattern = _string_pattern(text, substitution.literal_spans)
    return lambda request_value: pattern.fullmatch(request_value) is not None


def _arn_predicate(substitution: Substitution) -> _Predicate | None:
    # NOTE: AWS does not document a pattern with fewer than six components, such as "*".
    # Such a pattern matches no ARN here.
    pattern = _arn_pattern(substitution.text or "", substitution.literal_spans)
    if pattern is None:
        return None
    return lambda request_value: pattern.fullmatch(request_value) is not None


def _bool_predicate(clause: ConditionClause, raw: str, substitution: Substitution) -> _Predicate:
    """Build a case-insensitive boolean predicate, or raise PolicyError for a literal non-boolean."""
    expected = (substitution.text or "").lower()
    if expected not in ("true", "false"):
        if _VARIABLE.search(raw) is None:
            raise PolicyError(
                f"condition {clause.operator} on key {clause.key!r} has value {raw!r}:"
                ' Bool values must be "true" or "false"'
            )
        return lambda request_value: False
    return lambda request_value: request_value.strip().lower() == expected


def _compile_variable_value(
    operator: _Operator, clause: ConditionClause, raw: str, context: RequestContext
) -> tuple[_PolicyValue, frozenset[str]]:
    """Substitute the variables of one String, ARN or Bool value and build its predicate."""
    substitution = substitute_variables(raw, context)
    if substitution.unknowable:
        return _PolicyValue(None, unknowable=True), substitution.consulted_keys
    if substitution.text is None:
        return _PolicyValue(None), substitution.consulted_keys
    family = operator.base.family
    predicate: _Predicate | None
    if family is _Family.STRING:
        predicate = _string_predicate(operator.base.comparison, substitution)
    elif family is _Family.ARN:
        predicate = _arn_predicate(substitution)
    else:
        predicate = _bool_predicate(clause, raw, substitution)
    return _PolicyValue(predicate), substitution.consulted_keys


def _invalid_value(clause: ConditionClause, raw: str, expected: str) -> PolicyError:
    return PolicyError(f"condition {clause.operator} on key {clause.key!r} has value {raw!r}, which is not {expected}")


def _ordered_predicate(parse: Callable[[str], Any], ordering: Callable[[Any, Any], bool], expected: Any) -> _Predicate:
    """Build a predicate that parses a request value and compares it with `expected`."""

    def predicate(request_value: str) -> bool:
        parsed = parse(request_value)
        return parsed is not None and ordering(parsed, expected)

    return predicate


def _compile_typed_value(operator: _Operator, clause: ConditionClause, raw: str) -> _PolicyValue:
    """Parse one Numeric, Date, IP address or Binary value, or raise PolicyError when invalid.

    A request value that cannot be parsed matches no policy value.
    """
    family = operator.base.family
    if family is _Family.NUMERIC:
        number = _parse_number(raw)
        if number is None:
            raise _invalid_value(clause, raw, "an integer or decimal number")
        ordering = _ORDERINGS[operator.base.comparison]
        return _PolicyValue(_ordered_predicate(_parse_number, ordering, number))
    if family is _Family.DATE:
        moment = _parse_date(raw)
        if moment is None:
            raise _invalid_value(clause, raw, "an ISO 8601 date or epoch seconds")
        ordering = _ORDERINGS[operator.base.comparison]
        return _PolicyValue(_ordered_predicate(_parse_date, ordering, moment))
    if family is _Family.IP_ADDRESS:
        network = _parse_network(raw)
        if network is None:
            raise _invalid_value(clause, raw, "an IPv4 or IPv6 address or CIDR range")
        return _PolicyValue(lambda request_value: _address_in(request_value, network))
    expected_bytes = _decode_base64(raw)
    if expected_bytes is None:
        raise _invalid_value(clause, raw, "base64 text")
    return _PolicyValue(lambda request_value: _decode_base64(request_value) == expected_bytes)


def _address_in(text: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


def _compile_policy_values(
    operator: _Operator, clause: ConditionClause, texts: tuple[str, ...], context: RequestContext
) -> tuple[list[_PolicyValue], frozenset[str]]:
    """Build the predicates of a clause and return them with the variable keys they read."""
    if operator.base.family not in _VARIABLE_FAMILIES:
        return [_compile_typed_value(operator, clause, raw) for raw in texts], frozenset()
    policy_values: list[_PolicyValue] = []
    variable_keys: set[str] = set()
    for raw in texts:
        policy_value, keys = _compile_variable_value(operator, clause, raw, context)
        policy_values.append(policy_value)
        variable_keys.update(keys)
    return policy_values, frozenset(variable_keys)


def _negate(truth: Truth) -> Truth:
    if truth is Truth.UNKNOWN:
        return Truth.UNKNOWN
    return Truth.FALSE if truth is Truth.TRUE else Truth.TRUE


def _all_of(truths: Iterable[Truth]) -> Truth:
    """AND in three-valued logic: any FALSE gives FALSE, then any UNKNOWN gives UNKNOWN."""
    saw_unknown = False
    for truth in truths:
        if truth is Truth.FALSE:
            return Truth.FALSE
        saw_unknown = saw_unknown or truth is Truth.UNKNOWN
    return Truth.UNKNOWN if saw_unknown else Truth.TRUE


def _any_of(truths: Iterable[Truth]) -> Truth:
    """OR in three-valued logic: any TRUE gives TRUE, then any UNKNOWN gives UNKNOWN."""
    return _negate(_all_of(_negate(truth) for truth in truths))


def _match_request_value(request_value: str, policy_values: list[_PolicyValue]) -> Truth:
    """OR one request value over the policy values, as AWS does for multiple values."""
    if any(value.predicate is not None and value.predicate(request_value) for value in policy_values):
        return Truth.TRUE
    if any(value.unknowable for value in policy_values):
        return Truth.UNKNOWN
    return Truth.FALSE


def _absent_key_truth(operator: _Operator) -> Truth:
    """Return the result of a clause whose key is absent or has no values.

    The operators page makes `...IfExists` true when the key is absent. It makes a negated
    operator true and any other operator false. "Single-valued vs. multivalued context keys"
    makes `ForAllValues` true and `ForAnyValue` false. That page does not address negated
    operators under a set prefix, and here the set rule applies to them too.
    """
    if operator.if_exists or operator.set_operator == "ForAllValues":
        return Truth.TRUE
    if operator.set_operator == "ForAnyValue":
        return Truth.FALSE
    return Truth.TRUE if operator.base.negated else Truth.FALSE


def _evaluate_operator(
    operator: _Operator, request_values: tuple[str, ...], policy_values: list[_PolicyValue]
) -> Truth:
    """Evaluate a clause whose key is known to be present or absent.

    With a set operator, each request value is tested separately and empty strings are
    dropped, because AWS counts a value that "resolves to a null dataset, such as an empty
    string" as no value. A negated set operator negates each request value's test, so that
    `ForAllValues:StringNotEquals` requires that no request value matches any policy value.
    """
    dataset = request_values
    if operator.set_operator is not None:
        dataset = tuple(value for value in request_values if value)
    if not dataset:
        return _absent_key_truth(operator)

    matches = [_match_request_value(value, policy_values) for value in dataset]
    if operator.set_operator is None:
        # NOTE: AWS does not document a plain operator on a key with several values. Here a
        # positive operator is true when any request value matches, a negated one when none does.
        combined = _any_of(matches)
        return _negate(combined) if operator.base.negated else combined
    if operator.base.negated:
        matches = [_negate(match) for match in matches]
    if operator.set_operator == "ForAllValues":
        return _all_of(matches)
    return _any_of(matches)


def _null_expectation(raw: str, clause: ConditionClause) -> bool:
    """Return True for a `Null` value that requires the key to be absent."""
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise PolicyError(
            f"condition Null on key {clause.key!r} has value {raw!r}:"
            ' Null values must be "true" (key absent) or "false" (key present)'
        )
    return lowered == "true"


def _evaluate_null(
    clause: ConditionClause, texts: tuple[str, ...], status: KeyStatus, values: tuple[str, ...]
) -> Truth:
    """Evaluate `Null`, which is true for "true" when the key is absent and for "false" when not.

    A key whose values are all empty strings counts as null, because the operators page
    recommends `Null` with "false" to stop keys "with empty values" from passing
    `ForAllValues`.
    """
    expectations = {_null_expectation(raw, clause) for raw in texts}
    if status is KeyStatus.UNKNOWABLE:
        return Truth.TRUE if expectations == {True, False} else Truth.UNKNOWN
    is_null = not any(values)
    return Truth.TRUE if is_null in expectations else Truth.FALSE


@dataclass(frozen=True, slots=True)
class _ClauseResult:
    truth: Truth
    consulted_keys: frozenset[str]


def _evaluate_clause(clause: ConditionClause, context: RequestContext) -> _ClauseResult:
    operator = _parse_operator(clause.operator)
    texts = tuple(_policy_value_text(value, clause) for value in clause.values)
    status, request_values = context.lookup(clause.key)
    if operator.base.family is _Family.NULL:
        truth = _evaluate_null(clause, texts, status, request_values)
        return _ClauseResult(truth, frozenset({clause.key}))

    # The policy values are compiled even when the key decides the clause alone, so that an
    # invalid value raises PolicyError whatever the request holds.
    policy_values, variable_keys = _compile_policy_values(operator, clause, texts, context)
    consulted = frozenset({clause.key, *variable_keys})
    if status is KeyStatus.UNKNOWABLE:
        return _ClauseResult(_settled_time_clause(operator, clause, texts) or Truth.UNKNOWN, consulted)
    return _ClauseResult(_evaluate_operator(operator, request_values, policy_values), consulted)


# The maximum lifetime of temporary credentials: GetSessionToken grants up to 129,600 seconds
# (STS API Reference, "GetSessionToken"), more than any role session.
_MAX_SESSION_SECONDS = 129_600


def _settled_time_clause(operator: _Operator, clause: ConditionClause, texts: tuple[str, ...]) -> Truth | None:
    """Settle a date comparison of the request time or token issue time with past dates, or return None.

    A request made from now on has `aws:CurrentTime` now or later, and, when it is signed
    with temporary credentials, `aws:TokenIssueTime` at most 36 hours before. The IAM User
    Guide page "AWS global condition context keys" states that `aws:TokenIssueTime` is present
    only in requests signed with temporary credentials. So comparing either key with dates
    older than that is FALSE for `DateLessThan` and `DateLessThanEquals` (an absent key makes
    them FALSE as well, unless `IfExists`), and TRUE for `DateGreaterThan` and
    `DateGreaterThanEquals` on `aws:CurrentTime`, which is always present.
    """
    key = _fold(clause.key)
    base = operator.base
    if key not in ("aws:currenttime", "aws:tokenissuetime") or base.family is not _Family.DATE:
        return None
    if operator.set_operator is not None or base.negated or base.comparison == "Equals":
        return None
    moments = [_parse_date(text) for text in texts]
    earliest = time.time() - (_MAX_SESSION_SECONDS if key == "aws:tokenissuetime" else 0)
    if not moments or any(moment is None or moment >= earliest for moment in moments):
        return None
    if base.comparison.startswith("LessThan"):
        return None if operator.if_exists and key == "aws:tokenissuetime" else Truth.FALSE
    return Truth.TRUE if key == "aws:currenttime" else None


def _clauses(block: Mapping[str, Mapping[str, Any]]) -> list[ConditionClause]:
    """Split a `Condition` block into clauses, or raise PolicyError when it is malformed."""
    if not isinstance(block, Mapping):
        raise PolicyError(f"Condition must be an object of operators, got {block!r}")
    clauses: list[ConditionClause] = []
    for operator_name, entries in block.items():
        _parse_operator(operator_name)
        if not isinstance(entries, Mapping):
            raise PolicyError(f"Condition.{operator_name} must be an object of keys to values, got {entries!r}")
        for key, raw in entries.items():
            values = tuple(raw) if isinstance(raw, list) else (raw,)
            clauses.append(ConditionClause(operator=operator_name, key=key, values=values))
    return clauses


def evaluate_conditions(block: Mapping[str, Mapping[str, Any]], context: RequestContext) -> ConditionOutcome:
    """Evaluate a `Condition` block against a request context.

    Operators and the keys under one operator are AND'ed, and the values of one key are OR'ed
    ("Conditions with multiple context keys or values"). An empty block is TRUE. Raises
    PolicyError for an unknown operator, naming it, and for a value that the operator cannot
    compare, such as a Numeric value that is not a number.
    """
    truths: list[Truth] = []
    unresolved: list[ConditionClause] = []
    consulted: set[str] = set()
    for clause in _clauses(block):
        result = _evaluate_clause(clause, context)
        truths.append(result.truth)
        consulted.update(result.consulted_keys)
        if result.truth is Truth.UNKNOWN:
            unresolved.append(clause)
    missing = frozenset(key for key in consulted if context.lookup(key)[0] is KeyStatus.ABSENT)
    return ConditionOutcome(
        truth=_all_of(truths),
        unresolved=tuple(unresolved),
        consulted_keys=frozenset(consulted),
        missing_keys=missing,
    )


# A request about which nothing is known, so that every variable is unknowable and only the
# literal policy values are compiled.
_UNKNOWN_REQUEST = RequestContext(values={}, missing_is_unknowable=True)


def validate_conditions(block: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise PolicyError unless every clause of a `Condition` block can be evaluated.

    The checks are those that `evaluate_conditions` makes for any request: the block's
    shape, the operator names, and the literal values of Null, Bool, Numeric, Date,
    IP address and Binary operators. String, ARN and Bool values that contain a policy
    variable are not checked, because their text is known only for a request.
    """
    for clause in _clauses(block):
        operator = _parse_operator(clause.operator)
        texts = tuple(_policy_value_text(value, clause) for value in clause.values)
        if operator.base.family is _Family.NULL:
            for raw in texts:
                _null_expectation(raw, clause)
        else:
            _compile_policy_values(operator, clause, texts, _UNKNOWN_REQUEST)
