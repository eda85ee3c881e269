"""API keys: parsed from DEPUTY_API_KEYS and kept as SHA-256 digests.

A key is compared by its digest with `hmac.compare_digest` against every configured
digest, so neither the key nor the position of its match shows in the response time.
The plain keys are not kept after start-up and are never logged. This module imports no
web framework, so the command line can name the variable without loading FastAPI.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from engine.errors import UsageError

API_KEYS_VARIABLE = "DEPUTY_API_KEYS"
MIN_KEY_LENGTH = 16


class Scope(StrEnum):
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A configured key: the SHA-256 digest of its text and its scope."""

    digest: bytes
    scope: Scope


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_api_keys(text: str) -> tuple[ApiKey, ...]:
    """Parse `KEY:SCOPE` entries separated by commas; a key without `:SCOPE` gets `read`.

    Error messages name an entry by its position, never by its text.
    """
    keys: list[ApiKey] = []
    for position, raw in enumerate(text.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        key, separator, scope_text = entry.rpartition(":")
        if not separator:
            key, scope_text = entry, Scope.READ.value
        if scope_text not in {scope.value for scope in Scope}:
            raise UsageError(
                f"{API_KEYS_VARIABLE} entry {position} has scope {scope_text!r}; "
                "write KEY, KEY:read or KEY:admin, and leave ':' out of keys"
            )
        if len(key) < MIN_KEY_LENGTH:
            raise UsageError(
                f"{API_KEYS_VARIABLE} entry {position} is shorter than {MIN_KEY_LENGTH} characters; "
                "generate keys with, for example, python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        keys.append(ApiKey(_digest(key), Scope(scope_text)))
    return tuple(keys)


class KeyStore:
    """The configured keys, looked up by the digest of a presented key."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        if not keys:
            raise UsageError(f"no API keys are configured; set {API_KEYS_VARIABLE}=KEY:read or KEY:admin")
        self._keys = keys
        self.rejected = 0  # invalid keys presented since start-up, for the log

    def scope_of(self, presented: str) -> Scope | None:
        """Return the scope of a presented key, or None when it matches no configured key."""
        digest = _digest(presented)
        found: Scope | None = None
        # Every digest is compared, so the time taken does not reveal which entry matched.
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest):
                found = key.scope
        return found
