"""The bundled example, examples/shared-hr-agent, rebuilt as a live environment for the collector.

IAM, S3, Lambda, Organizations and CloudTrail are created in moto through its API, from
the example's own files. moto's `GetAccountAuthorizationDetails` does not page. It also
leaves out each managed policy's `PolicyName` (required in the IAM API reference's
ManagedPolicyDetail) and lists every AWS managed policy, attached or not. So that one
call is served by botocore's Stubber from the example's file, in three pages.

Bedrock agents, aliases, versions, action groups, knowledge bases, data sources and
guardrails are served by the Stubber too, because moto implements few of those calls
and drops `guardrailConfiguration` from agents. The stub responses are the example's
files, which have the shapes of the Bedrock API reference pages (Agents for Amazon
Bedrock: GetAgent, ListAgentAliases, GetAgentVersion, ListAgentActionGroups,
GetAgentActionGroup, ListAgentKnowledgeBases, GetKnowledgeBase, ListDataSources,
GetDataSource; Amazon Bedrock: ListGuardrails, GetGuardrail), and the Stubber checks
every response against botocore's model of the service.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared-hr-agent"
ACCOUNT = "111122223333"
REGION = "us-east-1"
ACCOUNT_DIR = EXAMPLE / ACCOUNT
REGION_DIR = ACCOUNT_DIR / REGION
AGENT_DIR = REGION_DIR / "bedrock-agent"
DRAFT = "DRAFT"
POLICY_DOCUMENT_KEYS = frozenset({"PolicyDocument", "AssumeRolePolicyDocument", "Document"})


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ---- moto: the services it implements ----


def build_in_moto(session: boto3.session.Session, moto_url: str) -> None:
    """Create the example's IAM principals, buckets, functions, trail and organization in moto."""
    _build_iam(session.client("iam", endpoint_url=moto_url))
    _build_s3(session.client("s3", endpoint_url=moto_url))
    _build_lambda(session.client("lambda", endpoint_url=moto_url))
    _build_cloudtrail(session.client("cloudtrail", endpoint_url=moto_url))
    _build_organization(session.client("organizations", endpoint_url=moto_url))


def _build_iam(iam: Any) -> None:
    details = read(ACCOUNT_DIR / "iam" / "authorization-details.json")
    for policy in details["Policies"]:
        if ":iam::aws:" in policy["Arn"]:
            continue  # AWS managed policies exist in moto already
        document = next(v["Document"] for v in policy["PolicyVersionList"] if v["IsDefaultVersion"])
        iam.create_policy(PolicyName=policy["PolicyName"], Path=policy["Path"], PolicyDocument=json.dumps(document))
    for group in details["GroupDetailList"]:
        iam.create_group(GroupName=group["GroupName"], Path=group.get("Path", "/"))
        for inline in group.get("GroupPolicyList", []):
            iam.put_group_policy(
                GroupName=group["GroupName"],
                PolicyName=inline["PolicyName"],
                PolicyDocument=json.dumps(inline["PolicyDocument"]),
            )
        for attached in group.get("AttachedManagedPolicies", []):
            iam.attach_group_policy(GroupName=group["GroupName"], PolicyArn=attached["PolicyArn"])
    for user in details["UserDetailList"]:
        iam.create_user(UserName=user["UserName"], Path=user.get("Path", "/"), Tags=user.get("Tags", []))
        for inline in user.get("UserPolicyList", []):
            iam.put_user_policy(
                UserName=user["UserName"],
                PolicyName=inline["PolicyName"],
                PolicyDocument=json.dumps(inline["PolicyDocument"]),
            )
        for attached in user.get("AttachedManagedPolicies", []):
            iam.attach_user_policy(UserName=user["UserName"], PolicyArn=attached["PolicyArn"])
        for group_name in user.get("GroupList", []):
            iam.add_user_to_group(GroupName=group_name, UserName=user["UserName"])
    for role in details["RoleDetailList"]:
        iam.create_role(
            RoleName=role["RoleName"],
            Path=role.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
            Tags=role.get("Tags", []),
        )
        for inline in role.get("RolePolicyList", []):
            iam.put_role_policy(
                RoleName=role["RoleName"],
                PolicyName=inline["PolicyName"],
                PolicyDocument=json.dumps(inline["PolicyDocument"]),
            )
        for attached in role.get("AttachedManagedPolicies", []):
            # moto loads AWS managed policies only on request, and then every reset is slow. The
            # collector reads IAM from the Stubber, so the roles need only customer managed policies.
            if ":iam::aws:" not in attached["PolicyArn"]:
                iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=attached["PolicyArn"])


