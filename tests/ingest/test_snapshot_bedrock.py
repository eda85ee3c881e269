"""Snapshot reader: Bedrock agents (versions, alias routing, action groups), knowledge bases, guardrails."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SnapshotError
from engine.inventory import (
    ActionGroup,
    AgentAlias,
    AgentKnowledgeBase,
    AgentVersion,
    DataSource,
    Guardrail,
    GuardrailRef,
    KnowledgeBase,
)
from ingest.snapshot import load_snapshot

SnapshotWriter = Callable[[Mapping[str, Any]], Path]

ACCOUNT = "111122223333"
REGION = "us-east-1"
AGENT_ID = "AGENT12345"
AGENT_DIR = f"{ACCOUNT}/{REGION}/bedrock-agent/agents/{AGENT_ID}"
KB_DIR = f"{ACCOUNT}/{REGION}/bedrock-agent/knowledge-bases/KBHRDOCS01"
AGENT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/{AGENT_ID}"
CURRENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_current"
V1_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForAgents_v1"
LOOKUP_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hr-policy-lookup"


def agent_document() -> dict[str, Any]:
    return {
        "agent": {
            "agentArn": AGENT_ARN,
            "agentId": AGENT_ID,
            "agentName": "hr-helpdesk",
            "agentResourceRoleArn": CURRENT_ROLE,
            "agentStatus": "PREPARED",
            "agentVersion": "DRAFT",
            "foundationModel": "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "guardrailConfiguration": {
                "guardrailIdentifier": "x7k2m9p4q1wz",
                "guardrailVersion": "2",
            },
            "idleSessionTTLInSeconds": 600,
            "instruction": "Answer HR policy questions for employees.",
            "createdAt": "2024-05-01T10:00:00+00:00",
            "updatedAt": "2024-07-01T10:00:00+00:00",
            "preparedAt": "2024-07-01T10:05:00+00:00",
        }
    }


def alias(alias_id: str, name: str, versions: list[str], status: str) -> dict[str, Any]:
    return {
        "agentAliasId": alias_id,
        "agentAliasName": name,
        "agentAliasStatus": status,
        "routingConfiguration": [{"agentVersion": version} for version in versions],
        "createdAt": "2024-06-01T10:00:00+00:00",
        "updatedAt": "2024-07-01T10:00:00+00:00",
    }


def bedrock_files() -> dict[str, Any]:
    """Build one agent and one knowledge base with an S3 and a web data source.

    DRAFT has no folder, version 1 has agent-version.json, version 2 has a folder without
    it, and only an alias names version 3.
    """
    return {
        f"{AGENT_DIR}/agent.json": agent_document(),
        f"{AGENT_DIR}/aliases.json": {
            "agentAliasSummaries": [
                alias("PRODALIAS1", "prod", ["2"], "PREPARED"),
                alias("LEGACYALS1", "legacy", ["1"], "PREPARED"),
                alias("CANARYALS1", "canary", ["3"], "PREPARED"),
                alias("TSTALIASID", "AgentTestAlias", ["DRAFT"], "PREPARED"),
                alias("RETIREDAL1", "retired", [], "DISSOCIATED"),
            ]
        },
        f"{AGENT_DIR}/versions/1/agent-version.json": {
            "agentVersion": {
                "agentArn": AGENT_ARN,
                "agentId": AGENT_ID,
                "agentName": "hr-helpdesk",
                "agentResourceRoleArn": V1_ROLE,
                "agentStatus": "PREPARED",
                "version": "1",
                "foundationModel": "anthropic.claude-3-haiku-20240307-v1:0",
                "idleSessionTTLInSeconds": 600,
                "createdAt": "2024-06-01T10:00:00+00:00",
                "updatedAt": "2024-06-01T10:00:00+00:00",
            }
        },
        f"{AGENT_DIR}/versions/1/action-groups/AG1LAMBDA1.json": {
            "agentActionGroup": {
                "actionGroupId": "AG1LAMBDA1",
                "actionGroupName": "policy-lookup",
                "actionGroupState": "ENABLED",
                "agentId": AGENT_ID,
                "agentVersion": "1",
                "actionGroupExecutor": {"lambda": LOOKUP_ARN},
                "functionSchema": {"functions": [{"name": "find_policy"}]},
                "createdAt": "2024-06-01T10:00:00+00:00",
                "updatedAt": "2024-06-01T10:00:00+00:00",
            }
        },
        f"{AGENT_DIR}/versions/1/knowledge-bases.json": {
            "agentKnowledgeBaseSummaries": [
                {
                    "knowledgeBaseId": "KBHRDOCS01",
                    "knowledgeBaseState": "ENABLED",
                    "description": "HR policy documents",
                    "updatedAt": "2024-06-01T10:00:00+00:00",
                }
            ]
        },
        f"{AGENT_DIR}/versions/2/action-groups/AG2RETCTL1.json": {
            "agentActionGroup": {
                "actionGroupId": "AG2RETCTL1",
                "actionGroupName": "open-ticket",
                "actionGroupState": "ENABLED",
                "agentId": AGENT_ID,
                "agentVersion": "2",
                "actionGroupExecutor": {"customControl": "RETURN_CONTROL"},
                "createdAt": "2024-07-01T10:00:00+00:00",
                "updatedAt": "2024-07-01T10:00:00+00:00",
            }
        },
        f"{AGENT_DIR}/versions/2/action-groups/AG2USRINP1.json": {
            "agentActionGroup": {
                "actionGroupId": "AG2USRINP1",
                "actionGroupName": "UserInputAction",
                "actionGroupState": "DISABLED",
                "agentId": AGENT_ID,
                "agentVersion": "2",
                "parentActionSignature": "AMAZON.UserInput",
                "createdAt": "2024-07-01T10:00:00+00:00",
                "updatedAt": "2024-07-01T10:00:00+00:00",
            }
        },
        f"{KB_DIR}/knowledge-base.json": {
            "knowledgeBase": {
                "knowledgeBaseArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/KBHRDOCS01",
                "knowledgeBaseId": "KBHRDOCS01",
                "name": "hr-policies",
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr",
                "status": "ACTIVE",
                "knowledgeBaseConfiguration": {"type": "VECTOR"},
                "storageConfiguration": {"type": "OPENSEARCH_SERVERLESS"},
                "createdAt": "2024-05-01T10:00:00+00:00",
                "updatedAt": "2024-05-01T10:00:00+00:00",
            }
        },
        f"{KB_DIR}/data-sources/DSHRDOCS01.json": {
            "dataSource": {
                "dataSourceId": "DSHRDOCS01",
                "knowledgeBaseId": "KBHRDOCS01",
                "name": "hr-policy-bucket",
                "status": "AVAILABLE",
                "dataSourceConfiguration": {
                    "type": "S3",
                    "s3Configuration": {
                        "bucketArn": "arn:aws:s3:::acme-hr-policies",
                        "inclusionPrefixes": ["policies/"],
                        "bucketOwnerAccountId": ACCOUNT,
                    },
                },
                "dataDeletionPolicy": "DELETE",
                "createdAt": "2024-05-01T10:00:00+00:00",
                "updatedAt": "2024-05-01T10:00:00+00:00",
            }
        },
        f"{KB_DIR}/data-sources/DSWEBCRAW1.json": {
            "dataSource": {
                "dataSourceId": "DSWEBCRAW1",
                "knowledgeBaseId": "KBHRDOCS01",
                "name": "intranet",
                "status": "AVAILABLE",
                "dataSourceConfiguration": {
                    "type": "WEB",
                    "webConfiguration": {
                        "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://intranet.example"}]}}
                    },
                },
                "createdAt": "2024-05-01T10:00:00+00:00",
                "updatedAt": "2024-05-01T10:00:00+00:00",
            }
        },
        f"{ACCOUNT}/{REGION}/bedrock/guardrails/x7k2m9p4q1wz.json": {
            "name": "hr-guardrail",
            "guardrailId": "x7k2m9p4q1wz",
            "guardrailArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/x7k2m9p4q1wz",
            "version": "DRAFT",
            "status": "READY",
            "blockedInputMessaging": "Sorry, I cannot help with that.",
            "blockedOutputsMessaging": "Sorry, I cannot answer that.",
            "createdAt": "2024-05-01T10:00:00+00:00",
            "updatedAt": "2024-05-01T10:00:00+00:00",
        },
    }


def test_load_snapshot_agent_versions_and_aliases(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(bedrock_files())

    snapshot = load_snapshot(root)

    inventory = snapshot.accounts[ACCOUNT]
    assert inventory.coverage == {f"bedrock-agent:{REGION}", f"bedrock:{REGION}"}
    agent = inventory.agents[AGENT_ARN]
    assert agent.agent_id == AGENT_ID
    assert agent.name == "hr-helpdesk"
    assert agent.account == ACCOUNT
    assert agent.region == REGION
    assert agent.role_arn == CURRENT_ROLE
    assert agent.status == "PREPARED"
    assert agent.foundation_model == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert agent.guardrail == GuardrailRef(identifier="x7k2m9p4q1wz", version="2")
    alias_prefix = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent-alias/{AGENT_ID}"
    assert agent.aliases == (
        AgentAlias("PRODALIAS1", "prod", f"{alias_prefix}/PRODALIAS1", ("2",), "PREPARED"),
        AgentAlias("LEGACYALS1", "legacy", f"{alias_prefix}/LEGACYALS1", ("1",), "PREPARED"),
        AgentAlias("CANARYALS1", "canary", f"{alias_prefix}/CANARYALS1", ("3",), "PREPARED"),
        AgentAlias("TSTALIASID", "AgentTestAlias", f"{alias_prefix}/TSTALIASID", ("DRAFT",), "PREPARED"),
        AgentAlias("RETIREDAL1", "retired", f"{alias_prefix}/RETIREDAL1", (), "DISSOCIATED"),
    )
    assert list(agent.versions) == ["DRAFT", "1", "2", "3"]


def test_load_snapshot_draft_from_agent_json(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(bedrock_files())

    agent = load_snapshot(root).accounts[ACCOUNT].agents[AGENT_ARN]

    assert agent.versions["DRAFT"] == AgentVersion(
        version="DRAFT",
        role_arn=CURRENT_ROLE,
        guardrail=GuardrailRef(identifier="x7k2m9p4q1wz", version="2"),
        foundation_model="anthropic.claude-3-5-sonnet-20240620-v1:0",
        role_from_agent=True,
    )


def test_load_snapshot_version_with_agent_version_json(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(bedrock_files())

    agent = load_snapshot(root).accounts[ACCOUNT].agents[AGENT_ARN]

    assert agent.versions["1"] == AgentVersion(
        version="1",
        role_arn=V1_ROLE,
        action_groups=(
            ActionGroup(
                action_group_id="AG1LAMBDA1",
                name="policy-lookup",
                enabled=True,
                lambda_arn=LOOKUP_ARN,
            ),
        ),
        knowledge_bases=(AgentKnowledgeBase(knowledge_base_id="KBHRDOCS01", enabled=True),),
        guardrail=None,
        foundation_model="anthropic.claude-3-haiku-20240307-v1:0",
        role_from_agent=False,
    )


def test_load_snapshot_version_folder_without_agent_version_json(
    write_snapshot: SnapshotWriter,
) -> None:
    root = write_snapshot(bedrock_files())

    agent = load_snapshot(root).accounts[ACCOUNT].agents[AGENT_ARN]

    assert agent.versions["2"] == AgentVersion(
        version="2",
        role_arn=CURRENT_ROLE,
        action_groups=(
            ActionGroup(action_group_id="AG2RETCTL1", name="open-ticket", enabled=True, lambda_arn=None),
            ActionGroup(
                action_group_id="AG2USRINP1",
                name="UserInputAction",
                enabled=False,
                lambda_arn=None,
                parent_signature="AMAZON.UserInput",
            ),
        ),
        knowledge_bases=(),
        guardrail=GuardrailRef(identifier="x7k2m9p4q1wz", version="2"),
        foundation_model="anthropic.claude-3-5-sonnet-20240620-v1:0",
        role_from_agent=True,
    )


def test_load_snapshot_alias_version_without_folder(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(bedrock_files())

    snapshot = load_snapshot(root)

    agent = snapshot.accounts[ACCOUNT].agents[AGENT_ARN]
    assert agent.versions["3"] == AgentVersion(
        version="3",
        role_arn=CURRENT_ROLE,
        guardrail=GuardrailRef(identifier="x7k2m9p4q1wz", version="2"),
        foundation_model="anthropic.claude-3-5-sonnet-20240620-v1:0",
        role_from_agent=True,
    )
    assert (
        f"no folder for version 3 of agent {AGENT_ID} in account {ACCOUNT} ({REGION}), which an "
        "alias routes to: its role is taken from agent.json and its action groups and knowledge "
        "bases are unknown"
    ) in snapshot.not_seen


def test_load_snapshot_knowledge_base_and_guardrail(write_snapshot: SnapshotWriter) -> None:
    root = write_snapshot(bedrock_files())

    inventory = load_snapshot(root).accounts[ACCOUNT]

    kb_arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/KBHRDOCS01"
    assert inventory.knowledge_bases == {
        kb_arn: KnowledgeBase(
            arn=kb_arn,
            knowledge_base_id="KBHRDOCS01",
            name="hr-policies",
            account=ACCOUNT,
            region=REGION,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr",
            data_sources=(
                DataSource(
                    data_source_id="DSHRDOCS01",
                    name="hr-policy-bucket",
                    knowledge_base_id="KBHRDOCS01",
                    bucket_arn="arn:aws:s3:::acme-hr-policies",
                    inclusion_prefixes=("policies/",),
                ),
                DataSource(
                    data_source_id="DSWEBCRAW1",
                    name="intranet",
                    knowledge_base_id="KBHRDOCS01",
                    bucket_arn=None,
                ),
            ),
        )
    }
    guardrail_arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/x7k2m9p4q1wz"
    assert inventory.guardrails == {
        guardrail_arn: Guardrail(
            arn=guardrail_arn,
            guardrail_id="x7k2m9p4q1wz",
            name="hr-guardrail",
            account=ACCOUNT,
            region=REGION,
            version="DRAFT",
        )
    }


def test_load_snapshot_agent_gaps(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    del files[f"{AGENT_DIR}/aliases.json"]
    del files[f"{KB_DIR}/knowledge-base.json"]
    del files[f"{KB_DIR}/data-sources/DSHRDOCS01.json"]
    del files[f"{KB_DIR}/data-sources/DSWEBCRAW1.json"]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    agent = snapshot.accounts[ACCOUNT].agents[AGENT_ARN]
    assert agent.aliases == ()
    assert list(agent.versions) == ["DRAFT", "1", "2"]
    assert snapshot.not_seen[:2] == [
        f"no aliases.json for agent {AGENT_ID} in account {ACCOUNT} ({REGION}): "
        "its aliases and their routing not analysed",
        f"no folder for knowledge base KBHRDOCS01 used by agent {AGENT_ID} in account "
        f"{ACCOUNT} ({REGION}): its role and data sources not analysed",
    ]


def test_agent_folder_without_agent_json(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    del files[f"{AGENT_DIR}/agent.json"]
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{AGENT_DIR}/agent.json"
    assert "aws bedrock-agent get-agent --agent-id AGENT12345" in caught.value.message


def test_agent_id_differs_from_folder(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    files[f"{AGENT_DIR}/agent.json"]["agent"]["agentId"] = "OTHER12345"
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{AGENT_DIR}/agent.json"
    assert caught.value.field == "agent.agentId"
    assert caught.value.message == (
        "the file describes agent OTHER12345 but is in the folder of agent AGENT12345; "
        "move it to agents/OTHER12345/agent.json"
    )


def test_action_group_in_wrong_version_folder(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    path = f"{AGENT_DIR}/versions/2/action-groups/AG2RETCTL1.json"
    files[path]["agentActionGroup"]["agentVersion"] = "1"
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == path
    assert caught.value.field == "agentActionGroup.agentVersion"


def test_alias_without_routing_configuration(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    summaries = files[f"{AGENT_DIR}/aliases.json"]["agentAliasSummaries"]
    del summaries[0]["routingConfiguration"]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    prod = snapshot.accounts[ACCOUNT].agents[AGENT_ARN].aliases[0]
    assert prod.alias_id == "PRODALIAS1"
    assert prod.versions == ()
    assert prod.routing_known is False
    assert (
        f"alias PRODALIAS1 of agent {AGENT_ID} in account {ACCOUNT} ({REGION}) has no routingConfiguration "
        "with an agentVersion, so the versions it routes to are unknown"
    ) in snapshot.not_seen


def test_alias_route_without_agent_version(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    summaries = files[f"{AGENT_DIR}/aliases.json"]["agentAliasSummaries"]
    summaries[1]["routingConfiguration"] = [{"provisionedThroughput": "hr-throughput"}]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    legacy = snapshot.accounts[ACCOUNT].agents[AGENT_ARN].aliases[1]
    assert legacy.alias_id == "LEGACYALS1"
    assert legacy.versions == ()
    assert legacy.routing_known is False
    assert any(gap.startswith("alias LEGACYALS1 of agent ") for gap in snapshot.not_seen)


def test_dissociated_alias_without_routing(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    summaries = files[f"{AGENT_DIR}/aliases.json"]["agentAliasSummaries"]
    del summaries[4]["routingConfiguration"]
    root = write_snapshot(files)

    snapshot = load_snapshot(root)

    retired = snapshot.accounts[ACCOUNT].agents[AGENT_ARN].aliases[4]
    assert retired.status == "DISSOCIATED"
    assert retired.versions == ()
    assert retired.routing_known is True
    assert not any(gap.startswith("alias ") for gap in snapshot.not_seen)


def test_alias_invocation_state(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    summaries = files[f"{AGENT_DIR}/aliases.json"]["agentAliasSummaries"]
    summaries[0]["aliasInvocationState"] = "REJECT_INVOCATIONS"
    summaries[1]["aliasInvocationState"] = "ACCEPT_INVOCATIONS"
    root = write_snapshot(files)

    aliases = load_snapshot(root).accounts[ACCOUNT].agents[AGENT_ARN].aliases

    assert [alias.invocation_state for alias in aliases] == [
        "REJECT_INVOCATIONS",
        "ACCEPT_INVOCATIONS",
        None,
        None,
        None,
    ]
    assert [alias.status for alias in aliases] == ["PREPARED", "PREPARED", "PREPARED", "PREPARED", "DISSOCIATED"]
    assert all(alias.routing_known for alias in aliases)


def test_alias_invocation_state_wrong_type(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    files[f"{AGENT_DIR}/aliases.json"]["agentAliasSummaries"][0]["aliasInvocationState"] = False
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == f"{AGENT_DIR}/aliases.json"
    assert caught.value.field == "agentAliasSummaries[0].aliasInvocationState"


def test_qualified_lambda_executor_kept(write_snapshot: SnapshotWriter) -> None:
    files = bedrock_files()
    group = files[f"{AGENT_DIR}/versions/1/action-groups/AG1LAMBDA1.json"]["agentActionGroup"]
    group["actionGroupExecutor"] = {"lambda": f"{LOOKUP_ARN}:live"}
    root = write_snapshot(files)

    agent = load_snapshot(root).accounts[ACCOUNT].agents[AGENT_ARN]

    assert agent.versions["1"].action_groups[0].lambda_arn == f"{LOOKUP_ARN}:live"


@pytest.mark.parametrize(
    ("path", "field", "value", "message"),
    [
        (
            f"{AGENT_DIR}/versions/1/action-groups/AG1LAMBDA1.json",
            "agentActionGroup.actionGroupId",
            "AG1OTHER01",
            "the file describes action group AG1OTHER01 but is named AG1LAMBDA1.json; rename it to AG1OTHER01.json",
        ),
        (
            f"{KB_DIR}/data-sources/DSHRDOCS01.json",
            "dataSource.dataSourceId",
            "DSOTHER001",
            "the file describes data source DSOTHER001 but is named DSHRDOCS01.json; rename it to DSOTHER001.json",
        ),
        (
            f"{KB_DIR}/data-sources/DSHRDOCS01.json",
            "dataSource.knowledgeBaseId",
            "KBOTHER001",
            "the data source belongs to knowledge base KBOTHER001 but is in the folder of knowledge base "
            "KBHRDOCS01; move it to knowledge-bases/KBOTHER001/data-sources/DSHRDOCS01.json",
        ),
        (
            f"{KB_DIR}/knowledge-base.json",
            "knowledgeBase.knowledgeBaseId",
            "KBOTHER001",
            "the file describes knowledge base KBOTHER001 but is in the folder of knowledge base KBHRDOCS01; "
            "move it to knowledge-bases/KBOTHER001/knowledge-base.json",
        ),
        (
            f"{ACCOUNT}/{REGION}/bedrock/guardrails/x7k2m9p4q1wz.json",
            "guardrailId",
            "other",
            "the file describes guardrail other but is named x7k2m9p4q1wz.json; rename it to other.json",
        ),
        (
            f"{AGENT_DIR}/versions/1/agent-version.json",
            "agentVersion.version",
            "2",
            "the file describes version 2 but is in the folder of version 1; move it to versions/2/agent-version.json",
        ),
    ],
)
def test_id_differs_from_file_location(
    write_snapshot: SnapshotWriter, path: str, field: str, value: str, message: str
) -> None:
    files = bedrock_files()
    document = files[path]
    parent = document
    *steps, key = field.split(".")
    for step in steps:
        parent = parent[step]
    parent[key] = value
    root = write_snapshot(files)

    with pytest.raises(SnapshotError) as caught:
        load_snapshot(root)

    assert caught.value.path == path
    assert caught.value.field == field
    assert caught.value.message == message
