"""CloudTrail: the trails that one account lists in one region, with their event selectors.

Reads `<region>/cloudtrail/trails.json` (`aws cloudtrail describe-trails`) and, per
trail, the optional `<region>/cloudtrail/<trail-name>/event-selectors.json`
(`aws cloudtrail get-event-selectors`).

`describe-trails` also lists multi-Region and organization trails created elsewhere,
so one trail can appear under several regions and accounts. Trails are keyed by ARN,
so each is recorded once per account.

Not read: trail status (whether logging is on), insight selectors, CloudTrail Lake
event data stores and the S3 buckets that receive the logs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.inventory import AccountInventory, Trail
from ingest.jsonfile import JsonObject, SnapshotReader

logger = logging.getLogger(__name__)


# ---- transform: JSON in, records out ----


def transform_trail_list(listing: JsonObject, *, partition: str) -> list[Trail]:
    """Build the trails in `describe-trails` output, with their selectors not yet known."""
    trails = []
    for item in listing.require_objects("trailList"):
        arn = item.require_arn("TrailARN", partition=partition)
        trails.append(
            Trail(
                arn=str(arn),
                name=item.require_str("Name"),
                # A trail belongs to the account in its ARN, which for an organization
                # trail is the management account, not the account that lists it.
                account=arn.account,
                home_region=item.require_str("HomeRegion"),
                is_multi_region=item.optional_bool("IsMultiRegionTrail", default=False),
                is_organization_trail=item.optional_bool("IsOrganizationTrail", default=False),
            )
        )
    return trails


def transform_event_selectors(trail: Trail, document: JsonObject) -> Trail:
    """Return the trail with the selectors from `get-event-selectors` output."""
    recorded = document.require_str("TrailARN")
    if recorded != trail.arn:
        recorded_name = recorded.rsplit("/", 1)[-1]
        raise document.error(
            "TrailARN",
            f"the selectors belong to {recorded}, not to {trail.arn}, whose folder the file is in; "
            f"move it to cloudtrail/{recorded_name}/event-selectors.json",
        )
    return dataclasses.replace(
        trail,
        event_selectors=_selector_dicts(document, "EventSelectors"),
        advanced_event_selectors=_selector_dicts(document, "AdvancedEventSelectors"),
        selectors_known=True,
    )


def _selector_dicts(document: JsonObject, key: str) -> tuple[Mapping[str, Any], ...]:
    return tuple(selector.data for selector in document.optional_objects(key))


# ---- load: read the files, transform, write into the account inventory ----


def load_cloudtrail(reader: SnapshotReader, folder: Path, inventory: AccountInventory, region: str) -> bool:
    """Load `<account>/<region>/cloudtrail/` and return whether `trails.json` exists."""
    listing_path = folder / "trails.json"
    listing_command = f"aws cloudtrail describe-trails --region {region} --output json"
    if not reader.file_exists(listing_path, listing_command):
        logger.warning(
            "%s is missing, so CloudTrail trails of account %s in %s are not loaded",
            reader.label(listing_path),
            inventory.account_id,
            region,
        )
        return False

    trails = transform_trail_list(reader.read_object(listing_path, listing_command), partition=reader.partition)
    for listed in trails:
        trail = listed
        trail_dir = folder / trail.name
        has_folder = reader.folder_exists(trail_dir)
        selectors_command = (
            f"aws cloudtrail get-event-selectors --trail-name {trail.arn} --region {region} --output json"
        )
        selectors = reader.read_optional(trail_dir / "event-selectors.json", selectors_command) if has_folder else None
        if selectors is not None:
            trail = transform_event_selectors(listed, selectors)
        known = inventory.trails.get(trail.arn)
        # The same trail listed from another region may already carry its selectors.
        if known is None or not known.selectors_known:
            inventory.trails[trail.arn] = trail
        if has_folder:
            # The analysis does not read status.json (`get-trail-status`) yet, so it is there for people.
            for path in reader.unknown_entries(trail_dir, {"event-selectors.json", "status.json"}):
                logger.warning("ignoring %s: not a file deputygraph reads", reader.label(path))

    known_names = {"trails.json", *(trail.name for trail in trails)}
    for path in reader.unknown_entries(folder, known_names):
        logger.warning("ignoring %s: not a trail listed in %s", reader.label(path), reader.label(listing_path))

    logger.info(
        "loaded CloudTrail for account %s in %s: %d trails",
        inventory.account_id,
        region,
        len(trails),
    )
    return True


def note_unknown_selectors(reader: SnapshotReader, inventory: AccountInventory) -> None:
    """Add a not-seen sentence for each trail of the account whose event selectors are absent."""
    for trail in inventory.trails.values():
        if not trail.selectors_known:
            reader.not_seen.append(
                f"no event-selectors.json for trail {trail.name} seen from account "
                f"{inventory.account_id}: whether it logs data events is unknown"
            )