def _build_s3(s3: Any) -> None:
    for bucket in read(ACCOUNT_DIR / "s3" / "buckets.json")["Buckets"]:
        name = bucket["Name"]
        s3.create_bucket(Bucket=name)
        folder = ACCOUNT_DIR / "s3" / name
        if (folder / "policy.json").exists():
            s3.put_bucket_policy(Bucket=name, Policy=read(folder / "policy.json")["Policy"])
        tags = read(folder / "tagging.json")["TagSet"] if (folder / "tagging.json").exists() else []
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})


def _build_lambda(client: Any) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("app.py", "def handler(event, context):\n    return event\n")
    for function in read(REGION_DIR / "lambda" / "functions.json")["Functions"]:
        name = function["FunctionName"]
        client.create_function(
            FunctionName=name,
            Runtime=function["Runtime"],
            Role=function["Role"],
            Handler=function["Handler"],
            Code={"ZipFile": archive.getvalue()},
        )
        policy_file = REGION_DIR / "lambda" / name / "policy.json"
        if not policy_file.exists():
            continue
        for statement in json.loads(read(policy_file)["Policy"])["Statement"]:
            condition = statement.get("Condition", {})
            extra = {}
            if "AWS:SourceArn" in condition.get("ArnLike", {}):
                extra["SourceArn"] = condition["ArnLike"]["AWS:SourceArn"]
            if "AWS:SourceAccount" in condition.get("StringEquals", {}):
                extra["SourceAccount"] = condition["StringEquals"]["AWS:SourceAccount"]
            client.add_permission(
                FunctionName=name,
                StatementId=statement["Sid"],
                Action=statement["Action"],
                Principal=statement["Principal"]["Service"],
                **extra,
            )


def _build_cloudtrail(client: Any) -> None:
    # The example's trail belongs to the management account; here the account owns a trail of the same name.
    client.create_trail(Name="org-management-trail", S3BucketName="acme-public-assets", IsMultiRegionTrail=True)
    selectors = read(REGION_DIR / "cloudtrail" / "org-management-trail" / "event-selectors.json")
    client.put_event_selectors(TrailName="org-management-trail", EventSelectors=selectors["EventSelectors"])


def _build_organization(client: Any) -> None:
    """An organization managed by the account itself, with the example's DenyLeaveOrganization SCP."""
    client.create_organization(FeatureSet="ALL")
    root_id = client.list_roots()["Roots"][0]["Id"]
    client.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    for ou in ("Workloads", "Security"):
        client.create_organizational_unit(ParentId=root_id, Name=ou)
    policy = read(EXAMPLE / "organization" / "policies" / "p-5tq8r2wm1z.json")["Policy"]
    created = client.create_policy(
        Content=policy["Content"],
        Description=policy["PolicySummary"].get("Description", ""),
        Name=policy["PolicySummary"]["Name"],
        Type="SERVICE_CONTROL_POLICY",
    )
    client.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=root_id)


# ---- Stubber: the Bedrock calls moto lacks ----


def _agent_ids() -> list[str]:
    return sorted(path.name for path in (AGENT_DIR / "agents").iterdir())


def _kb_ids() -> list[str]:
    return sorted(path.name for path in (AGENT_DIR / "knowledge-bases").iterdir())


def _versions(agent_id: str) -> list[str]:
    routed = {DRAFT}
    for alias in read(AGENT_DIR / "agents" / agent_id / "aliases.json")["agentAliasSummaries"]:
        routed.update(route["agentVersion"] for route in alias.get("routingConfiguration", []))
    return sorted(routed, key=lambda name: (0, 0) if name == DRAFT else (1, int(name)))


