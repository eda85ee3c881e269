"""IAM: users, groups, roles and managed policies of one account.

Reads `iam/authorization-details.json` (`aws iam get-account-authorization-details`)
and `iam/policies/<name>.json`, which contains managed policies that the first file
leaves out and that principals use as permissions boundaries.
`iam/service-last-accessed/roles/<role-name>.json` holds a role's IAM last-accessed report
(`get-service-last-accessed-details`), which the least-privilege proposals use to drop
services the role has not used.

Not read: access keys, passwords, MFA devices, identity providers and the account
password policy, because no attack path through an agent depends on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engine.arn import Arn, is_account_id, parse_arn
from engine.inventory import AccountInventory, Group, InlinePolicy, ManagedPolicy, Role, ServiceLastAccessed, User
from engine.policy import PolicyKind
from ingest.jsonfile import JsonObject, SnapshotReader

logger = logging.getLogger(__name__)

DETAILS_COMMAND = "aws iam get-account-authorization-details --output json"
LAST_ACCESSED_DIR = "service-last-accessed"


@dataclass(frozen=True, slots=True)
class IamRecords:
    """The principals and managed policies read from one authorization-details file."""

    users: tuple[User, ...]
    groups: tuple[Group, ...]
    roles: tuple[Role, ...]
    managed_policies: tuple[ManagedPolicy, ...]
    # ARNs that name an account other than the account folder's (and other than "aws").
    foreign_arns: tuple[str, ...] = ()


# ---- transform: JSON in, records out ----


def transform_authorization_details(document: JsonObject, *, account: str, partition: str) -> IamRecords:
    """Build the IAM records of one account from `get-account-authorization-details` output."""
    if document.optional_bool("IsTruncated", default=False):
        raise document.error(
            "IsTruncated",
            "the output holds only the first page; run the command without --max-items or "
            "--no-paginate so that the AWS CLI merges every page",
        )
    users = tuple(_user(item, partition=partition) for item in document.require_objects("UserDetailList"))
    groups = tuple(_group(item, partition=partition) for item in document.require_objects("GroupDetailList"))
    roles = tuple(_role(item, partition=partition) for item in document.require_objects("RoleDetailList"))
    policies = tuple(_listed_managed_policy(item, partition=partition) for item in document.require_objects("Policies"))
    owners = [
        *((user.arn, user.account) for user in users),
        *((group.arn, group.account) for group in groups),
        *((role.arn, role.account) for role in roles),
        *((policy.arn, parse_arn(policy.arn).account) for policy in policies),
    ]
    foreign = tuple(arn for arn, owner in owners if owner not in (account, "aws"))
    return IamRecords(
        users=users,
        groups=groups,
        roles=roles,
        managed_policies=policies,
        foreign_arns=foreign,
    )


def transform_policy_file(document: JsonObject, *, partition: str) -> ManagedPolicy:
    """Build a managed policy from an `iam/policies/<name>.json` file.

    The file contains `{"Policy": <get-policy Policy>, "PolicyVersion": <get-policy-version
    PolicyVersion>}`, and the version must be the policy's default version.
    """
    policy = document.require_object("Policy")
    version = document.require_object("PolicyVersion")
    arn = _managed_policy_arn(policy, "Arn", partition=partition)
    name = policy.require_str("PolicyName")

    default_version_id = policy.optional_str("DefaultVersionId")
    version_id = version.optional_str("VersionId")
    fetch_default = (
        f"`aws iam get-policy-version --policy-arn {arn} --version-id {default_version_id or '<DefaultVersionId>'}`"
    )
    if default_version_id is not None and version_id is not None and version_id != default_version_id:
        raise version.error(
            "VersionId",
            f"the file holds version {version_id}, but the default version is {default_version_id}; "
            f"save the output of {fetch_default} as PolicyVersion",
        )
    if not version.optional_bool("IsDefaultVersion", default=True):
        raise version.error(
            "IsDefaultVersion",
            f"the file holds a version that is not the default version; save the output of {fetch_default} "
            "as PolicyVersion",
        )

    document_dict = version.require_policy("Document", kind=PolicyKind.BOUNDARY, policy_id=str(arn), name=name)
    return ManagedPolicy(
        arn=str(arn),
        name=name,
        path=policy.optional_str("Path") or "/",
        document=document_dict,
        is_aws_managed=arn.account == "aws",
    )


def _user(item: JsonObject, *, partition: str) -> User:
    name = item.require_str("UserName")
    arn = _principal_arn(item, "user", name, partition=partition)
    return User(
        arn=str(arn),
        name=name,
        user_id=item.require_str("UserId"),
        account=arn.account,
        path=item.optional_str("Path") or "/",
        tags=item.optional_tags("Tags"),
        inline_policies=_inline_policies(item, "UserPolicyList", owner_arn=str(arn)),
        attached_policy_arns=_attached_policy_arns(item),
        group_names=item.optional_strings("GroupList"),
        permissions_boundary_arn=_boundary_arn(item),
    )


def _group(item: JsonObject, *, partition: str) -> Group:
    name = item.require_str("GroupName")
    arn = _principal_arn(item, "group", name, partition=partition)
    return Group(
        arn=str(arn),
        name=name,
        group_id=item.require_str("GroupId"),
        account=arn.account,
        path=item.optional_str("Path") or "/",
        inline_policies=_inline_policies(item, "GroupPolicyList", owner_arn=str(arn)),
        attached_policy_arns=_attached_policy_arns(item),
    )


def _role(item: JsonObject, *, partition: str) -> Role:
    name = item.require_str("RoleName")
    arn = _principal_arn(item, "role", name, partition=partition)
    trust_policy = item.require_policy(
        "AssumeRolePolicyDocument", kind=PolicyKind.TRUST, policy_id=f"{arn}#trust", name=name
    )
    instance_profiles = tuple(profile.require_str("Arn") for profile in item.optional_objects("InstanceProfileList"))
    return Role(
        arn=str(arn),
        name=name,
        role_id=item.require_str("RoleId"),
        account=arn.account,
        trust_policy=trust_policy,
        path=item.optional_str("Path") or "/",
        tags=item.optional_tags("Tags"),
        inline_policies=_inline_policies(item, "RolePolicyList", owner_arn=str(arn)),
        attached_policy_arns=_attached_policy_arns(item),
        permissions_boundary_arn=_boundary_arn(item),
        instance_profile_arns=instance_profiles,
    )


def _listed_managed_policy(item: JsonObject, *, partition: str) -> ManagedPolicy:
    arn = _managed_policy_arn(item, "Arn", partition=partition)
    name = item.require_str("PolicyName")
    default_versions = [
        version
        for version in item.require_objects("PolicyVersionList")
        if version.optional_bool("IsDefaultVersion", default=False)
    ]
    if len(default_versions) != 1:
        raise item.error(
            "PolicyVersionList",
            f"expected exactly one version with IsDefaultVersion true, found "
            f"{len(default_versions)}; save the unmodified command output",
        )
    document = default_versions[0].require_policy("Document", kind=PolicyKind.IDENTITY, policy_id=str(arn), name=name)
    return ManagedPolicy(
        arn=str(arn),
        name=name,
        path=item.optional_str("Path") or "/",
        document=document,
        is_aws_managed=arn.account == "aws",
    )


def _principal_arn(item: JsonObject, resource_type: str, name: str, *, partition: str) -> Arn:
    """Parse the `Arn` of a user, group or role and check that it names this principal.

    IAM builds the ARN as `arn:PARTITION:iam::ACCOUNT:TYPE` + `Path` + name, so an ARN
    of another type or name means the entry was edited. The graph keys principals by
    ARN, so such an entry would attach its policies to a different principal.
    """
    # NOTE: AWS returns only the account's own principals, but hand-edited files (such as
    # published samples) can mix accounts. Each principal keeps the account its ARN names,
    # and the loader logs a warning for them.
    arn = item.require_arn("Arn", partition=partition)
    path = item.optional_str("Path")
    expected = f"{resource_type}{path}{name}" if path is not None else None
    parsed_type, _, rest = arn.resource.partition("/")
    if (
        arn.service != "iam"
        or arn.region != ""
        or not is_account_id(arn.account)
        or parsed_type != resource_type
        or rest.rsplit("/", 1)[-1] != name
        or (expected is not None and arn.resource != expected)
    ):
        expected_resource = expected or f"{resource_type}/{name}"
        raise item.error(
            "Arn",
            f"{str(arn)!r} is not the ARN of {resource_type} {name!r} (expected "
            f"arn:{partition}:iam::ACCOUNT:{expected_resource}); save the unmodified AWS CLI output",
        )
    return arn


def _managed_policy_arn(item: JsonObject, key: str, *, partition: str) -> Arn:
    return item.require_arn(key, partition=partition)


def _inline_policies(item: JsonObject, key: str, *, owner_arn: str) -> tuple[InlinePolicy, ...]:
    policies = []
    for entry in item.optional_objects(key):
        name = entry.require_str("PolicyName")
        document = entry.require_policy(
            "PolicyDocument",
            kind=PolicyKind.IDENTITY,
            policy_id=f"{owner_arn}#inline:{name}",
            name=name,
        )
        policies.append(InlinePolicy(name=name, document=document))
    return tuple(policies)


def _attached_policy_arns(item: JsonObject) -> tuple[str, ...]:
    return tuple(entry.require_str("PolicyArn") for entry in item.optional_objects("AttachedManagedPolicies"))


def _boundary_arn(item: JsonObject) -> str | None:
    boundary = item.optional_object("PermissionsBoundary")
    if boundary is None:
        return None
    return boundary.require_str("PermissionsBoundaryArn")


# ---- load: read the files, transform, write into the account inventory ----


def load_iam(reader: SnapshotReader, iam_dir: Path, inventory: AccountInventory) -> bool:
    """Load `<account>/iam/` into the inventory and return whether authorization details exist."""
    account = inventory.account_id
    details_path = iam_dir / "authorization-details.json"
    covered = reader.file_exists(details_path, DETAILS_COMMAND)
    if covered:
        records = transform_authorization_details(
            reader.read_object(details_path, DETAILS_COMMAND), account=account, partition=reader.partition
        )
        inventory.users.update((user.arn, user) for user in records.users)
        inventory.groups.update((group.arn, group) for group in records.groups)
        inventory.roles.update((role.arn, role) for role in records.roles)
        inventory.managed_policies.update((policy.arn, policy) for policy in records.managed_policies)
        if records.foreign_arns:
            logger.warning(
                "%s contains %d entries whose ARN names an account other than %s (first: %s); "
                "they are kept under the account their ARN names",
                reader.label(details_path),
                len(records.foreign_arns),
                account,
                records.foreign_arns[0],
            )
    else:
        logger.warning(
            "%s is missing, so IAM principals of account %s are not loaded",
            reader.label(details_path),
            account,
        )

    extra_policies = _load_policy_folder(reader, iam_dir / "policies", inventory)
    # Only the roles' reports are analysed; users/ is kept for people.
    _load_last_accessed(reader, iam_dir / LAST_ACCESSED_DIR / "roles", inventory)
    for path in reader.unknown_entries(iam_dir, {"authorization-details.json", "policies", LAST_ACCESSED_DIR}):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    logger.info(
        "loaded IAM for account %s: %d users, %d groups, %d roles, %d managed policies (%d from iam/policies)",
        account,
        len(inventory.users),
        len(inventory.groups),
        len(inventory.roles),
        len(inventory.managed_policies),
        extra_policies,
    )
    return covered


def transform_last_accessed(document: JsonObject, *, role_arn: str) -> ServiceLastAccessed:
    """Build a role's last-accessed data from `get-service-last-accessed-details` output."""
    status = document.require_str("JobStatus")
    if status != "COMPLETED":
        raise document.error(
            "JobStatus", f"the job is {status}; wait until get-service-last-accessed-details reports COMPLETED"
        )
    if document.optional_bool("IsTruncated", False):
        raise document.error("IsTruncated", "the file holds one page only; save the output with every page merged")
    services = {
        item.require_str("ServiceNamespace"): item.optional_str("LastAuthenticated")
        for item in document.require_objects("ServicesLastAccessed")
    }
    return ServiceLastAccessed(
        role_arn=role_arn, services=services, job_completed=document.optional_str("JobCompletionDate")
    )


