"""Exceptions raised by deputygraph.

DeputyError
 +-- SnapshotError     a snapshot file is unreadable, not JSON, or in the wrong shape
 +-- UsageError        a command-line value is invalid (bad ARN, unknown option value)
 +-- PolicyError       a policy document breaks the IAM policy grammar
"""

from __future__ import annotations


class DeputyError(Exception):
    """Base class for errors that the command line reports in one line with exit code 2."""


class SnapshotError(DeputyError):
    """A snapshot file that cannot be used, with the file and field at fault."""

    def __init__(self, path: str, message: str, *, field: str | None = None) -> None:
        self.path = path
        self.field = field
        self.message = message
        where = f"{path}: field {field!r}" if field else path
        super().__init__(f"{where}: {message}")


class UsageError(DeputyError):
    """A command-line argument with an invalid value."""


class PolicyError(DeputyError):
    """A policy document that breaks the IAM policy grammar."""
