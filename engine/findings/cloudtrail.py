"""DG006: Bedrock agent invocations and Bedrock management events that no trail logs.

`bedrock:InvokeAgent` calls are CloudTrail data events of the resource type
`AWS::Bedrock::AgentAlias`, which only advanced event selectors can select (AWS
CloudTrail User Guide, "Logging data events"; Amazon Bedrock User Guide, "Monitor
Amazon Bedrock API calls using CloudTrail"). Basic event selectors select data events
of S3 objects, Lambda functions and DynamoDB tables only, so they never count here.
A trail covers an agent's region when it is multi-region or its home region is that
region; the trails come from the account's own `cloudtrail/` listing, which includes
organization trails.

Each advanced selector is matched against the event that an invocation of each alias
would produce. A field that the snapshot cannot predict for every call (the caller's
identity, `readOnly`) makes the match uncertain, which is reported as a finding of
lower severity.

Not modelled: whether a trail is logging (`get-trail-status`), CloudTrail Lake event
data stores, and trails of other accounts that are not organization trails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.conditions import Truth
from engine.findings.context import FindingContext
from engine.findings.model import Evidence, Finding, Severity
from engine.inventory import Agent, Trail

BEDROCK_SOURCE = "bedrock.amazonaws.com"
AGENT_ALIAS_TYPE = "AWS::Bedrock::AgentAlias"
POSITIVE = ("Equals", "StartsWith", "EndsWith")
NEGATIVE = ("NotEquals", "NotStartsWith", "NotEndsWith")


def _matches(operator: str, value: str, pattern: str) -> bool:
    base = operator.removeprefix("Not")
    if base == "Equals":
        return value == pattern
    if base == "StartsWith":
        return value.startswith(pattern)
    return value.endswith(pattern)


def _patterns(field: Mapping[str, Any], operator: str) -> list[str]:
    """Return an operator's values. AWS returns a list, and a lone string counts as one value."""
    values = field.get(operator)
    if isinstance(values, str):
        return [values]
    return [str(value) for value in values] if isinstance(values, list) else []


def field_truth(field: Any, event: Mapping[str, str]) -> Truth:
    """Whether one field selector admits the event; UNKNOWN when the event field is not predictable."""
    if not isinstance(field, Mapping):
        return Truth.UNKNOWN
    name = str(field.get("Field", ""))
    if name not in event:
        return Truth.UNKNOWN
    value = event[name]
    positive = [(op, pattern) for op in POSITIVE for pattern in _patterns(field, op)]
    if positive and not any(_matches(op, value, pattern) for op, pattern in positive):
        return Truth.FALSE
    negative = [(op, pattern) for op in NEGATIVE for pattern in _patterns(field, op)]
    if any(_matches(op, value, pattern) for op, pattern in negative):
        return Truth.FALSE
    return Truth.TRUE


def selector_truth(selector: Mapping[str, Any], event: Mapping[str, str]) -> Truth:
    """An advanced event selector admits an event when every one of its field selectors does."""
    fields = selector.get("FieldSelectors") or []
    if not isinstance(fields, list):
        return Truth.UNKNOWN
    truths = [field_truth(field, event) for field in fields]
    if Truth.FALSE in truths:
        return Truth.FALSE
    return Truth.UNKNOWN if Truth.UNKNOWN in truths else Truth.TRUE


def trail_truth(trail: Trail, event: Mapping[str, str], *, management: bool) -> Truth:
    """Whether a trail logs an event, from its advanced or basic event selectors."""
    if not trail.selectors_known:
        return Truth.UNKNOWN
    if trail.advanced_event_selectors:
        truths = [selector_truth(selector, event) for selector in trail.advanced_event_selectors]
        if Truth.TRUE in truths:
            return Truth.TRUE
        return Truth.UNKNOWN if Truth.UNKNOWN in truths else Truth.FALSE
    if not management:
        return Truth.FALSE
    for selector in trail.event_selectors:
        excluded = [str(source) for source in selector.get("ExcludeManagementEventSources") or []]
        if (
            selector.get("IncludeManagementEvents", True)
            and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
            and BEDROCK_SOURCE not in excluded
        ):
            return Truth.TRUE
    return Truth.FALSE


def _combine(truths: Sequence[Truth]) -> Truth:
    if Truth.TRUE in truths:
        return Truth.TRUE
    return Truth.UNKNOWN if Truth.UNKNOWN in truths else Truth.FALSE