def _last_accessed_contents(name: str) -> str:
    return (
        f"the output of `aws iam get-service-last-accessed-details --job-id ID` for the job that "
        f"`aws iam generate-service-last-accessed-details --arn` started for role {name}"
    )


def _load_last_accessed(reader: SnapshotReader, folder: Path, inventory: AccountInventory) -> None:
    if not reader.folder_exists(folder):
        return
    roles = {role.name: role.arn for role in inventory.roles.values()}
    for path in reader.json_files(folder, "<role-name>.json", _last_accessed_contents):
        role_arn = roles.get(path.stem)
        if role_arn is None:
            logger.warning("ignoring %s: no role named %s in the authorization details", reader.label(path), path.stem)
            continue
        inventory.last_accessed[role_arn] = transform_last_accessed(reader.read_object(path), role_arn=role_arn)


def _policy_file_contents(name: str) -> str:
    return (
        f"the output of `aws iam get-policy` and `aws iam get-policy-version` for policy {name}, "
        "combined as docs/snapshot-format.md shows"
    )


def _load_policy_folder(reader: SnapshotReader, policies_dir: Path, inventory: AccountInventory) -> int:
    if not reader.folder_exists(policies_dir):
        return 0
    added = 0
    for path in reader.json_files(policies_dir, "<policy-name>.json", _policy_file_contents):
        policy = transform_policy_file(reader.read_object(path), partition=reader.partition)
        if policy.arn in inventory.managed_policies:
            # The authorization details already contain this policy's default version.
            logger.debug("%s repeats %s; keeping the authorization-details copy", path.name, policy.arn)
            continue
        inventory.managed_policies[policy.arn] = policy
        added += 1
    return added
