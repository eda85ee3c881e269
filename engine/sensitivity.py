"""Which resources count as sensitive targets of a path.

The rules come from a TOML file (`--config FILE`); without one the defaults below
apply. A bucket is sensitive when one of its tags has a listed key and value
(compared case-insensitively) or its name matches a listed pattern. VPC provisioning
APIs and guardrail changes are sensitive unless the file turns them off.

    [buckets]
    tag_keys = ["data-classification"]
    sensitive_values = ["confidential", "restricted", "secret", "sensitive", "pii"]
    name_patterns = ["*payroll*", "*secret*", "*tfstate*", "*terraform-state*"]

    [apis]
    vpc_provisioning = true

    [guardrails]
    modification = true
    admins = []

    [agents]
    production_alias_patterns = ["prod", "prod-*", "*-prod", "*-prod-*", "production", "production-*", "*-production"]
    production_tag_key = "environment"
    production_tag_values = ["prod", "production"]

    [bedrock]
    approved_regions = []
    approved_accounts = []

The findings read the last three tables. `[guardrails] admins` lists the ARN patterns
(`*` and `?` wildcards) of the principals meant to change guardrails; any other
principal that can update, delete or version a guardrail in use is a finding. An agent
alias is in production when its name matches a pattern (case-insensitively) or its tag
`production_tag_key` has one of `production_tag_values`. `approved_regions` are the
regions where Bedrock may be used; empty means the regions where the snapshot holds
agents. `approved_accounts` are the accounts that may use Bedrock; empty means every
account.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import DeputyError
from engine.matching import glob_match

DEFAULT_TAG_KEYS = ("data-classification",)
DEFAULT_SENSITIVE_VALUES = ("confidential", "restricted", "secret", "sensitive", "pii")
DEFAULT_NAME_PATTERNS = ("*payroll*", "*secret*", "*tfstate*", "*terraform-state*")
DEFAULT_PRODUCTION_ALIAS_PATTERNS = (
    "prod",
    "prod-*",
    "*-prod",
    "*-prod-*",
    "production",
    "production-*",
    "*-production",
)
DEFAULT_PRODUCTION_TAG_KEY = "environment"
DEFAULT_PRODUCTION_TAG_VALUES = ("prod", "production")


@dataclass(frozen=True, slots=True)
class Sensitivity:
    tag_keys: tuple[str, ...] = DEFAULT_TAG_KEYS
    sensitive_values: tuple[str, ...] = DEFAULT_SENSITIVE_VALUES
    name_patterns: tuple[str, ...] = DEFAULT_NAME_PATTERNS
    vpc_provisioning: bool = True
    guardrail_modification: bool = True
    guardrail_admins: tuple[str, ...] = ()
    production_alias_patterns: tuple[str, ...] = DEFAULT_PRODUCTION_ALIAS_PATTERNS
    production_tag_key: str = DEFAULT_PRODUCTION_TAG_KEY
    production_tag_values: tuple[str, ...] = DEFAULT_PRODUCTION_TAG_VALUES
    approved_regions: tuple[str, ...] = ()
    approved_accounts: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def bucket_reason(self, name: str, tags: Mapping[str, str]) -> str | None:
        """Why a bucket is sensitive, or None if it is not."""
        keys = {key.lower() for key in self.tag_keys}
        values = {value.lower() for value in self.sensitive_values}
        for key, value in sorted(tags.items()):
            if key.lower() in keys and value.lower() in values:
                return f"tag {key}={value}"
        for pattern in self.name_patterns:
            if glob_match(pattern, name, ignore_case=True):
                return f"name matches {pattern}"
        return None

    def production_reason(self, alias_name: str, tags: Mapping[str, str]) -> str | None:
        """Why an agent alias counts as production, or None if it does not."""
        values = {value.lower() for value in self.production_tag_values}
        for key, value in sorted(tags.items()):
            if key.lower() == self.production_tag_key.lower() and value.lower() in values:
                return f"tag {key}={value}"
        for pattern in self.production_alias_patterns:
            if glob_match(pattern, alias_name, ignore_case=True):
                return f"alias name matches {pattern}"
        return None

    def is_guardrail_admin(self, principal_arn: str) -> bool:
        return any(glob_match(pattern, principal_arn) for pattern in self.guardrail_admins)


def _string(table: Mapping[str, Any], key: str, path: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise DeputyError(f"{path}: {key} must be a string, got {value!r}")
    return value


def _string_list(table: Mapping[str, Any], key: str, path: str, default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DeputyError(f"{path}: {key} must be a list of strings, got {value!r}")
    return tuple(value)


def _flag(table: Mapping[str, Any], key: str, path: str) -> bool:
    value = table.get(key, True)
    if not isinstance(value, bool):
        raise DeputyError(f"{path}: {key} must be true or false, got {value!r}")
    return value


def _table(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise DeputyError(f"{path}: [{key}] must be a table")
    return value


KNOWN_KEYS = {
    "buckets": ("tag_keys", "sensitive_values", "name_patterns"),
    "apis": ("vpc_provisioning",),
    "guardrails": ("modification", "admins"),
    "agents": ("production_alias_patterns", "production_tag_key", "production_tag_values"),
    "bedrock": ("approved_regions", "approved_accounts"),
}


def _reject_unknown(table: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    """A misspelt key would silently fall back to a default, so it is an error."""
    for key in table:
        if key not in known:
            raise DeputyError(f"{where}: unknown key {key!r}; expected one of {', '.join(sorted(known))}")


def load_sensitivity(path: str | Path | None) -> Sensitivity:
    """Read the sensitivity rules from a TOML file, or return the defaults for None."""
    if path is None:
        return Sensitivity()
    text_path = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DeputyError(f"{text_path}: configuration file not found") from error
    except IsADirectoryError as error:
        raise DeputyError(f"{text_path}: is a directory; give the path of a TOML file") from error
    except (UnicodeDecodeError, OSError) as error:
        raise DeputyError(f"{text_path}: cannot be read as UTF-8 text ({error})") from error
    except tomllib.TOMLDecodeError as error:
        raise DeputyError(f"{text_path}: invalid TOML ({error}); fix the file or omit --config") from error
    _reject_unknown(data, dict.fromkeys(KNOWN_KEYS), text_path)
    for table, keys in KNOWN_KEYS.items():
        _reject_unknown(_table(data, table, text_path), dict.fromkeys(keys), f"{text_path} [{table}]")
    buckets = _table(data, "buckets", text_path)
    guardrails = _table(data, "guardrails", text_path)
    agents = _table(data, "agents", text_path)
    bedrock = _table(data, "bedrock", text_path)
    return Sensitivity(
        tag_keys=_string_list(buckets, "tag_keys", f"{text_path} [buckets]", DEFAULT_TAG_KEYS),
        sensitive_values=_string_list(buckets, "sensitive_values", f"{text_path} [buckets]", DEFAULT_SENSITIVE_VALUES),
        name_patterns=_string_list(buckets, "name_patterns", f"{text_path} [buckets]", DEFAULT_NAME_PATTERNS),
        vpc_provisioning=_flag(_table(data, "apis", text_path), "vpc_provisioning", f"{text_path} [apis]"),
        guardrail_modification=_flag(guardrails, "modification", f"{text_path} [guardrails]"),
        guardrail_admins=_string_list(guardrails, "admins", f"{text_path} [guardrails]", ()),
        production_alias_patterns=_string_list(
            agents, "production_alias_patterns", f"{text_path} [agents]", DEFAULT_PRODUCTION_ALIAS_PATTERNS
        ),
        production_tag_key=_string(agents, "production_tag_key", f"{text_path} [agents]", DEFAULT_PRODUCTION_TAG_KEY),
        production_tag_values=_string_list(
            agents, "production_tag_values", f"{text_path} [agents]", DEFAULT_PRODUCTION_TAG_VALUES
        ),
        approved_regions=_string_list(bedrock, "approved_regions", f"{text_path} [bedrock]", ()),
        approved_accounts=_string_list(bedrock, "approved_accounts", f"{text_path} [bedrock]", ()),
    )