def bedrock_logging(context: FindingContext) -> list[Finding]:
    """DG006: per account and region with agents, whether invocations and management events are logged."""
    findings: list[Finding] = []
    for account_id, inventory in sorted(context.deputy.snapshot.accounts.items()):
        regions = sorted({agent.region for agent in inventory.agents.values()})
        for region in regions:
            trails = [
                trail
                for _, trail in sorted(inventory.trails.items())
                if trail.is_multi_region or trail.home_region == region
            ]
            agents = [agent for agent in inventory.agents.values() if agent.region == region]
            findings += _data_event_findings(context, account_id, region, agents, trails)
            findings += _management_findings(context, account_id, region, trails)
    return findings


def _trail_evidence(trails: list[Trail]) -> list[Evidence]:
    if not trails:
        return [Evidence(detail="no trail of the snapshot covers this region", setting="cloudtrail trails")]
    evidence = []
    for trail in trails:
        if not trail.selectors_known:
            text = "its event selectors are not in the snapshot"
        elif trail.advanced_event_selectors:
            text = f"advanced event selectors: {describe_selectors(trail.advanced_event_selectors, _advanced_text)}"
        else:
            text = f"basic event selectors only: {describe_selectors(trail.event_selectors, _basic_text)}"
        evidence.append(
            Evidence(detail=f"trail {trail.name} ({trail.arn}): {text}", setting=f"{trail.arn} event selectors")
        )
    return evidence


OPERATOR_WORDS = {
    "Equals": "=",
    "NotEquals": "!=",
    "StartsWith": "starts with",
    "NotStartsWith": "does not start with",
    "EndsWith": "ends with",
    "NotEndsWith": "does not end with",
}


def describe_selectors(selectors: Sequence[Mapping[str, Any]], describe: Callable[[Mapping[str, Any]], str]) -> str:
    """Write event selectors as text: one `selector NAME: ...` part each, or the fields alone for one basic selector.

    Advanced selectors read as `eventCategory = Data, resources.type = AWS::Bedrock::AgentAlias`,
    with the field names and values of `get-event-selectors`. A value of a shape that AWS does
    not return is written as JSON, so that a hand-written snapshot still reads.
    """
    if not selectors:
        return "none"
    named = len(selectors) > 1 or any("Name" in selector for selector in selectors)
    parts = []
    for number, selector in enumerate(selectors, start=1):
        text = describe(selector)
        if not named:
            parts.append(text)
            continue
        name = selector.get("Name")
        label = json.dumps(name) if isinstance(name, str) and name else str(number)
        parts.append(f"selector {label}: {text}")
    return "; ".join(parts)


def _advanced_text(selector: Mapping[str, Any]) -> str:
    fields = selector.get("FieldSelectors")
    if not fields:
        return "no field selectors"
    if not isinstance(fields, list):
        return f"FieldSelectors = {_json(fields)}"
    return ", ".join(_field_text(field) for field in fields)


def _field_text(field: Any) -> str:
    if not isinstance(field, Mapping) or not isinstance(field.get("Field"), str):
        return _json(field)
    conditions = [
        f"{field['Field']} {OPERATOR_WORDS[operator]} {' or '.join(_patterns(field, operator))}"
        for operator in OPERATOR_WORDS
        if _patterns(field, operator)
    ]
    return ", ".join(conditions) or f"{field['Field']} (no values)"


def _basic_text(selector: Mapping[str, Any]) -> str:
    parts = []
    for key in ("ReadWriteType", "IncludeManagementEvents"):
        if key in selector:
            parts.append(f"{key} = {_scalar_text(selector[key])}")
    resources = selector.get("DataResources")
    if resources:
        described = [_data_resource_text(item) for item in resources] if isinstance(resources, list) else []
        parts.append(f"DataResources = {', '.join(described) if described else _json(resources)}")
    excluded = selector.get("ExcludeManagementEventSources")
    if excluded:
        sources = ", ".join(str(item) for item in excluded) if isinstance(excluded, list) else _json(excluded)
        parts.append(f"ExcludeManagementEventSources = {sources}")
    return ", ".join(parts) or "no settings"


