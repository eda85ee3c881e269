"""Build history shared by the Neo4j store and the embedded backend: ids, statuses and retention.

The module imports no database driver, so the command line can show the defaults in
--help without loading the Neo4j driver.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

DEFAULT_KEEP_BUILDS = 3
MAX_ERROR_LENGTH = 2000

# Build statuses. Records written before these names existed use `building` and `ready`.
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
REMOVED = "removed"  # a succeeded build whose nodes were deleted because newer builds are kept
LEGACY_STATUSES = {"building": RUNNING, "ready": SUCCEEDED}


def new_build_id() -> str:
    """Make a build id that sorts by start time: UTC time to the second, then 8 random hex digits."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def utc_now() -> str:
    """Return the current UTC time in ISO 8601, to the microsecond."""
    # Microseconds keep builds started within one second in the order they started.
    return datetime.now(UTC).isoformat(timespec="microseconds")
