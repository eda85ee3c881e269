"""Amazon Bedrock: agents, knowledge bases and guardrails of one account in one region.

Under `<region>/bedrock-agent/agents/<agent-id>/` it reads `agent.json` (`get-agent`),
`aliases.json` (`list-agent-aliases`), `alias-tags/<alias-id>.json` (`list-tags-for-resource`
on the alias ARN) and, per version folder, `agent-version.json`
(`get-agent-version`), `action-groups/<id>.json` (`get-agent-action-group`) and
`knowledge-bases.json` (`list-agent-knowledge-bases`).

Under `<region>/bedrock-agent/knowledge-bases/<kb-id>/` it reads `knowledge-base.json`
(`get-knowledge-base`) and `data-sources/<id>.json` (`get-data-source`), and under
`<region>/bedrock/guardrails/` the output of `get-guardrail`.

An alias routes traffic to agent versions, and each version keeps the execution role
and action groups it was created with. A version without `agent-version.json` (DRAFT,
or a version that only an alias names) takes its role and guardrail from `agent.json`
and is marked `role_from_agent`.

Not read: prompt override Lambda functions, agent collaborators, memory settings,
flows and prompts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.arn import service_arn
from engine.inventory import (
    AccountInventory,
    ActionGroup,
    Agent,
    AgentAlias,
    AgentKnowledgeBase,
    AgentVersion,
    DataSource,
    Guardrail,
    GuardrailRef,
    KnowledgeBase,
)
from ingest.jsonfile import JsonObject, SnapshotReader, command_output

logger = logging.getLogger(__name__)

DRAFT = "DRAFT"
# The agentAliasStatus of an alias that has no version associated.
DISSOCIATED = "DISSOCIATED"
AGENT_FILE = "agent.json"
ALIASES_FILE = "aliases.json"
ALIAS_TAGS_DIR = "alias-tags"
VERSION_FILE = "agent-version.json"
AGENT_KNOWLEDGE_BASES_FILE = "knowledge-bases.json"
KNOWLEDGE_BASE_FILE = "knowledge-base.json"
# Version names as the Bedrock API reference gives them: DRAFT or a number.
_VERSION_NAME = re.compile(r"^(DRAFT|[0-9]{1,5})$")
_STATES = {"ENABLED": True, "DISABLED": False}


@dataclass(frozen=True, slots=True)
class VersionFiles:
    """The decoded files of one `versions/<version>/` folder."""

    agent_version: JsonObject | None = None
    action_groups: tuple[JsonObject, ...] = ()
    knowledge_bases: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class AgentFiles:
    """The decoded files of one `agents/<agent-id>/` folder, versions keyed by folder name."""

    agent: JsonObject
    aliases: JsonObject | None = None
    versions: dict[str, VersionFiles] = field(default_factory=dict)
    alias_tags: dict[str, JsonObject] = field(default_factory=dict)  # alias id -> list-tags-for-resource output


@dataclass(frozen=True, slots=True)
class KnowledgeBaseFiles:
    """The decoded files of one `knowledge-bases/<kb-id>/` folder."""

    knowledge_base: JsonObject
    data_sources: tuple[JsonObject, ...] = ()


@dataclass(frozen=True, slots=True)
class _AgentDefaults:
    """The settings from `agent.json` that a version without `agent-version.json` inherits."""

    role_arn: str
    guardrail: GuardrailRef | None
    foundation_model: str | None


# ---- transform: JSON in, records out ----


def transform_agent(files: AgentFiles, *, folder_id: str, account: str, region: str, partition: str) -> Agent:
    """Build one agent with its versions and aliases from the files of its folder."""
    agent = files.agent.require_object("agent")
    agent_id = _folder_id(agent, "agentId", folder_id, "agent", f"agents/{{id}}/{AGENT_FILE}")
    arn = _resource_arn(agent, "agentArn", f"agent/{agent_id}", account=account, region=region, partition=partition)
    defaults = _AgentDefaults(
        role_arn=str(agent.require_role_arn("agentResourceRoleArn", partition=partition)),
        guardrail=_guardrail_ref(agent),
        foundation_model=agent.optional_str("foundationModel"),
    )

    aliases: tuple[AgentAlias, ...] = ()
    if files.aliases is not None:
        aliases = _aliases(files.aliases, agent_id=agent_id, account=account, region=region, partition=partition)
        aliases = tuple(
            replace(alias, tags=_tag_map(files.alias_tags[alias.alias_id]))
            if alias.alias_id in files.alias_tags
            else alias
            for alias in aliases
        )
        for alias_id in sorted(set(files.alias_tags) - {alias.alias_id for alias in aliases}):
            logger.warning(
                "ignoring the tags of alias %s of agent %s: aliases.json does not list it", alias_id, agent_id
            )

    names = {DRAFT, *files.versions}
    names.update(version for alias in aliases for version in alias.versions)
    versions = {
        name: _version(name, files.versions.get(name), defaults, agent_id=agent_id, partition=partition)
        for name in sorted(names, key=_version_order)
    }
    return Agent(
        arn=arn,
        agent_id=agent_id,
        name=agent.require_str("agentName"),
        account=account,
        region=region,
        role_arn=defaults.role_arn,
        versions=versions,
        aliases=aliases,
        guardrail=defaults.guardrail,
        status=agent.optional_str("agentStatus"),
        foundation_model=defaults.foundation_model,
    )


def _version(
    name: str, files: VersionFiles | None, defaults: _AgentDefaults, *, agent_id: str, partition: str
) -> AgentVersion:
    if files is None:
        # NOTE: only an alias names this version, so its action groups and knowledge
        # bases are unknown and recorded as empty. The loader reports it in not_seen.
        files = VersionFiles()

    action_groups = tuple(_action_group(document, name, partition=partition) for document in files.action_groups)
    knowledge_bases: tuple[AgentKnowledgeBase, ...] = ()
    if files.knowledge_bases is not None:
        knowledge_bases = _agent_knowledge_bases(files.knowledge_bases)

    if files.agent_version is None:
        return AgentVersion(
            version=name,
            role_arn=defaults.role_arn,
            action_groups=action_groups,
            knowledge_bases=knowledge_bases,
            guardrail=defaults.guardrail,
            foundation_model=defaults.foundation_model,
            role_from_agent=True,
        )

    details = files.agent_version.require_object("agentVersion")
    recorded = details.optional_str("version")
    if recorded is not None and recorded != name:
        raise details.error(
            "version",
            f"the file describes version {recorded} but is in the folder of version {name}; "
            f"move it to versions/{recorded}/{VERSION_FILE}",
        )
    recorded_agent = details.optional_str("agentId")
    if recorded_agent is not None and recorded_agent != agent_id:
        raise details.error(
            "agentId",
            f"the file describes a version of agent {recorded_agent} but is in the folder of agent "
            f"{agent_id}; move it to agents/{recorded_agent}/versions/{name}/{VERSION_FILE}",
        )
    return AgentVersion(
        version=name,
        role_arn=str(details.require_role_arn("agentResourceRoleArn", partition=partition)),
        action_groups=action_groups,
        knowledge_bases=knowledge_bases,
        guardrail=_guardrail_ref(details),
        foundation_model=details.optional_str("foundationModel"),
        role_from_agent=False,
    )


def _action_group(document: JsonObject, version: str, *, partition: str) -> ActionGroup:
    group = document.require_object("agentActionGroup")
    group_id = _file_id(group, "actionGroupId", Path(document.file).stem, "action group")
    recorded = group.optional_str("agentVersion")
    if recorded is not None and recorded != version:
        raise group.error(
            "agentVersion",
            f"the action group belongs to version {recorded} but is in the folder of "
            f"version {version}; move it to versions/{recorded}/action-groups/{group_id}.json",
        )

    lambda_arn = None
    executor = group.optional_object("actionGroupExecutor")
    # A return-of-control group has {"customControl": "RETURN_CONTROL"} and no Lambda.
    if executor is not None and executor.optional_str("lambda") is not None:
        lambda_arn = str(executor.require_function_arn("lambda", partition=partition))

    return ActionGroup(
        action_group_id=group_id,
        name=group.require_str("actionGroupName"),
        enabled=_state(group, "actionGroupState"),
        lambda_arn=lambda_arn,
        parent_signature=group.optional_str("parentActionSignature"),
    )


def _agent_knowledge_bases(document: JsonObject) -> tuple[AgentKnowledgeBase, ...]:
    return tuple(
        AgentKnowledgeBase(
            knowledge_base_id=item.require_str("knowledgeBaseId"),
            enabled=_state(item, "knowledgeBaseState"),
        )
        for item in document.require_objects("agentKnowledgeBaseSummaries")
    )


def _aliases(
    document: JsonObject, *, agent_id: str, account: str, region: str, partition: str
) -> tuple[AgentAlias, ...]:
    aliases = []
    for item in document.require_objects("agentAliasSummaries"):
        alias_id = item.require_str("agentAliasId")
        status = item.optional_str("agentAliasStatus")
        versions, routing_known = _alias_routing(item, status)
        # list-agent-aliases returns no ARN. The Bedrock API reference gives the form
        # arn:PARTITION:bedrock:REGION:ACCOUNT:agent-alias/AGENT_ID/ALIAS_ID.
        arn = service_arn("bedrock", region, account, f"agent-alias/{agent_id}/{alias_id}", partition)
        aliases.append(
            AgentAlias(
                alias_id=alias_id,
                name=item.require_str("agentAliasName"),
                arn=arn,
                versions=versions,
                status=status,
                invocation_state=item.optional_str("aliasInvocationState"),
                routing_known=routing_known,
            )
        )
    return tuple(aliases)


def _tag_map(document: JsonObject) -> dict[str, str]:
    """Return the `tags` map of `list-tags-for-resource` output, which Bedrock gives as an object of strings."""
    tags = document.require_object("tags")
    for key, value in tags.data.items():
        if not isinstance(value, str):
            raise tags.error(key, f"expected a string tag value, got {value!r}")
    return dict(tags.data)


def _alias_routing(item: JsonObject, status: str | None) -> tuple[tuple[str, ...], bool]:
    """Return the versions an alias routes to, and whether the snapshot gives all of them.

    The Bedrock API reference marks `routingConfiguration` and each entry's
    `agentVersion` as optional. Without them the versions are unknown, except for a
    DISSOCIATED alias, which has no version by definition.
    """
    if item.data.get("routingConfiguration") is None:
        return (), status == DISSOCIATED
    versions = []
    routing_known = True
    for route in item.optional_objects("routingConfiguration"):
        if route.optional_str("agentVersion") is None:
            routing_known = False
            continue
        versions.append(_version_name(route, "agentVersion"))
    return tuple(versions), routing_known


def _guardrail_ref(settings: JsonObject) -> GuardrailRef | None:
    config = settings.optional_object("guardrailConfiguration")
    if config is None:
        return None
    identifier = config.optional_str("guardrailIdentifier")
    if identifier is None:
        return None
    return GuardrailRef(identifier=identifier, version=config.optional_str("guardrailVersion"))


def transform_knowledge_base(
    files: KnowledgeBaseFiles, *, folder_id: str, account: str, region: str, partition: str
) -> KnowledgeBase:
    """Build one knowledge base with its data sources from the files of its folder."""
    details = files.knowledge_base.require_object("knowledgeBase")
    kb_id = _folder_id(
        details, "knowledgeBaseId", folder_id, "knowledge base", f"knowledge-bases/{{id}}/{KNOWLEDGE_BASE_FILE}"
    )
    arn = _resource_arn(
        details, "knowledgeBaseArn", f"knowledge-base/{kb_id}", account=account, region=region, partition=partition
    )
    role_arn = details.optional_role_arn("roleArn", partition=partition)
    return KnowledgeBase(
        arn=arn,
        knowledge_base_id=kb_id,
        name=details.require_str("name"),
        account=account,
        region=region,
        role_arn=str(role_arn) if role_arn is not None else None,
        data_sources=tuple(_data_source(document, kb_id=kb_id, partition=partition) for document in files.data_sources),
    )


def _data_source(document: JsonObject, *, kb_id: str, partition: str) -> DataSource:
    source = document.require_object("dataSource")
    source_id = _file_id(source, "dataSourceId", Path(document.file).stem, "data source")
    recorded_kb = source.require_str("knowledgeBaseId")
    if recorded_kb != kb_id:
        raise source.error(
            "knowledgeBaseId",
            f"the data source belongs to knowledge base {recorded_kb} but is in the folder of knowledge "
            f"base {kb_id}; move it to knowledge-bases/{recorded_kb}/data-sources/{source_id}.json",
        )
    config = source.require_object("dataSourceConfiguration")

    bucket_arn = None
    prefixes: tuple[str, ...] = ()
    if config.require_str("type") == "S3":
        s3 = config.require_object("s3Configuration")
        bucket_arn = str(s3.require_bucket_arn("bucketArn", partition=partition))
        prefixes = s3.optional_strings("inclusionPrefixes")

    return DataSource(
        data_source_id=source_id,
        name=source.require_str("name"),
        knowledge_base_id=kb_id,
        bucket_arn=bucket_arn,
        inclusion_prefixes=prefixes,
    )


def transform_guardrail(document: JsonObject, *, file_id: str, account: str, region: str, partition: str) -> Guardrail:
    """Build one guardrail from `get-guardrail` output."""
    guardrail_id = _file_id(document, "guardrailId", file_id, "guardrail")
    arn = _resource_arn(
        document, "guardrailArn", f"guardrail/{guardrail_id}", account=account, region=region, partition=partition
    )
    return Guardrail(
        arn=arn,
        guardrail_id=guardrail_id,
        name=document.require_str("name"),
        account=account,
        region=region,
        version=document.optional_str("version"),
    )


def _resource_arn(item: JsonObject, key: str, resource: str, *, account: str, region: str, partition: str) -> str:
    """Parse a Bedrock ARN and check that it names `resource` in the folder's account and region."""
    arn = item.require_arn(key, partition=partition)
    if arn.service != "bedrock" or arn.resource != resource:
        raise item.error(
            key,
            f"{str(arn)!r} is not the ARN of {resource} (expected arn:{partition}:bedrock:{region}:"
            f"{account}:{resource}); save the unmodified AWS CLI output",
        )
    if arn.account != account or arn.region != region:
        raise item.error(
            key,
            f"ARN is in account {arn.account} and region {arn.region}, but the file is in the "
            f"folder of account {account} and region {region}; move the file to the same place "
            f"under {arn.account}/{arn.region}/",
        )
    return str(arn)


