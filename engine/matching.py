"""Wildcard matching for the Action, Resource and Principal elements.

IAM wildcards are `*` (any run of characters, including none) and `?` (exactly one
character). Action names match case-insensitively and ARNs case-sensitively, as the
IAM User Guide states for the Action and Resource elements. Within an ARN, wildcards
in the first five colon-separated segments stay inside their segment. The resource
segment (everything after the fifth colon) is matched as one string.

Besides matching a concrete value, the graph needs to ask about a *set* of resources,
for example "some object in bucket B" (`arn:aws:s3:::B/*`). `glob_intersects` answers
whether an Allow pattern covers at least one member of such a set, and `glob_covers`
whether a Deny pattern covers all of them.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=65536)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Tell whether an IAM wildcard pattern matches a whole value."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Tell whether an Action/NotAction entry such as `s3:Get*` matches `s3:GetObject`."""
    return glob_match(pattern, action, ignore_case=True)


def _split_arn(text: str) -> list[str]:
    return text.split(":", 5)


def arn_matches(pattern: str, arn: str) -> bool:
    """Tell whether a Resource pattern matches a concrete ARN, segment by segment.

    A pattern with fewer than six segments (such as `arn:aws:s3:*`) lets its last
    segment run over the rest of the ARN, so that a short pattern never hides access.
    """
    if pattern == "*":
        return True
    if pattern == arn:
        return True
    pattern_parts = _split_arn(pattern)
    arn_parts = _split_arn(arn)
    if len(arn_parts) != 6:
        return glob_match(pattern, arn)
    if len(pattern_parts) < 6:
        head = len(pattern_parts) - 1
        if not all(glob_match(p, a) for p, a in zip(pattern_parts[:head], arn_parts[:head], strict=True)):
            return False
        return glob_match(pattern_parts[head], ":".join(arn_parts[head:]))
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


@lru_cache(maxsize=65536)
def glob_intersects(left: str, right: str) -> bool:
    """Tell whether some string matches both wildcard patterns (case-sensitive)."""
    return _intersects(left, right, 0, 0, {})


def _intersects(a: str, b: str, i: int, j: int, memo: dict[tuple[int, int], bool]) -> bool:
    key = (i, j)
    if key in memo:
        return memo[key]
    if i == len(a) and j == len(b):
        result = True
    elif i < len(a) and a[i] == "*":
        result = _intersects(a, b, i + 1, j, memo) or (j < len(b) and _advance_other(a, b, i, j, memo, left_star=True))
    elif j < len(b) and b[j] == "*":
        result = _intersects(a, b, i, j + 1, memo) or (i < len(a) and _advance_other(a, b, i, j, memo, left_star=False))
    elif i < len(a) and j < len(b):
        result = (a[i] == "?" or b[j] == "?" or a[i] == b[j]) and _intersects(a, b, i + 1, j + 1, memo)
    else:
        result = False
    memo[key] = result
    return result


def _advance_other(a: str, b: str, i: int, j: int, memo: dict[tuple[int, int], bool], *, left_star: bool) -> bool:
    # A star on one side absorbs one character (or one star) of the other side.
    if left_star:
        return _intersects(a, b, i, j + 1, memo)
    return _intersects(a, b, i + 1, j, memo)


@lru_cache(maxsize=65536)
def glob_covers(pattern: str, prefix: str) -> bool:
    """Tell whether `pattern` matches every string that starts with `prefix`.

    Used for Deny statements against a resource set `prefix*`: the deny removes the
    whole set only when, after matching `prefix` literally, the rest of the pattern
    is nothing but `*`.
    """
    if pattern == "*":
        return True
    return _covers(pattern, prefix, 0, 0, {})


def _covers(pattern: str, prefix: str, i: int, j: int, memo: dict[tuple[int, int], bool]) -> bool:
    key = (i, j)
    if key in memo:
        return memo[key]
    if j == len(prefix):
        result = pattern[i:] != "" and set(pattern[i:]) == {"*"}
    elif i == len(pattern):
        result = False
    elif pattern[i] == "*":
        result = _covers(pattern, prefix, i + 1, j, memo) or _covers(pattern, prefix, i, j + 1, memo)
    else:
        result = (pattern[i] == "?" or pattern[i] == prefix[j]) and _covers(pattern, prefix, i + 1, j + 1, memo)
    memo[key] = result
    return result


def arn_pattern_intersects(pattern: str, resource_set: str) -> bool:
    """Tell whether a Resource pattern matches at least one ARN of a set written as a pattern."""
    if pattern == "*" or resource_set == "*":
        return True
    return glob_intersects(pattern, resource_set)


def arn_pattern_covers(pattern: str, resource_set: str) -> bool:
    """Tell whether a Resource pattern matches every ARN of a set `PREFIX*`.

    A set without a trailing `*` is one concrete ARN and uses `arn_matches`.
    """
    if not resource_set.endswith("*"):
        return arn_matches(pattern, resource_set)
    return glob_covers(pattern, resource_set.rstrip("*"))
