"""The graph vocabulary: node labels, relationship types and the actions behind each.

Defined once and used through these constants by the embedded graph, the path
queries and (later) the Neo4j store, so that every layer speaks the same words.
"""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    USER = "User"
    GROUP = "Group"
    ROLE = "Role"
    SERVICE_PRINCIPAL = "ServicePrincipal"
    EXTERNAL_ACCOUNT = "ExternalAccount"
    ANY_PRINCIPAL = "AnyPrincipal"
    BEDROCK_AGENT = "BedrockAgent"
    AGENT_ALIAS = "AgentAlias"
    AGENT_VERSION = "AgentVersion"
    ACTION_GROUP = "ActionGroup"
    KNOWLEDGE_BASE = "KnowledgeBase"
    DATA_SOURCE = "DataSource"
    GUARDRAIL = "Guardrail"
    LAMBDA_FUNCTION = "LambdaFunction"
    S3_BUCKET = "S3Bucket"
    VPC_API = "VpcApi"


class Rel(StrEnum):
    # Structure, read from the inventory.
    MEMBER_OF = "MEMBER_OF"
    ROUTES_TO = "ROUTES_TO"
    VERSION_OF = "VERSION_OF"
    HAS_EXECUTION_ROLE = "HAS_EXECUTION_ROLE"
    HAS_ACTION_GROUP = "HAS_ACTION_GROUP"
    CALLS_FUNCTION = "CALLS_FUNCTION"
    USES_KNOWLEDGE_BASE = "USES_KNOWLEDGE_BASE"
    HAS_DATA_SOURCE = "HAS_DATA_SOURCE"
    INGESTS_FROM = "INGESTS_FROM"
    USES_GUARDRAIL = "USES_GUARDRAIL"
    # Permissions, each derived by evaluating policies.
    CAN_ASSUME = "CAN_ASSUME"
    CAN_INVOKE_AGENT = "CAN_INVOKE_AGENT"
    CAN_CONFIGURE_AGENT = "CAN_CONFIGURE_AGENT"
    CAN_MODIFY_GUARDRAIL = "CAN_MODIFY_GUARDRAIL"
    CAN_INVOKE_FUNCTION = "CAN_INVOKE_FUNCTION"
    CAN_READ = "CAN_READ"
    CAN_WRITE = "CAN_WRITE"
    CAN_CALL = "CAN_CALL"
    CAN_PASS_ROLE = "CAN_PASS_ROLE"


PERMISSION_RELS = frozenset(
    {
        Rel.CAN_ASSUME,
        Rel.CAN_INVOKE_AGENT,
        Rel.CAN_CONFIGURE_AGENT,
        Rel.CAN_MODIFY_GUARDRAIL,
        Rel.CAN_INVOKE_FUNCTION,
        Rel.CAN_READ,
        Rel.CAN_WRITE,
        Rel.CAN_CALL,
        Rel.CAN_PASS_ROLE,
    }
)

# The actions evaluated for each permission relationship. An edge exists when at
# least one of them is allowed (or conditionally allowed); the edge lists which.
INVOKE_AGENT_ACTIONS = ("bedrock:InvokeAgent",)
CONFIGURE_AGENT_ACTIONS = (
    "bedrock:UpdateAgent",
    "bedrock:CreateAgentActionGroup",
    "bedrock:UpdateAgentActionGroup",
    "bedrock:AssociateAgentKnowledgeBase",
    "bedrock:PrepareAgent",
)
MODIFY_GUARDRAIL_ACTIONS = (
    "bedrock:UpdateGuardrail",
    "bedrock:DeleteGuardrail",
    "bedrock:CreateGuardrailVersion",
)
INVOKE_FUNCTION_ACTIONS = ("lambda:InvokeFunction",)
READ_OBJECT_ACTIONS = ("s3:GetObject",)
WRITE_OBJECT_ACTIONS = ("s3:PutObject", "s3:DeleteObject")
ASSUME_ROLE_ACTIONS = ("sts:AssumeRole",)
PASS_ROLE_ACTIONS = ("iam:PassRole",)

# EC2 APIs that change a network's shape or exposure. Each is a node of its own per
# account and region, so a path can end at "may create internet gateways".
VPC_PROVISIONING_ACTIONS = (
    "ec2:CreateVpc",
    "ec2:DeleteVpc",
    "ec2:ModifyVpcAttribute",
    "ec2:CreateSubnet",
    "ec2:DeleteSubnet",
    "ec2:ModifySubnetAttribute",
    "ec2:CreateRouteTable",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:AssociateRouteTable",
    "ec2:CreateInternetGateway",
    "ec2:AttachInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:CreateVpcPeeringConnection",
    "ec2:AcceptVpcPeeringConnection",
    "ec2:CreateVpcEndpoint",
)

# Technique tags and the sentence each permission edge carries, with {actions}
# filled in; a path read edge by edge then explains itself.
TECHNIQUES: dict[Rel, tuple[str, str]] = {
    Rel.CAN_ASSUME: ("assume-role", "may assume the role ({actions})"),
    Rel.CAN_INVOKE_AGENT: ("invoke-agent", "may invoke the agent alias ({actions})"),
    Rel.CAN_CONFIGURE_AGENT: (
        "configure-agent",
        "may change the agent's configuration ({actions})",
    ),
    Rel.CAN_MODIFY_GUARDRAIL: (
        "modify-guardrail",
        "may change or delete the guardrail ({actions})",
    ),
    Rel.CAN_INVOKE_FUNCTION: ("invoke-function", "may invoke the Lambda function ({actions})"),
    Rel.CAN_READ: ("read-objects", "may read objects in the bucket ({actions})"),
    Rel.CAN_WRITE: ("write-objects", "may write objects in the bucket ({actions})"),
    Rel.CAN_CALL: ("call-api", "may call the API ({actions})"),
    Rel.CAN_PASS_ROLE: ("pass-role", "may pass the role to Amazon Bedrock ({actions})"),
}

STRUCTURE_SENTENCES: dict[Rel, str] = {
    Rel.MEMBER_OF: "is a member of the group",
    Rel.ROUTES_TO: "routes invocations to the agent version",
    Rel.VERSION_OF: "is a version of the agent",
    Rel.HAS_EXECUTION_ROLE: "runs with the execution role",
    Rel.HAS_ACTION_GROUP: "has the action group",
    Rel.CALLS_FUNCTION: "calls the Lambda function when the agent acts",
    Rel.USES_KNOWLEDGE_BASE: "retrieves from the knowledge base",
    Rel.HAS_DATA_SOURCE: "ingests the data source",
    Rel.INGESTS_FROM: "holds content ingested from the bucket",
    Rel.USES_GUARDRAIL: "applies the guardrail",
}
