"""Amazon Resource Names: the one place that parses and builds them.

Every ARN in deputygraph passes through here so that partitions (`aws`, `aws-cn`,
`aws-us-gov`, ...) are never assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"})
DEFAULT_PARTITION = "aws"

_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True, slots=True)
class Arn:
    """The six fields of an ARN; `resource` keeps everything after the fifth colon."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """The resource type prefix (`role`, `function`, `agent-alias`), or '' for S3 buckets."""
        for separator in ("/", ":"):
            if separator in self.resource:
                return self.resource.split(separator, 1)[0]
        return ""


def parse_arn(text: str) -> Arn:
    """Parse an ARN; raise ValueError naming the value when it is not one."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        raise ValueError(f"{text!r} is not an ARN (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def is_arn(text: str) -> bool:
    """Tell whether text has the shape of an ARN."""
    try:
        parse_arn(text)
    except ValueError:
        return False
    return True


def is_account_id(text: str) -> bool:
    """Tell whether text is a 12-digit AWS account id."""
    return bool(_ACCOUNT_ID.match(text))


def account_root_arn(account: str, partition: str = DEFAULT_PARTITION) -> str:
    """Build the ARN that names a whole account in a `Principal` element."""
    return f"arn:{partition}:iam::{account}:root"


def iam_arn(account: str, resource: str, partition: str = DEFAULT_PARTITION) -> str:
    """Build an IAM ARN such as `arn:aws:iam::111122223333:role/path/name`."""
    return f"arn:{partition}:iam::{account}:{resource}"


def s3_bucket_arn(bucket: str, partition: str = DEFAULT_PARTITION) -> str:
    """Build the ARN of a bucket. Bucket ARNs carry no region and no account."""
    return f"arn:{partition}:s3:::{bucket}"


def s3_objects_arn(bucket: str, partition: str = DEFAULT_PARTITION) -> str:
    """Build the ARN pattern that covers every object in a bucket."""
    return f"arn:{partition}:s3:::{bucket}/*"


def service_arn(service: str, region: str, account: str, resource: str, partition: str = DEFAULT_PARTITION) -> str:
    """A regional ARN, for example a Lambda function or a Bedrock agent alias."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def sts_assumed_role_arn(account: str, role_name: str, session: str, partition: str = DEFAULT_PARTITION) -> str:
    """Build the ARN of a role session, as STS names it."""
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session}"


@dataclass(frozen=True, slots=True)
class RoleSession:
    """The parts of an STS assumed-role session ARN that name the session's role."""

    arn: str
    partition: str
    account: str
    role_name: str
    session_name: str


def parse_role_session(text: str) -> RoleSession | None:
    """Split `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`; return None for any other text."""
    try:
        arn = parse_arn(text)
    except ValueError:
        return None
    kind, _, rest = arn.resource.partition("/")
    role_name, _, session_name = rest.partition("/")
    if arn.service != "sts" or kind != "assumed-role" or not role_name or not session_name:
        return None
    return RoleSession(text, arn.partition, arn.account, role_name, session_name)


def role_arn_from_session(session_arn: str) -> str:
    """Map `arn:...:sts::ACCOUNT:assumed-role/NAME/SESSION` to the role's IAM ARN.

    Role paths are not part of a session ARN, so the result has the root path. Callers
    that know the role inventory look the role up by account and name instead.
    """
    arn = parse_arn(session_arn)
    kind, _, rest = arn.resource.partition("/")
    if arn.service != "sts" or kind != "assumed-role" or "/" not in rest:
        raise ValueError(
            f"{session_arn!r} is not a role session ARN (expected arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION)"
        )
    role_name = rest.split("/", 1)[0]
    return iam_arn(arn.account, f"role/{role_name}", arn.partition)


def service_principal_suffix(partition: str) -> str:
    """Return the DNS suffix of service principals (`bedrock.amazonaws.com`) in a partition."""
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
