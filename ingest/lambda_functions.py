"""Lambda: the functions of one account in one region, with their resource-based policies.

Reads `<region>/lambda/functions.json` (`aws lambda list-functions`) and, per function,
the optional `<region>/lambda/<function>/policy.json` (`aws lambda get-policy`).
`get-policy` fails when a function has no policy, so a missing file means none.
Statements added with `AddPermission` and full resource-based policies arrive in the
same `Policy` JSON string, so both are read the same way.

Not read: published versions and aliases of functions, layers, function URLs'
auth type and event source mappings.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from engine.inventory import AccountInventory, LambdaFunction
from engine.policy import PolicyKind
from ingest.jsonfile import JsonObject, SnapshotReader

logger = logging.getLogger(__name__)


# ---- transform: JSON in, records out ----


def transform_function_list(listing: JsonObject, *, account: str, region: str, partition: str) -> list[LambdaFunction]:
    """Build the functions in `list-functions` output, each still without its policy."""
    functions = []
    for item in listing.require_objects("Functions"):
        arn = item.require_function_arn("FunctionArn", partition=partition)
        if arn.account != account or arn.region != region:
            raise item.error(
                "FunctionArn",
                f"function ARN is in account {arn.account} and region {arn.region}, but the file "
                f"is in the folder of account {account} and region {region}; move the function's "
                f"entry to {arn.account}/{arn.region}/lambda/functions.json",
            )
        name = item.require_str("FunctionName")
        if arn.resource.split(":")[1] != name:
            raise item.error(
                "FunctionArn",
                f"{str(arn)!r} is not the ARN of function {name!r}; save the unmodified AWS CLI output",
            )
        functions.append(
            LambdaFunction(
                arn=str(arn),
                name=name,
                account=account,
                region=region,
                role_arn=str(item.require_role_arn("Role", partition=partition)),
                runtime=item.optional_str("Runtime"),
            )
        )
    return functions


def transform_function_policy(function: LambdaFunction, policy: JsonObject) -> LambdaFunction:
    """Return the function with the resource-based policy from `get-policy` output."""
    document = policy.require_policy("Policy", kind=PolicyKind.RESOURCE, policy_id=function.arn, name=function.name)
    return dataclasses.replace(function, policy=document)


# ---- load: read the files, transform, write into the account inventory ----


def load_lambda(reader: SnapshotReader, lambda_dir: Path, inventory: AccountInventory, region: str) -> bool:
    """Load `<account>/<region>/lambda/` and return whether `functions.json` exists."""
    listing_path = lambda_dir / "functions.json"
    listing_command = f"aws lambda list-functions --region {region} --output json"
    if not reader.file_exists(listing_path, listing_command):
        logger.warning(
            "%s is missing, so Lambda functions of account %s in %s are not loaded",
            reader.label(listing_path),
            inventory.account_id,
            region,
        )
        return False

    functions = transform_function_list(
        reader.read_object(listing_path, listing_command),
        account=inventory.account_id,
        region=region,
        partition=reader.partition,
    )
    with_policy = 0
    for listed in functions:
        function = listed
        function_dir = lambda_dir / function.name
        has_folder = reader.folder_exists(function_dir)
        policy_command = f"aws lambda get-policy --function-name {function.name} --region {region} --output json"
        policy = reader.read_optional(function_dir / "policy.json", policy_command) if has_folder else None
        if policy is not None:
            function = transform_function_policy(listed, policy)
            with_policy += 1
        inventory.functions[function.arn] = function
        if has_folder:
            for path in reader.unknown_entries(function_dir, {"policy.json"}):
                logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    known = {"functions.json", *(function.name for function in functions)}
    for path in reader.unknown_entries(lambda_dir, known):
        logger.warning(
            "ignoring %s: not a function listed in %s",
            reader.label(path),
            reader.label(listing_path),
        )

    logger.info(
        "loaded Lambda for account %s in %s: %d functions, %d with a resource-based policy",
        inventory.account_id,
        region,
        len(functions),
        with_policy,
    )
    return True