def stub_bedrock_agent(stubber: Stubber, region: str, *, page_size: int = 1) -> None:
    """Queue the Bedrock Agents responses of the example, in the order the collector calls.

    Listings are split into pages of `page_size` items, so every paginated call is read
    over several pages. A region other than the example's has no agents.
    """
    if region != REGION:
        stubber.add_response("list_agents", {"agentSummaries": []}, {})
        stubber.add_response("list_knowledge_bases", {"knowledgeBaseSummaries": []}, {})
        return

    agents = [read(AGENT_DIR / "agents" / agent_id / "agent.json")["agent"] for agent_id in _agent_ids()]
    summaries = [
        {
            "agentId": agent["agentId"],
            "agentName": agent["agentName"],
            "agentStatus": agent["agentStatus"],
            "updatedAt": agent["updatedAt"],
        }
        for agent in agents
    ]
    add_pages(stubber, "list_agents", "agentSummaries", summaries, {}, page_size=page_size)
    for agent in agents:
        agent_id = agent["agentId"]
        folder = AGENT_DIR / "agents" / agent_id
        stubber.add_response("get_agent", read(folder / "agent.json"), {"agentId": agent_id})
        aliases = read(folder / "aliases.json")["agentAliasSummaries"]
        add_pages(
            stubber, "list_agent_aliases", "agentAliasSummaries", aliases, {"agentId": agent_id}, page_size=page_size
        )
        for version in _versions(agent_id):
            _stub_version(stubber, folder / "versions" / version, agent_id, version, page_size)

    knowledge_bases = [
        read(AGENT_DIR / "knowledge-bases" / kb_id / "knowledge-base.json")["knowledgeBase"] for kb_id in _kb_ids()
    ]
    kb_summaries = [
        {
            "knowledgeBaseId": kb["knowledgeBaseId"],
            "name": kb["name"],
            "status": kb["status"],
            "updatedAt": kb["updatedAt"],
        }
        for kb in knowledge_bases
    ]
    add_pages(stubber, "list_knowledge_bases", "knowledgeBaseSummaries", kb_summaries, {}, page_size=page_size)
    for kb in knowledge_bases:
        kb_id = kb["knowledgeBaseId"]
        folder = AGENT_DIR / "knowledge-bases" / kb_id
        stubber.add_response("get_knowledge_base", read(folder / "knowledge-base.json"), {"knowledgeBaseId": kb_id})
        sources = [read(path)["dataSource"] for path in sorted((folder / "data-sources").glob("*.json"))]
        source_summaries = [
            {
                "knowledgeBaseId": kb_id,
                "dataSourceId": source["dataSourceId"],
                "name": source["name"],
                "status": source["status"],
                "updatedAt": source["updatedAt"],
            }
            for source in sources
        ]
        add_pages(
            stubber,
            "list_data_sources",
            "dataSourceSummaries",
            source_summaries,
            {"knowledgeBaseId": kb_id},
            page_size=page_size,
        )
        for source in sources:
            stubber.add_response(
                "get_data_source",
                {"dataSource": source},
                {"knowledgeBaseId": kb_id, "dataSourceId": source["dataSourceId"]},
            )


def _stub_version(stubber: Stubber, folder: Path, agent_id: str, version: str, page_size: int) -> None:
    params = {"agentId": agent_id, "agentVersion": version}
    if version != DRAFT:
        stubber.add_response("get_agent_version", read(folder / "agent-version.json"), params)
    groups = [read(path)["agentActionGroup"] for path in sorted((folder / "action-groups").glob("*.json"))]
    group_summaries = [
        {
            "actionGroupId": group["actionGroupId"],
            "actionGroupName": group["actionGroupName"],
            "actionGroupState": group["actionGroupState"],
            "updatedAt": group["updatedAt"],
        }
        for group in groups
    ]
    add_pages(stubber, "list_agent_action_groups", "actionGroupSummaries", group_summaries, params, page_size=page_size)
    for group in groups:
        stubber.add_response(
            "get_agent_action_group", {"agentActionGroup": group}, {**params, "actionGroupId": group["actionGroupId"]}
        )
    knowledge_bases = read(folder / "knowledge-bases.json")["agentKnowledgeBaseSummaries"]
    add_pages(
        stubber,
        "list_agent_knowledge_bases",
        "agentKnowledgeBaseSummaries",
        knowledge_bases,
        params,
        page_size=page_size,
    )


def stub_iam(stubber: Stubber, region: str) -> None:
    """Queue the example's IAM: the authorization details, then a last-accessed job per user and role."""
    del region
    details = stub_iam_details(stubber)
    arns = [user["Arn"] for user in details["UserDetailList"]] + [role["Arn"] for role in details["RoleDetailList"]]
    stub_last_accessed(stubber, arns)