def _folder_id(item: JsonObject, key: str, folder_id: str, kind: str, location: str) -> str:
    """Return the id in `key`, which must equal the name of the folder that contains the file.

    `location` is the file's expected path with `{id}` in place of the id.
    """
    value = item.require_str(key)
    if value != folder_id:
        raise item.error(
            key,
            f"the file describes {kind} {value} but is in the folder of {kind} {folder_id}; "
            f"move it to {location.format(id=value)}",
        )
    return value


def _file_id(item: JsonObject, key: str, file_id: str, kind: str) -> str:
    """Return the id in `key`, which must equal `file_id`, the file's name without `.json`."""
    value = item.require_str(key)
    if value != file_id:
        raise item.error(
            key, f"the file describes {kind} {value} but is named {file_id}.json; rename it to {value}.json"
        )
    return value


def _state(item: JsonObject, key: str) -> bool:
    value = item.require_str(key)
    if value not in _STATES:
        raise item.error(key, f"expected ENABLED or DISABLED, got {value!r}")
    return _STATES[value]


def _version_name(item: JsonObject, key: str) -> str:
    value = item.require_str(key)
    if not _VERSION_NAME.match(value):
        raise item.error(key, f"expected DRAFT or a version number, got {value!r}")
    return value


def _version_order(name: str) -> tuple[int, int]:
    return (0, 0) if name == DRAFT else (1, int(name))


