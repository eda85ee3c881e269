"""CloudTrail: the trails that one account lists in one region, their event selectors and status.

`DescribeTrails` also lists multi-Region trails from other regions and organization
trails from the management account. Their selectors and status are requested once,
by trail ARN, in the trail's home region; the snapshot reader keys trails by ARN, so
one copy of the selectors serves every region that lists the trail.
"""

from __future__ import annotations

from ingest.collect.context import Context


def collect_cloudtrail(context: Context) -> None:
    """Collect `<region>/cloudtrail/`."""
    listing = context.call("cloudtrail", "DescribeTrails", subject="CloudTrail trails")
    if not listing.ok or listing.data is None:
        return
    context.write(("cloudtrail", "trails.json"), listing.data, service="cloudtrail", operation="DescribeTrails")
    trails = listing.data.get("trailList", [])
    context.log.count("cloudtrail", "trails", len(trails))

    for trail in trails:
        name, arn = trail["Name"], trail["TrailARN"]
        if trail.get("HomeRegion") != context.region:
            continue
        selectors = context.call(
            "cloudtrail",
            "GetEventSelectors",
            subject=f"the event selectors of trail {name}",
            resource=arn,
            TrailName=arn,
        )
        context.write(
            ("cloudtrail", name, "event-selectors.json"),
            selectors.data,
            service="cloudtrail",
            operation="GetEventSelectors",
        )
        status = context.call(
            "cloudtrail", "GetTrailStatus", subject=f"the logging status of trail {name}", resource=arn, Name=arn
        )
        context.write(
            ("cloudtrail", name, "status.json"), status.data, service="cloudtrail", operation="GetTrailStatus"
        )
