"""Amazon Bedrock: agents with their aliases, versions, action groups and knowledge bases, and guardrails.

For each agent the collector reads the DRAFT and every version an alias routes to,
because those are the versions an invocation can reach. Each version keeps the
execution role, action groups and knowledge bases it was created with.

Bedrock Agents exists in fewer regions than Lambda. A region where the service has no
endpoint is reported as unavailable by the first call, and `collect_bedrock_agent`
returns that instead of recording a gap.

Not read: agent versions that no alias routes to, agent collaborators, prompt
override Lambda functions, flows and prompts.
"""

from __future__ import annotations

from typing import Any

from engine.arn import service_arn
from ingest.collect.aws import Status
from ingest.collect.context import Context

DRAFT = "DRAFT"


# ---- transform ----


def routed_versions(aliases: dict[str, Any] | None) -> list[str]:
    """Return DRAFT and every version that an alias routes to, DRAFT first, then by number."""
    versions = {DRAFT}
    for alias in (aliases or {}).get("agentAliasSummaries", []):
        for route in alias.get("routingConfiguration") or []:
            if route.get("agentVersion"):
                versions.add(route["agentVersion"])
    return sorted(versions, key=lambda name: (0, 0) if name == DRAFT else (1, int(name) if name.isdigit() else 0))


# ---- collect: fetch, transform, write ----


def collect_bedrock_agent(context: Context) -> Status:
    """Collect `<region>/bedrock-agent/`; return UNAVAILABLE when the region has no Bedrock Agents."""
    listing = context.paginate("bedrock-agent", "ListAgents", subject="Bedrock agents", unavailable_if_unreachable=True)
    if listing.status is not Status.OK or listing.data is None:
        return listing.status
    context.make_folder("bedrock-agent")
    agents = listing.data.get("agentSummaries", [])
    context.log.count("bedrock-agent", "agents", len(agents))
    for summary in agents:
        _collect_agent(context, summary["agentId"])

    knowledge_bases = context.paginate("bedrock-agent", "ListKnowledgeBases", subject="Bedrock knowledge bases")
    if knowledge_bases.ok and knowledge_bases.data is not None:
        summaries = knowledge_bases.data.get("knowledgeBaseSummaries", [])
        context.log.count("bedrock-agent", "knowledge bases", len(summaries))
        for summary in summaries:
            _collect_knowledge_base(context, summary["knowledgeBaseId"])
    return Status.OK


def _collect_agent(context: Context, agent_id: str) -> None:
    arn = service_arn("bedrock", context.region or "", context.account, f"agent/{agent_id}", context.partition)
    folder = ("bedrock-agent", "agents", agent_id)
    agent = context.call("bedrock-agent", "GetAgent", subject=f"agent {agent_id}", resource=arn, agentId=agent_id)
    if not context.write((*folder, "agent.json"), agent.data, service="bedrock-agent", operation="GetAgent"):
        return

    aliases = context.paginate(
        "bedrock-agent", "ListAgentAliases", subject=f"the aliases of agent {agent_id}", resource=arn, agentId=agent_id
    )
    context.write((*folder, "aliases.json"), aliases.data, service="bedrock-agent", operation="ListAgentAliases")
    context.log.count("bedrock-agent", "aliases", len((aliases.data or {}).get("agentAliasSummaries", [])))

    for version in routed_versions(aliases.data):
        _collect_version(context, arn, agent_id, version)