# ---- load: read the files, transform, write into the account inventory ----


def load_bedrock_agent(reader: SnapshotReader, folder: Path, inventory: AccountInventory, region: str) -> bool:
    """Load `<account>/<region>/bedrock-agent/` and return True, because the folder is coverage."""
    agents = _load_agents(reader, folder / "agents", inventory, region)
    knowledge_bases = _load_knowledge_bases(reader, folder / "knowledge-bases", inventory, region)
    for path in reader.unknown_entries(folder, {"agents", "knowledge-bases"}):
        logger.warning("ignoring %s: not a folder deputygraph reads", reader.label(path))

    _note_missing_knowledge_bases(reader, inventory, region)
    logger.info(
        "loaded Bedrock agents for account %s in %s: %d agents, %d knowledge bases",
        inventory.account_id,
        region,
        agents,
        knowledge_bases,
    )
    return True


def load_bedrock(reader: SnapshotReader, folder: Path, inventory: AccountInventory, region: str) -> bool:
    """Load `<account>/<region>/bedrock/` (guardrails) and return True, because the folder is coverage."""
    count = 0
    guardrails_dir = folder / "guardrails"
    if reader.folder_exists(guardrails_dir):
        for path in reader.json_files(guardrails_dir, "<guardrail-id>.json", _guardrail_output(region)):
            guardrail = transform_guardrail(
                reader.read_object(path),
                file_id=path.stem,
                account=inventory.account_id,
                region=region,
                partition=reader.partition,
            )
            inventory.guardrails[guardrail.arn] = guardrail
            count += 1
    for path in reader.unknown_entries(folder, {"guardrails"}):
        logger.warning("ignoring %s: not a folder deputygraph reads", reader.label(path))

    logger.info(
        "loaded Bedrock guardrails for account %s in %s: %d guardrails",
        inventory.account_id,
        region,
        count,
    )
    return True