def _data_resource_text(item: Any) -> str:
    if not isinstance(item, Mapping):
        return _json(item)
    values = item.get("Values")
    listed = " ".join(str(value) for value in values) if isinstance(values, list) else _json(values)
    return f"{item.get('Type')} {listed}".strip()


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int | float) else _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _data_event_findings(
    context: FindingContext, account: str, region: str, agents: list[Agent], trails: list[Trail]
) -> list[Finding]:
    unlogged: list[str] = []
    uncertain: list[str] = []
    for agent in agents:
        for alias in agent.aliases:
            event = {
                "eventCategory": "Data",
                "resources.type": AGENT_ALIAS_TYPE,
                "resources.ARN": alias.arn,
                "eventName": "InvokeAgent",
                "eventSource": BEDROCK_SOURCE,
            }
            truth = _combine([trail_truth(trail, event, management=False) for trail in trails])
            if truth is Truth.FALSE:
                unlogged.append(alias.arn)
            elif truth is Truth.UNKNOWN:
                uncertain.append(alias.arn)
    findings = []
    for arns, severity, verb in (
        (unlogged, Severity.MEDIUM, "are not logged"),
        (uncertain, Severity.LOW, "may not be logged"),
    ):
        if not arns:
            continue
        names = ", ".join(context.node_name(arn) for arn in arns)
        findings.append(
            Finding(
                rule_id="DG006",
                rule="bedrock-logging-missing",
                severity=severity,
                title=f"bedrock:InvokeAgent data events {verb} in account {account}, {region}",
                key=f"data|{verb}|{account}|{region}",
                resources=tuple(arns),
                evidence=(
                    Evidence(
                        detail=f"invocations of {names} {verb} by any trail covering {region}",
                        setting=_selector_setting(trails),
                    ),
                    *_trail_evidence(trails),
                ),
                remediation=_data_event_remediation(trails),
                score=float(len(arns)),
                details={"account": account, "region": region, "aliases": arns},
            )
        )
    return findings


def _selector_setting(trails: list[Trail]) -> str:
    """Name the trail setting that decides data event logging: advanced selectors if any trail has them."""
    if not trails:
        return "cloudtrail trails"
    if any(trail.advanced_event_selectors for trail in trails):
        return "AdvancedEventSelectors"
    return "EventSelectors"


def _narrowed_alias_selectors(trails: list[Trail]) -> list[str]:
    """Describe the AgentAlias data selectors that a resources.ARN field narrows, as `selector X of trail Y`."""
    found = []
    for trail in trails:
        for number, selector in enumerate(trail.advanced_event_selectors, start=1):
            fields = selector.get("FieldSelectors")
            if not isinstance(fields, list):
                continue
            by_name = {field.get("Field"): field for field in fields if isinstance(field, Mapping)}
            alias_type = by_name.get("resources.type", {}).get("Equals")
            if not isinstance(alias_type, list) or AGENT_ALIAS_TYPE not in alias_type:
                continue
            arn_field = by_name.get("resources.ARN")
            if arn_field is None:
                continue
            name = selector.get("Name")
            label = json.dumps(name) if isinstance(name, str) and name else str(number)
            found.append(f"selector {label} of trail {trail.name} ({_field_text(arn_field)})")
    return found


def _data_event_remediation(trails: list[Trail]) -> str:
    narrowed = _narrowed_alias_selectors(trails)
    if narrowed:
        return (
            f"Widen the resources.ARN field of {'; '.join(narrowed)} so that it matches every alias listed, or "
            "remove that field, so that each InvokeAgent call is recorded with the caller's identity."
        )
    return (
        "Add an advanced event selector to a multi-region (or organization) trail with eventCategory "
        f"Equals Data and resources.type Equals {AGENT_ALIAS_TYPE}, so that each InvokeAgent call is "
        "recorded with the caller's identity."
    )


def _management_findings(context: FindingContext, account: str, region: str, trails: list[Trail]) -> list[Finding]:
    event = {
        "eventCategory": "Management",
        "eventSource": BEDROCK_SOURCE,
        "eventName": "UpdateAgent",
        "readOnly": "false",
    }
    truth = _combine([trail_truth(trail, event, management=True) for trail in trails])
    if truth is Truth.TRUE:
        return []
    verb = "are not logged" if truth is Truth.FALSE else "may not be logged"
    return [
        Finding(
            rule_id="DG006",
            rule="bedrock-logging-missing",
            severity=Severity.MEDIUM if truth is Truth.FALSE else Severity.LOW,
            title=f"Bedrock management events {verb} in account {account}, {region}",
            key=f"management|{account}|{region}",
            resources=(f"arn:{context.partition}:iam::{account}:root",),
            evidence=(
                Evidence(
                    detail=f"write management events of {BEDROCK_SOURCE} such as UpdateAgent {verb} in {region}",
                    setting="EventSelectors IncludeManagementEvents",
                ),
                *_trail_evidence(trails),
            ),
            remediation=(
                "Log write management events for every region, for example with an organization trail whose event "
                "selector includes management events and does not exclude bedrock.amazonaws.com."
            ),
            details={"account": account, "region": region},
        )
    ]
