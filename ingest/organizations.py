"""AWS Organizations: the OU tree, and the SCPs and RCPs with the targets they are attached to.

Reads, under `organization/`: `organization.json` (`describe-organization`, required
when the folder exists), `roots.json` (`list-roots`), `accounts.json`
(`list-accounts`), `parents/<account-or-ou-id>.json` (`list-parents`),
`policies/<policy-id>.json` (`describe-policy`) and
`policies/<policy-id>/targets.json` (`list-targets-for-policy`).

The policy types enabled in the organization come from the roots' `PolicyTypes`,
because AWS documents `describe-organization`'s `AvailablePolicyTypes` as deprecated.

Not read: tag, backup, AI opt-out and declarative policies, delegated
administrators and the organization's resource policy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from engine.inventory import Organization, OrgPolicy
from engine.policy import PolicyKind
from ingest.jsonfile import JsonObject, SnapshotReader

logger = logging.getLogger(__name__)

# The Organizations policy types whose content is an IAM policy document.
POLICY_KINDS = {
    "SERVICE_CONTROL_POLICY": PolicyKind.SCP,
    "RESOURCE_CONTROL_POLICY": PolicyKind.RCP,
}


@dataclass(frozen=True, slots=True)
class PolicyFiles:
    """One `describe-policy` file and its `targets.json`, if present."""

    policy: JsonObject
    targets: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class OrganizationFiles:
    """The decoded files of the `organization/` folder, with parents keyed by child id."""

    organization: JsonObject
    roots: JsonObject | None = None
    accounts: JsonObject | None = None
    parents: dict[str, JsonObject] = field(default_factory=dict)
    policies: tuple[PolicyFiles, ...] = ()


# ---- transform: JSON in, records out ----


def transform_organization(files: OrganizationFiles, *, partition: str) -> Organization:
    """Build the organization record, leaving out policies of types other than SCP and RCP."""
    details = files.organization.require_object("Organization")

    root_ids: tuple[str, ...] = ()
    enabled: set[str] = set()
    if files.roots is not None:
        roots = files.roots.require_objects("Roots")
        root_ids = tuple(root.require_str("Id") for root in roots)
        for root in roots:
            enabled.update(
                policy_type.require_str("Type")
                for policy_type in root.optional_objects("PolicyTypes")
                if policy_type.optional_str("Status") == "ENABLED"
            )

    account_ids: tuple[str, ...] = ()
    if files.accounts is not None:
        account_ids = tuple(account.require_str("Id") for account in files.accounts.require_objects("Accounts"))

    parents = {child: _parent_id(document) for child, document in files.parents.items()}
    policies = tuple(
        policy
        for policy in (transform_policy(item, partition=partition) for item in files.policies)
        if policy is not None
    )
    return Organization(
        organization_id=details.require_str("Id"),
        management_account_id=details.require_str("MasterAccountId"),
        root_ids=root_ids,
        account_ids=account_ids,
        parents=parents,
        policies=policies,
        enabled_policy_types=frozenset(enabled),
    )


def transform_policy(files: PolicyFiles, *, partition: str) -> OrgPolicy | None:
    """Build one SCP or RCP from `describe-policy` output, or return None for other types."""
    policy = files.policy.require_object("Policy")
    summary = policy.require_object("PolicySummary")
    policy_id = summary.require_str("Id")
    expected_id = Path(files.policy.file).stem
    if policy_id != expected_id:
        raise summary.error(
            "Id",
            f"{policy_id!r} does not match the file name {expected_id!r}; name the file <policy-id>.json",
        )
    policy_type = summary.require_str("Type")
    kind = POLICY_KINDS.get(policy_type)
    if kind is None:
        return None

    arn = summary.require_arn("Arn", partition=partition)
    name = summary.require_str("Name")
    document = policy.require_policy("Content", kind=kind, policy_id=str(arn), name=name)
    target_ids: tuple[str, ...] = ()
    if files.targets is not None:
        target_ids = tuple(target.require_str("TargetId") for target in files.targets.require_objects("Targets"))
    return OrgPolicy(
        policy_id=policy_id,
        arn=str(arn),
        name=name,
        policy_type=policy_type,
        document=document,
        aws_managed=summary.optional_bool("AwsManaged", default=False),
        target_ids=target_ids,
    )


def _parent_id(document: JsonObject) -> str:
    parents = document.require_objects("Parents")
    if len(parents) != 1:
        raise document.error(
            "Parents",
            f"expected exactly one parent, found {len(parents)}; an account or OU has one "
            "parent, and a root needs no parents file",
        )
    return parents[0].require_str("Id")


# ---- load: read the files, transform ----


def load_organization(reader: SnapshotReader, folder: Path) -> Organization:
    """Load `organization/` and add a not-seen sentence for each optional part that is absent."""
    files = _read_organization_folder(reader, folder)
    organization = transform_organization(files, partition=reader.partition)

    loaded_ids = {policy.policy_id for policy in organization.policies}
    for item in files.policies:
        policy_id = Path(item.policy.file).stem
        if policy_id not in loaded_ids:
            logger.warning(
                "ignoring %s: only service control and resource control policies are analysed",
                item.policy.file,
            )
        elif item.targets is None:
            reader.not_seen.append(
                f"no targets.json for organization policy {policy_id}: where it is attached "
                "is unknown, so it is applied nowhere"
            )

    logger.info(
        "loaded organization %s: %d roots, %d accounts, %d parent links, %d SCPs and RCPs",
        organization.organization_id,
        len(organization.root_ids),
        len(organization.account_ids),
        len(organization.parents),
        len(organization.policies),
    )
    return organization


def _read_organization_folder(reader: SnapshotReader, folder: Path) -> OrganizationFiles:
    organization_path = folder / "organization.json"
    if not organization_path.is_file():
        raise reader.missing_file(organization_path, "aws organizations describe-organization --output json")
    organization = reader.read_object(organization_path)

    gaps = {
        "roots.json": "the roots and the policy types enabled on them are unknown",
        "accounts.json": "the member accounts are unknown",
        "parents": "the OU tree is unknown, so policies attached to OUs and roots reach no account",
        "policies": "SCPs and RCPs not analysed",
    }
    for name, consequence in gaps.items():
        if not (folder / name).exists():
            reader.not_seen.append(f"no organization/{name}: {consequence}")

    for path in reader.unknown_entries(folder, {"organization.json", *gaps}):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    return OrganizationFiles(
        organization=organization,
        roots=_read_optional(reader, folder / "roots.json"),
        accounts=_read_optional(reader, folder / "accounts.json"),
        parents=_read_parents(reader, folder / "parents"),
        policies=_read_policies(reader, folder / "policies"),
    )


def _read_parents(reader: SnapshotReader, parents_dir: Path) -> dict[str, JsonObject]:
    parents: dict[str, JsonObject] = {}
    if not parents_dir.is_dir():
        return parents
    for path in sorted(parents_dir.iterdir()):
        if not (path.is_file() and path.suffix == ".json"):
            logger.warning("ignoring %s: expected <account-or-ou-id>.json", reader.label(path))
            continue
        parents[path.stem] = reader.read_object(path)
    return parents


def _read_policies(reader: SnapshotReader, policies_dir: Path) -> tuple[PolicyFiles, ...]:
    if not policies_dir.is_dir():
        return ()
    policies = []
    for path in sorted(policies_dir.iterdir()):
        if path.is_dir():
            if not (policies_dir / f"{path.name}.json").is_file():
                logger.warning("ignoring %s: no %s.json beside it", reader.label(path), path.name)
            for extra in reader.unknown_entries(path, {"targets.json"}):
                logger.warning("ignoring %s: not a file deputygraph reads", reader.label(extra))
            continue
        if path.suffix != ".json":
            logger.warning("ignoring %s: expected <policy-id>.json", reader.label(path))
            continue
        policies.append(
            PolicyFiles(
                policy=reader.read_object(path),
                targets=_read_optional(reader, policies_dir / path.stem / "targets.json"),
            )
        )
    return tuple(policies)


def _read_optional(reader: SnapshotReader, path: Path) -> JsonObject | None:
    return reader.read_object(path) if path.is_file() else None