def _load_agents(reader: SnapshotReader, agents_dir: Path, inventory: AccountInventory, region: str) -> int:
    if not reader.folder_exists(agents_dir):
        return 0
    count = 0
    for agent_dir in reader.list_folder(agents_dir):
        if not agent_dir.is_dir():
            logger.warning("ignoring %s: expected one folder per agent id", reader.label(agent_dir))
            continue
        files = _read_agent_folder(reader, agent_dir)
        agent = transform_agent(
            files,
            folder_id=agent_dir.name,
            account=inventory.account_id,
            region=region,
            partition=reader.partition,
        )
        inventory.agents[agent.arn] = agent
        _note_agent_gaps(reader, agent, files)
        logger.debug(
            "agent %s: versions %s, aliases %s",
            agent.agent_id,
            ", ".join(agent.versions),
            ", ".join(alias.alias_id for alias in agent.aliases),
        )
        count += 1
    return count


def _read_agent_folder(reader: SnapshotReader, agent_dir: Path) -> AgentFiles:
    agent_id = agent_dir.name
    agent = reader.read_required(
        agent_dir / AGENT_FILE, f"aws bedrock-agent get-agent --agent-id {agent_id} --output json"
    )
    aliases = reader.read_optional(
        agent_dir / ALIASES_FILE, f"aws bedrock-agent list-agent-aliases --agent-id {agent_id} --output json"
    )

    versions: dict[str, VersionFiles] = {}
    versions_dir = agent_dir / "versions"
    if reader.folder_exists(versions_dir):
        for version_dir in reader.list_folder(versions_dir):
            if not (version_dir.is_dir() and _VERSION_NAME.match(version_dir.name)):
                logger.warning(
                    "ignoring %s: expected a folder named DRAFT or a version number",
                    reader.label(version_dir),
                )
                continue
            versions[version_dir.name] = _read_version_folder(reader, version_dir, agent_id)

    alias_tags: dict[str, JsonObject] = {}
    tags_dir = agent_dir / ALIAS_TAGS_DIR
    if reader.folder_exists(tags_dir):
        for path in reader.json_files(tags_dir, "<alias-id>.json", _alias_tags_output(agent_id)):
            alias_tags[path.stem] = reader.read_object(path)

    for path in reader.unknown_entries(agent_dir, {AGENT_FILE, ALIASES_FILE, "versions", ALIAS_TAGS_DIR}):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))
    return AgentFiles(agent=agent, aliases=aliases, versions=versions, alias_tags=alias_tags)


