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
    # A principal whose identity-based policies or permissions boundary an attacker has
    # rewritten (see engine/escalation.py); no AWS resource stands behind it.
    ESCALATED_PRINCIPAL = "EscalatedPrincipal"


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
    # Privilege escalation, each derived by evaluating every action the technique needs.
    # IAM writes on principals and policies.
    CAN_CREATE_ACCESS_KEY = "CAN_CREATE_ACCESS_KEY"
    CAN_CREATE_LOGIN_PROFILE = "CAN_CREATE_LOGIN_PROFILE"
    CAN_UPDATE_LOGIN_PROFILE = "CAN_UPDATE_LOGIN_PROFILE"
    CAN_UPDATE_ASSUME_ROLE_POLICY = "CAN_UPDATE_ASSUME_ROLE_POLICY"
    CAN_ADD_USER_TO_GROUP = "CAN_ADD_USER_TO_GROUP"
    CAN_ATTACH_USER_POLICY = "CAN_ATTACH_USER_POLICY"
    CAN_ATTACH_GROUP_POLICY = "CAN_ATTACH_GROUP_POLICY"
    CAN_ATTACH_ROLE_POLICY = "CAN_ATTACH_ROLE_POLICY"
    CAN_PUT_USER_POLICY = "CAN_PUT_USER_POLICY"
    CAN_PUT_GROUP_POLICY = "CAN_PUT_GROUP_POLICY"
    CAN_PUT_ROLE_POLICY = "CAN_PUT_ROLE_POLICY"
    CAN_CREATE_POLICY_VERSION = "CAN_CREATE_POLICY_VERSION"
    CAN_SET_DEFAULT_POLICY_VERSION = "CAN_SET_DEFAULT_POLICY_VERSION"
    CAN_PUT_PERMISSIONS_BOUNDARY = "CAN_PUT_PERMISSIONS_BOUNDARY"
    CAN_DELETE_PERMISSIONS_BOUNDARY = "CAN_DELETE_PERMISSIONS_BOUNDARY"
    # iam:PassRole to a service that then runs the caller's code or template as the role.
    CAN_PASS_ROLE_TO_LAMBDA = "CAN_PASS_ROLE_TO_LAMBDA"
    CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE = "CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE"
    CAN_PASS_ROLE_TO_EC2 = "CAN_PASS_ROLE_TO_EC2"
    CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT = "CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT"
    CAN_PASS_ROLE_TO_GLUE_JOB = "CAN_PASS_ROLE_TO_GLUE_JOB"
    CAN_PASS_ROLE_TO_CLOUDFORMATION = "CAN_PASS_ROLE_TO_CLOUDFORMATION"
    CAN_PASS_ROLE_TO_DATA_PIPELINE = "CAN_PASS_ROLE_TO_DATA_PIPELINE"
    CAN_PASS_ROLE_TO_CODEBUILD = "CAN_PASS_ROLE_TO_CODEBUILD"
    CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK = "CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK"
    CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING = "CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING"
    CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING = "CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING"
    CAN_PASS_ROLE_TO_ECS = "CAN_PASS_ROLE_TO_ECS"
    CAN_PASS_ROLE_TO_BEDROCK_AGENT = "CAN_PASS_ROLE_TO_BEDROCK_AGENT"
    CAN_PASS_ROLE_TO_ACTION_GROUP_LAMBDA = "CAN_PASS_ROLE_TO_ACTION_GROUP_LAMBDA"
    CAN_PASS_ROLE_TO_AGENTCORE_CODE_INTERPRETER = "CAN_PASS_ROLE_TO_AGENTCORE_CODE_INTERPRETER"
    CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME = "CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME"
    # Editing what already runs as a role.
    CAN_UPDATE_FUNCTION_CODE = "CAN_UPDATE_FUNCTION_CODE"
    CAN_UPDATE_FUNCTION_CONFIGURATION = "CAN_UPDATE_FUNCTION_CONFIGURATION"
    CAN_UPDATE_STACK = "CAN_UPDATE_STACK"
    CAN_UPDATE_GLUE_DEV_ENDPOINT = "CAN_UPDATE_GLUE_DEV_ENDPOINT"
    CAN_SEND_COMMAND = "CAN_SEND_COMMAND"
    CAN_START_SESSION = "CAN_START_SESSION"
    CAN_SEND_SSH_PUBLIC_KEY = "CAN_SEND_SSH_PUBLIC_KEY"
    CAN_OPEN_NOTEBOOK = "CAN_OPEN_NOTEBOOK"