def stub_iam_details(stubber: Stubber) -> dict[str, Any]:
    """Queue the example's `GetAccountAuthorizationDetails` output in three pages joined by `Marker`; return it."""
    details: dict[str, Any] = _url_encode_documents(read(ACCOUNT_DIR / "iam" / "authorization-details.json"))
    keys = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    roles = details["RoleDetailList"]
    pages = [
        {"UserDetailList": details["UserDetailList"], "GroupDetailList": details["GroupDetailList"]},
        {"RoleDetailList": roles[:3]},
        {"RoleDetailList": roles[3:], "Policies": details["Policies"]},
    ]
    for number, page in enumerate(pages):
        response: dict[str, Any] = {key: page.get(key, []) for key in keys}
        last = number == len(pages) - 1
        response["IsTruncated"] = not last
        if not last:
            response["Marker"] = f"page-{number + 1}"
        stubber.add_response(
            "get_account_authorization_details", response, {"Marker": f"page-{number}"} if number else {}
        )
    return details


def stub_last_accessed(stubber: Stubber, arns: list[str]) -> None:
    """Queue one last-accessed job per principal: the first still running at the first read, the second in two pages.

    The shapes follow the IAM API reference pages GenerateServiceLastAccessedDetails and
    GetServiceLastAccessedDetails.
    """
    # Job ids are UUIDs; botocore rejects shorter ones.
    job_ids = [f"00000000-0000-4000-8000-{number:012d}" for number in range(len(arns))]
    for arn, job_id in zip(arns, job_ids, strict=True):
        stubber.add_response("generate_service_last_accessed_details", {"JobId": job_id}, {"Arn": arn})
    for number, job_id in enumerate(job_ids):
        job = {"JobId": job_id}
        service = {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "TotalAuthenticatedEntities": 0}
        report = {
            "JobStatus": "COMPLETED",
            "JobType": "SERVICE_LEVEL",
            "JobCreationDate": "2024-11-05T14:30:00Z",
            "JobCompletionDate": "2024-11-05T14:30:02Z",
            "ServicesLastAccessed": [service],
            "IsTruncated": False,
        }
        if number == 0:
            stubber.add_response("get_service_last_accessed_details", {**report, "JobStatus": "IN_PROGRESS"}, job)
        if number == 1:
            lambda_service = {**service, "ServiceName": "AWS Lambda", "ServiceNamespace": "lambda"}
            first = {**report, "ServicesLastAccessed": [lambda_service], "IsTruncated": True, "Marker": "more"}
            stubber.add_response("get_service_last_accessed_details", first, job)
            stubber.add_response("get_service_last_accessed_details", report, {**job, "Marker": "more"})
            continue
        stubber.add_response("get_service_last_accessed_details", report, job)


def _url_encode_documents(value: Any) -> Any:
    """Return IAM output with each policy document as the URL-encoded JSON string the IAM API sends.

    botocore decodes these strings after every IAM call, stubbed or not, as the IAM API
    reference describes for GetAccountAuthorizationDetails (RFC 3986 URL encoding).
    """
    if isinstance(value, list):
        return [_url_encode_documents(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: urllib.parse.quote(json.dumps(item)) if key in POLICY_DOCUMENT_KEYS else _url_encode_documents(item)
        for key, item in value.items()
    }


def stub_guardrails(stubber: Stubber, region: str) -> None:
    """Queue the example's guardrail: `ListGuardrails`, then `GetGuardrail`."""
    if region != REGION:
        stubber.add_response("list_guardrails", {"guardrails": []}, {})
        return
    guardrails = [read(path) for path in sorted((REGION_DIR / "bedrock" / "guardrails").glob("*.json"))]
    summaries = [
        {
            "id": guardrail["guardrailId"],
            "arn": guardrail["guardrailArn"],
            "status": guardrail["status"],
            "name": guardrail["name"],
            "version": guardrail["version"],
            "createdAt": guardrail["createdAt"],
            "updatedAt": guardrail["updatedAt"],
        }
        for guardrail in guardrails
    ]
    stubber.add_response("list_guardrails", {"guardrails": summaries}, {})
    for guardrail in guardrails:
        stubber.add_response("get_guardrail", guardrail, {"guardrailIdentifier": guardrail["guardrailId"]})


def add_pages(
    stubber: Stubber,
    method: str,
    key: str,
    items: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    page_size: int = 1,
    token_in: str = "nextToken",
    token_out: str = "nextToken",
) -> None:
    """Queue a listing as pages of `page_size` items, each page but the last with a continuation token."""
    pages = [items[start : start + page_size] for start in range(0, len(items), page_size)] or [[]]
    for number, page in enumerate(pages):
        response: dict[str, Any] = {key: page}
        if number < len(pages) - 1:
            response[token_out] = f"page-{number + 1}"
        expected = dict(params)
        if number > 0:
            expected[token_in] = f"page-{number}"
        stubber.add_response(method, response, expected)
