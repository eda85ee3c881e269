"""The context of one collection step: the AWS caller for its scope, the writer and the run's log."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from ingest.collect.aws import AwsCaller, Outcome, Scope
from ingest.collect.gaps import CollectionLog, Gap
from ingest.collect.writer import StagingWriter, UnsafeName

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Context:
    """One account, or one account in one region, of a run."""

    caller: AwsCaller
    writer: StagingWriter
    partition: str

    @property
    def account(self) -> str:
        return self.caller.scope.account

    @property
    def region(self) -> str | None:
        return self.caller.scope.region

    @property
    def log(self) -> CollectionLog:
        return self.caller.log

    def in_region(self, region: str | None) -> Context:
        """Return the context of the same account in another region (None for global services)."""
        caller = AwsCaller(
            self.caller.factory,
            Scope(self.account, region),
            self.caller.log,
            self.caller.stop,
            home_region=self.caller.home_region,
        )
        return dataclasses.replace(self, caller=caller)

    def with_home_region(self, region: str) -> Context:
        """Return the context whose global calls go to `region`, such as a bucket's own region."""
        caller = AwsCaller(
            self.caller.factory, self.caller.scope, self.caller.log, self.caller.stop, home_region=region
        )
        return dataclasses.replace(self, caller=caller)

    def call(self, service: str, operation: str, **kwargs: Any) -> Outcome:
        return self.caller.call(service, operation, **kwargs)

    def paginate(self, service: str, operation: str, **kwargs: Any) -> Outcome:
        return self.caller.paginate(service, operation, **kwargs)

    def write(self, parts: tuple[str, ...], data: dict[str, Any] | None, *, service: str, operation: str) -> bool:
        """Write one file under the account folder (and the region folder, if any); return whether it was written.

        A name from AWS output that cannot be a path is recorded as a gap, not written.
        """
        if data is None:
            return False
        prefix = (self.account, self.region) if self.region else (self.account,)
        try:
            self.writer.write((*prefix, *parts), data)
        except UnsafeName as error:
            self.log.add_gap(
                Gap(
                    service=service,
                    operation=operation,
                    action=None,
                    cause="error",
                    error_code="UnsafeName",
                    message=str(error),
                    subject=f"{'/'.join(parts)}, whose name cannot be written",
                    account=self.account,
                    region=self.region,
                )
            )
            logger.warning("not written: %s", error)
            return False
        return True

    def make_folder(self, *parts: str) -> None:
        prefix = (self.account, self.region) if self.region else (self.account,)
        self.writer.make_folder((*prefix, *parts))