# Privilege-escalation edges: the walk continues from their target as it does after
# CAN_ASSUME, because the caller then acts with the target's permissions.
ESCALATION_RELS = frozenset(
    {
        Rel.CAN_CREATE_ACCESS_KEY,
        Rel.CAN_CREATE_LOGIN_PROFILE,
        Rel.CAN_UPDATE_LOGIN_PROFILE,
        Rel.CAN_UPDATE_ASSUME_ROLE_POLICY,
        Rel.CAN_ADD_USER_TO_GROUP,
        Rel.CAN_ATTACH_USER_POLICY,
        Rel.CAN_ATTACH_GROUP_POLICY,
        Rel.CAN_ATTACH_ROLE_POLICY,
        Rel.CAN_PUT_USER_POLICY,
        Rel.CAN_PUT_GROUP_POLICY,
        Rel.CAN_PUT_ROLE_POLICY,
        Rel.CAN_CREATE_POLICY_VERSION,
        Rel.CAN_SET_DEFAULT_POLICY_VERSION,
        Rel.CAN_PUT_PERMISSIONS_BOUNDARY,
        Rel.CAN_DELETE_PERMISSIONS_BOUNDARY,
        Rel.CAN_PASS_ROLE_TO_LAMBDA,
        Rel.CAN_PASS_ROLE_TO_LAMBDA_EVENT_SOURCE,
        Rel.CAN_PASS_ROLE_TO_EC2,
        Rel.CAN_PASS_ROLE_TO_GLUE_DEV_ENDPOINT,
        Rel.CAN_PASS_ROLE_TO_GLUE_JOB,
        Rel.CAN_PASS_ROLE_TO_CLOUDFORMATION,
        Rel.CAN_PASS_ROLE_TO_DATA_PIPELINE,
        Rel.CAN_PASS_ROLE_TO_CODEBUILD,
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_NOTEBOOK,
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_TRAINING,
        Rel.CAN_PASS_ROLE_TO_SAGEMAKER_PROCESSING,
        Rel.CAN_PASS_ROLE_TO_ECS,
        Rel.CAN_PASS_ROLE_TO_BEDROCK_AGENT,
        Rel.CAN_PASS_ROLE_TO_ACTION_GROUP_LAMBDA,
        Rel.CAN_PASS_ROLE_TO_AGENTCORE_CODE_INTERPRETER,
        Rel.CAN_PASS_ROLE_TO_AGENTCORE_RUNTIME,
        Rel.CAN_UPDATE_FUNCTION_CODE,
        Rel.CAN_UPDATE_FUNCTION_CONFIGURATION,
        Rel.CAN_UPDATE_STACK,
        Rel.CAN_UPDATE_GLUE_DEV_ENDPOINT,
        Rel.CAN_SEND_COMMAND,
        Rel.CAN_START_SESSION,
        Rel.CAN_SEND_SSH_PUBLIC_KEY,
        Rel.CAN_OPEN_NOTEBOOK,
    }
)

# The steps by which a principal comes to act with another principal's permissions.
ACT_AS_RELS = frozenset({Rel.CAN_ASSUME}) | ESCALATION_RELS

PERMISSION_RELS = (
    frozenset(
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
    | ESCALATION_RELS
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