def _collect_version(context: Context, arn: str, agent_id: str, version: str) -> None:
    folder = ("bedrock-agent", "agents", agent_id, "versions", version)
    where = f"version {version} of agent {agent_id}"
    context.make_folder(*folder)
    context.log.count("bedrock-agent", "agent versions")
    if version != DRAFT:
        # GetAgentVersion accepts version numbers only; the DRAFT's settings are the agent's own.
        details = context.call(
            "bedrock-agent",
            "GetAgentVersion",
            subject=f"the execution role and guardrail of {where}",
            resource=arn,
            agentId=agent_id,
            agentVersion=version,
        )
        context.write(
            (*folder, "agent-version.json"), details.data, service="bedrock-agent", operation="GetAgentVersion"
        )

    groups = context.paginate(
        "bedrock-agent",
        "ListAgentActionGroups",
        subject=f"the action groups of {where}",
        resource=arn,
        agentId=agent_id,
        agentVersion=version,
    )
    if groups.ok and groups.data is not None:
        context.make_folder(*folder, "action-groups")
        for summary in groups.data.get("actionGroupSummaries", []):
            group_id = summary["actionGroupId"]
            group = context.call(
                "bedrock-agent",
                "GetAgentActionGroup",
                subject=f"action group {group_id} of {where}",
                resource=arn,
                agentId=agent_id,
                agentVersion=version,
                actionGroupId=group_id,
            )
            if context.write(
                (*folder, "action-groups", f"{group_id}.json"),
                group.data,
                service="bedrock-agent",
                operation="GetAgentActionGroup",
            ):
                context.log.count("bedrock-agent", "action groups")

    knowledge_bases = context.paginate(
        "bedrock-agent",
        "ListAgentKnowledgeBases",
        subject=f"the knowledge bases of {where}",
        resource=arn,
        agentId=agent_id,
        agentVersion=version,
    )
    context.write(
        (*folder, "knowledge-bases.json"),
        knowledge_bases.data,
        service="bedrock-agent",
        operation="ListAgentKnowledgeBases",
    )


def _collect_knowledge_base(context: Context, kb_id: str) -> None:
    arn = service_arn("bedrock", context.region or "", context.account, f"knowledge-base/{kb_id}", context.partition)
    folder = ("bedrock-agent", "knowledge-bases", kb_id)
    details = context.call(
        "bedrock-agent", "GetKnowledgeBase", subject=f"knowledge base {kb_id}", resource=arn, knowledgeBaseId=kb_id
    )
    if not context.write(
        (*folder, "knowledge-base.json"), details.data, service="bedrock-agent", operation="GetKnowledgeBase"
    ):
        return

    sources = context.paginate(
        "bedrock-agent",
        "ListDataSources",
        subject=f"the data sources of knowledge base {kb_id}",
        resource=arn,
        knowledgeBaseId=kb_id,
    )
    if not sources.ok or sources.data is None:
        return
    context.make_folder(*folder, "data-sources")
    for summary in sources.data.get("dataSourceSummaries", []):
        source_id = summary["dataSourceId"]
        source = context.call(
            "bedrock-agent",
            "GetDataSource",
            subject=f"data source {source_id} of knowledge base {kb_id}",
            resource=arn,
            knowledgeBaseId=kb_id,
            dataSourceId=source_id,
        )
        if context.write(
            (*folder, "data-sources", f"{source_id}.json"),
            source.data,
            service="bedrock-agent",
            operation="GetDataSource",
        ):
            context.log.count("bedrock-agent", "data sources")


def collect_guardrails(context: Context) -> Status:
    """Collect `<region>/bedrock/guardrails/`; return UNAVAILABLE when the region has no Bedrock."""
    listing = context.paginate(
        "bedrock", "ListGuardrails", subject="Bedrock guardrails", unavailable_if_unreachable=True
    )
    if listing.status is not Status.OK or listing.data is None:
        return listing.status
    context.make_folder("bedrock", "guardrails")
    guardrails = listing.data.get("guardrails", [])
    for summary in guardrails:
        guardrail_id = summary["id"]
        details = context.call(
            "bedrock",
            "GetGuardrail",
            subject=f"guardrail {guardrail_id}",
            resource=summary.get("arn"),
            guardrailIdentifier=guardrail_id,
        )
        if context.write(
            ("bedrock", "guardrails", f"{guardrail_id}.json"), details.data, service="bedrock", operation="GetGuardrail"
        ):
            context.log.count("bedrock", "guardrails")
    return Status.OK