def _read_version_folder(reader: SnapshotReader, version_dir: Path, agent_id: str) -> VersionFiles:
    version = version_dir.name
    action_groups: list[JsonObject] = []
    groups_dir = version_dir / "action-groups"
    if reader.folder_exists(groups_dir):
        group_output = _action_group_output(agent_id, version)
        action_groups = [
            reader.read_object(path) for path in reader.json_files(groups_dir, "<action-group-id>.json", group_output)
        ]

    known = {VERSION_FILE, "action-groups", AGENT_KNOWLEDGE_BASES_FILE}
    for path in reader.unknown_entries(version_dir, known):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))
    version_command = (
        f"aws bedrock-agent get-agent-version --agent-id {agent_id} --agent-version {version} --output json"
    )
    knowledge_bases_command = (
        f"aws bedrock-agent list-agent-knowledge-bases --agent-id {agent_id} --agent-version {version} --output json"
    )
    return VersionFiles(
        agent_version=reader.read_optional(version_dir / VERSION_FILE, version_command),
        action_groups=tuple(action_groups),
        knowledge_bases=reader.read_optional(version_dir / AGENT_KNOWLEDGE_BASES_FILE, knowledge_bases_command),
    )


def _note_agent_gaps(reader: SnapshotReader, agent: Agent, files: AgentFiles) -> None:
    if files.aliases is None:
        reader.not_seen.append(
            f"no aliases.json for agent {agent.agent_id} in account {agent.account} "
            f"({agent.region}): its aliases and their routing not analysed"
        )
    for alias in agent.aliases:
        if not alias.routing_known:
            reader.not_seen.append(
                f"alias {alias.alias_id} of agent {agent.agent_id} in account {agent.account} "
                f"({agent.region}) has no routingConfiguration with an agentVersion, so the versions it routes to "
                "are unknown"
            )
    for name in agent.versions:
        if name != DRAFT and name not in files.versions:
            reader.not_seen.append(
                f"no folder for version {name} of agent {agent.agent_id} in account "
                f"{agent.account} ({agent.region}), which an alias routes to: its role is taken "
                "from agent.json and its action groups and knowledge bases are unknown"
            )


