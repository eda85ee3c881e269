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

from engine.arn import is_account_id
from engine.inventory import Organization, OrgPolicy
from engine.policy import PolicyKind
from ingest.jsonfile import JsonObject, SnapshotReader, command_output

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

    management_account_id = details.require_account_id("MasterAccountId")
    parents = {child: _parent_id(document) for child, document in files.parents.items()}
    _check_parent_chains(parents, files.parents)
    if files.accounts is not None:
        account_ids = tuple(account.require_account_id("Id") for account in files.accounts.require_objects("Accounts"))
    else:
        account_ids = _accounts_in_tree(management_account_id, parents)
    policies = tuple(
        policy
        for policy in (transform_policy(item, partition=partition) for item in files.policies)
        if policy is not None
    )
    return Organization(
        organization_id=details.require_str("Id"),
        management_account_id=management_account_id,
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
            f"the file describes policy {policy_id} but is named {expected_id}.json; rename it to {policy_id}.json",
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


def _accounts_in_tree(management_account_id: str, parents: dict[str, str]) -> tuple[str, ...]:
    """Return the accounts known to be members without `accounts.json`.

    They are the management account and every account that a parents file places in
    the tree. Leaving them out would make org-wide conditions such as
    `aws:PrincipalOrgID` fail for them.
    """
    members = [management_account_id]
    members.extend(child for child in parents if is_account_id(child) and child != management_account_id)
    return tuple(members)


def _check_parent_chains(parents: dict[str, str], documents: dict[str, JsonObject]) -> None:
    """Raise SnapshotError when following parents from some child leads back into its own chain.

    Every chain must end at a root, which has no parents file. The error names the
    file whose parent closes the loop.
    """
    finished: set[str] = set()
    for start in parents:
        chain: list[str] = []
        seen: set[str] = set()
        node = start
        while node in parents and node not in finished:
            if node in seen:
                loop = [*chain[chain.index(node) :], node]
                raise documents[chain[-1]].error(
                    "Parents[0].Id",
                    f"the parent chain loops ({' -> '.join(loop)}); every chain must end at a root, so "
                    "save `aws organizations list-parents --child-id <id>` again for these ids",
                )
            chain.append(node)
            seen.add(node)
            node = parents[node]
        finished.update(chain)


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
    organization = reader.read_required(
        folder / "organization.json", "aws organizations describe-organization --output json"
    )
    roots = reader.read_optional(folder / "roots.json", "aws organizations list-roots --output json")
    accounts = reader.read_optional(folder / "accounts.json", "aws organizations list-accounts --output json")
    has_parents = reader.folder_exists(folder / "parents")
    has_policies = reader.folder_exists(folder / "policies")

    gaps = {
        "roots.json": (roots is not None, "the roots and the policy types enabled on them are unknown"),
        "accounts.json": (
            accounts is not None,
            "the member accounts are taken from organization.json and the parents files",
        ),
        "parents": (has_parents, "the OU tree is unknown, so policies attached to OUs and roots reach no account"),
        "policies": (has_policies, "SCPs and RCPs not analysed"),
    }
    for name, (present, consequence) in gaps.items():
        if not present:
            reader.not_seen.append(f"no organization/{name}: {consequence}")

    for path in reader.unknown_entries(folder, {"organization.json", *gaps}):
        logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    return OrganizationFiles(
        organization=organization,
        roots=roots,
        accounts=accounts,
        parents=_read_parents(reader, folder / "parents") if has_parents else {},
        policies=_read_policies(reader, folder / "policies") if has_policies else (),
    )


def _read_parents(reader: SnapshotReader, parents_dir: Path) -> dict[str, JsonObject]:
    files = reader.json_files(parents_dir, "<account-or-ou-id>.json", _list_parents_output)
    return {path.stem: reader.read_object(path) for path in files}


def _read_policies(reader: SnapshotReader, policies_dir: Path) -> tuple[PolicyFiles, ...]:
    policies = []
    for path in reader.list_folder(policies_dir, _describe_policy_output):
        if path.is_dir() and path.suffix != ".json":
            policy_path = policies_dir / f"{path.name}.json"
            if not reader.file_exists(policy_path, _describe_policy_command(path.name)):
                logger.warning(
                    "ignoring %s: %s is missing, so these targets belong to no policy",
                    reader.label(path),
                    reader.label(policy_path),
                )
            for extra in reader.unknown_entries(path, {"targets.json"}):
                logger.warning("ignoring %s: not a file deputygraph reads", reader.label(extra))
            continue
        if path.suffix != ".json":
            logger.warning("ignoring %s: expected <policy-id>.json", reader.label(path))
            continue
        policy_id = path.stem
        targets_dir = policies_dir / policy_id
        targets_command = f"aws organizations list-targets-for-policy --policy-id {policy_id} --output json"
        policies.append(
            PolicyFiles(
                policy=reader.read_object(path, _describe_policy_command(policy_id)),
                targets=(
                    reader.read_optional(targets_dir / "targets.json", targets_command)
                    if reader.folder_exists(targets_dir)
                    else None
                ),
            )
        )
    return tuple(policies)


def _list_parents_output(child_id: str) -> str:
    return command_output(f"aws organizations list-parents --child-id {child_id} --output json")


def _describe_policy_command(policy_id: str) -> str:
    return f"aws organizations describe-policy --policy-id {policy_id} --output json"


def _describe_policy_output(policy_id: str) -> str:
    return command_output(_describe_policy_command(policy_id))