def _load_knowledge_bases(reader: SnapshotReader, kbs_dir: Path, inventory: AccountInventory, region: str) -> int:
    if not reader.folder_exists(kbs_dir):
        return 0
    count = 0
    for kb_dir in reader.list_folder(kbs_dir):
        if not kb_dir.is_dir():
            logger.warning("ignoring %s: expected one folder per knowledge base id", reader.label(kb_dir))
            continue
        knowledge_base = transform_knowledge_base(
            _read_knowledge_base_folder(reader, kb_dir),
            folder_id=kb_dir.name,
            account=inventory.account_id,
            region=region,
            partition=reader.partition,
        )
        inventory.knowledge_bases[knowledge_base.arn] = knowledge_base
        count += 1
    return count


def _read_knowledge_base_folder(reader: SnapshotReader, kb_dir: Path) -> KnowledgeBaseFiles:
    knowledge_base = reader.read_required(
        kb_dir / KNOWLEDGE_BASE_FILE,
        f"aws bedrock-agent get-knowledge-base --knowledge-base-id {kb_dir.name} --output json",
    )
    data_sources: list[JsonObject] = []
    sources_dir = kb_dir / "data-sources"
    if reader.folder_exists(sources_dir):
        source_output = _data_source_output(kb_dir.name)
        data_sources = [
            reader.read_object(path) for path in reader.json_files(sources_dir, "<data-source-id>.json", source_output)
        ]
    for path in reader.unknown_entries(kb_dir, {KNOWLEDGE_BASE_FILE, "data-sources"}):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))
    return KnowledgeBaseFiles(knowledge_base=knowledge_base, data_sources=tuple(data_sources))


def _guardrail_output(region: str) -> Callable[[str], str]:
    return lambda guardrail_id: command_output(
        f"aws bedrock get-guardrail --guardrail-identifier {guardrail_id} --region {region} --output json"
    )


def _alias_tags_output(agent_id: str) -> Callable[[str], str]:
    return lambda alias_id: command_output(
        f"aws bedrock-agent list-tags-for-resource --resource-arn <ARN of alias {alias_id} of agent {agent_id}> "
        "--output json"
    )


def _action_group_output(agent_id: str, version: str) -> Callable[[str], str]:
    return lambda group_id: command_output(
        f"aws bedrock-agent get-agent-action-group --agent-id {agent_id} --agent-version {version} "
        f"--action-group-id {group_id} --output json"
    )


def _data_source_output(kb_id: str) -> Callable[[str], str]:
    return lambda source_id: command_output(
        f"aws bedrock-agent get-data-source --knowledge-base-id {kb_id} --data-source-id {source_id} --output json"
    )


def _note_missing_knowledge_bases(reader: SnapshotReader, inventory: AccountInventory, region: str) -> None:
    loaded = {kb.knowledge_base_id for kb in inventory.knowledge_bases.values() if kb.region == region}
    for agent in inventory.agents.values():
        if agent.region != region:
            continue
        used = {kb.knowledge_base_id for version in agent.versions.values() for kb in version.knowledge_bases}
        for kb_id in sorted(used - loaded):
            reader.not_seen.append(
                f"no folder for knowledge base {kb_id} used by agent {agent.agent_id} in account "
                f"{agent.account} ({region}): its role and data sources not analysed"
            )
