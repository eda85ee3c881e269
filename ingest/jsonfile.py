"""Reading snapshot JSON files, with typed field access that names the file and field at fault.

Every check raises `SnapshotError(file, message, field=...)`, where `file` is the path
relative to the snapshot root and `field` is a dotted path such as
`RoleDetailList[3].AssumeRolePolicyDocument`.
"""

from __future__ import annotations

import enum
import errno
import json
import logging
import os
import stat
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.arn import Arn, is_account_id, parse_arn
from engine.conditions import validate_conditions
from engine.errors import PolicyError, SnapshotError
from engine.policy import PolicyKind, PolicySource, parse_policy

logger = logging.getLogger(__name__)


def relative_label(root: Path, path: Path) -> str:
    """Return the path of a snapshot file relative to the snapshot root, with `/` separators."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


class EntryKind(enum.Enum):
    """Kind of a path in the snapshot folder, after following symbolic links."""

    ABSENT = "absent"
    FILE = "file"
    FOLDER = "folder"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Entry:
    """The kind of one path, with a phrase that completes "<path> ..." for kinds other than FILE.

    `fix` is set when the usual fix for the kind of path expected there does not apply,
    for example when the path cannot be accessed at all.
    """

    kind: EntryKind
    problem: str = ""
    fix: str | None = None


def inspect_entry(path: Path) -> Entry:
    """Classify `path` without opening it.

    A broken or looping symbolic link exists but cannot be followed, so it is OTHER, not
    ABSENT: treating it as absent would read, for example, a bucket's policy as "none".
    """
    try:
        os.lstat(path)
    except FileNotFoundError:
        return Entry(EntryKind.ABSENT)
    except OSError as error:
        return _inaccessible(error)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return Entry(EntryKind.OTHER, "is a symbolic link to a path that does not exist")
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Entry(EntryKind.OTHER, "is a symbolic link loop")
        return _inaccessible(error)
    return _entry_of_mode(mode)


def _inaccessible(error: OSError) -> Entry:
    if error.errno == errno.ENOTDIR:
        return Entry(
            EntryKind.OTHER,
            "cannot be reached because a folder on its path is a file",
            fix="replace that file with the folder that docs/snapshot-format.md describes",
        )
    return Entry(
        EntryKind.OTHER,
        f"cannot be accessed ({error.strerror})",
        fix="give the user running deputygraph read access to it",
    )


def _entry_of_mode(mode: int) -> Entry:
    if stat.S_ISREG(mode):
        return Entry(EntryKind.FILE)
    if stat.S_ISDIR(mode):
        return Entry(EntryKind.FOLDER, "is a directory")
    if stat.S_ISFIFO(mode):
        return Entry(EntryKind.OTHER, "is a named pipe (FIFO)")
    if stat.S_ISSOCK(mode):
        return Entry(EntryKind.OTHER, "is a socket")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Entry(EntryKind.OTHER, "is a device file")
    return Entry(EntryKind.OTHER, "is not a regular file")


def command_output(command: str | None) -> str:
    """Describe what belongs in a snapshot file, for the fix in an error message."""
    return f"the output of `{command}`" if command else "the saved AWS CLI output"


def not_a_file_error(label: str, entry: Entry, replacement: str) -> SnapshotError:
    """Build the SnapshotError for a path that exists where a JSON file belongs but is no regular file.

    `replacement` completes "replace it with ...", as `command_output` returns it.
    """
    if entry.fix is not None:
        return SnapshotError(label, f"{entry.problem}; {entry.fix}")
    return SnapshotError(label, f"{entry.problem}, not a JSON file; replace it with {replacement}")


def read_json(root: Path, path: Path, replacement: str = command_output(None)) -> Any:
    """Read and decode one snapshot file. Raise SnapshotError if it is unreadable or not JSON.

    The file must be a regular file or a symbolic link to one. Anything else is rejected
    before it is opened, so that a FIFO cannot block the load waiting for a writer.
    `replacement` completes "replace it with ..." in the error for such a path.
    """
    label = relative_label(root, path)
    entry = inspect_entry(path)
    if entry.kind is EntryKind.ABSENT:
        raise SnapshotError(label, "file not found; save the AWS CLI output to it")
    if entry.kind is not EntryKind.FILE:
        raise not_a_file_error(label, entry, replacement)
    try:
        data = _read_regular_file(path)
    except OSError as error:
        raise SnapshotError(
            label, f"cannot read file ({error.strerror}); check that it is a readable regular file"
        ) from error
    if data is None:
        # The path was replaced by something else between the check above and the open.
        raise not_a_file_error(label, inspect_entry(path), replacement)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SnapshotError(label, f"file is not UTF-8 text ({error}); save the AWS CLI output as UTF-8") from error
    try:
        return decode_json(text)
    except InvalidJson as error:
        raise SnapshotError(
            label,
            f"invalid JSON {error}; save the file again as JSON, for AWS CLI output with --output json",
        ) from error


def _read_regular_file(path: Path) -> bytes | None:
    """Return the bytes of `path`, or None when the opened file is not a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read()


class InvalidJson(ValueError):
    """JSON text that cannot be decoded. The message starts with where or why, for "invalid JSON ..."."""


def decode_json(text: str) -> Any:
    """Decode JSON text. Raise InvalidJson for text that Python's decoder rejects or cannot hold.

    Besides syntax errors, the decoder raises RecursionError for deeply nested values and
    ValueError for integers longer than `sys.get_int_max_str_digits()` digits. AWS CLI
    output contains neither, so both are reported as invalid JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidJson(f"at line {error.lineno} column {error.colno} ({error.msg})") from error
    except RecursionError as error:
        raise InvalidJson(
            f"(values nested more deeply than Python's recursion limit of {sys.getrecursionlimit()} allows)"
        ) from error
    except ValueError as error:
        # json.loads raises a plain ValueError only when int() rejects a long digit string.
        raise InvalidJson(
            f"(a number has more than {sys.get_int_max_str_digits()} digits, the maximum Python converts)"
        ) from error


@dataclass(frozen=True, slots=True)
class SnapshotReader:
    """The snapshot folder being loaded, the partition its ARNs must be in, and its gaps.

    Loaders append to `not_seen` one sentence for each part of the snapshot that is
    absent, so that `Snapshot.not_seen` can tell the analyst what was not analysed.
    """

    root: Path
    partition: str
    not_seen: list[str] = field(default_factory=list)

    def label(self, path: Path) -> str:
        """Return `path` relative to the snapshot root, as errors and logs show it."""
        return relative_label(self.root, path)

    def read_object(self, path: Path, command: str | None = None) -> JsonObject:
        """Read a snapshot file whose top level must be a JSON object.

        `command` is the AWS CLI call that writes the file, which errors name as the fix.
        """
        return JsonObject.top_level(read_json(self.root, path, command_output(command)), self.label(path))

    def file_exists(self, path: Path, command: str) -> bool:
        """Return whether a regular file (or a symbolic link to one) is at `path`.

        Return False when nothing is there. Raise SnapshotError when something else is
        there, such as a folder, a FIFO or a broken or looping symbolic link, because
        reading it as absent could turn "unreadable" into "no policy".
        """
        entry = inspect_entry(path)
        if entry.kind is EntryKind.ABSENT:
            return False
        if entry.kind is not EntryKind.FILE:
            raise not_a_file_error(self.label(path), entry, command_output(command))
        return True

    def folder_exists(self, path: Path) -> bool:
        """Return whether a folder is at `path`, and False when nothing is there.

        Raise SnapshotError when a file or anything else is there, because the folder's
        contents would otherwise be read as absent.
        """
        entry = inspect_entry(path)
        if entry.kind is EntryKind.ABSENT:
            return False
        if entry.kind is EntryKind.FOLDER:
            return True
        if entry.fix is not None:
            raise SnapshotError(self.label(path), f"{entry.problem}; {entry.fix}")
        problem = "is a regular file" if entry.kind is EntryKind.FILE else entry.problem
        raise SnapshotError(
            self.label(path),
            f"{problem}, not a folder; replace it with the folder that docs/snapshot-format.md describes",
        )

    def read_optional(self, path: Path, command: str) -> JsonObject | None:
        """Read an optional file, or return None when nothing is at `path`."""
        return self.read_object(path, command) if self.file_exists(path, command) else None

    def read_required(self, path: Path, command: str) -> JsonObject:
        """Read a file that must exist. Raise SnapshotError naming `command` when it does not."""
        if not self.file_exists(path, command):
            raise self.missing_file(path, command)
        return self.read_object(path, command)

    def list_folder(self, folder: Path, replacement_for: Callable[[str], str] | None = None) -> list[Path]:
        """Return the entries of `folder`, sorted by name.

        Raise SnapshotError when the folder cannot be listed. Also raise it for an entry
        that is neither a file nor a folder, such as a FIFO or a broken symbolic link,
        because such an entry may be where a snapshot file belongs.
        `replacement_for` maps the name of a `*.json` entry without `.json` to what
        belongs in that file, as `command_output` describes it, for the error message.
        """
        entries = self._entries(folder)
        for path in entries:
            self._check_entry(path, replacement_for)
        return entries

    def json_files(self, folder: Path, expected: str, replacement_for: Callable[[str], str]) -> list[Path]:
        """Return the `*.json` files in `folder`, warning about and skipping any other entry.

        `expected` names the files in the warning, such as `<action-group-id>.json`. An
        entry named `*.json` that is a folder raises SnapshotError, like any other path
        that is not a regular file where a JSON file belongs.
        """
        files = []
        for path in self.list_folder(folder, replacement_for):
            if path.suffix != ".json":
                logger.warning("ignoring %s: expected %s files only", self.label(path), expected)
                continue
            if not path.is_file():
                raise not_a_file_error(self.label(path), inspect_entry(path), replacement_for(path.stem))
            files.append(path)
        return files

    def unknown_entries(self, folder: Path, known: set[str]) -> list[Path]:
        """Return the entries of `folder` whose names are not in `known`, sorted.

        Only these entries are checked as `list_folder` checks them. The caller checks the
        known entries itself, with an error message that fits each of them.
        """
        unknown = [path for path in self._entries(folder) if path.name not in known]
        for path in unknown:
            self._check_entry(path, None)
        return unknown

    def _entries(self, folder: Path) -> list[Path]:
        try:
            return sorted(folder.iterdir())
        except OSError as error:
            raise SnapshotError(
                self.label(folder),
                f"cannot list the folder ({error.strerror}); give the user running deputygraph read access to it",
            ) from error

    def _check_entry(self, path: Path, replacement_for: Callable[[str], str] | None) -> None:
        entry = inspect_entry(path)
        if entry.kind is not EntryKind.OTHER:
            return
        if entry.fix is not None:
            raise SnapshotError(self.label(path), f"{entry.problem}; {entry.fix}")
        if path.suffix == ".json":
            replacement = replacement_for(path.stem) if replacement_for else command_output(None)
            raise not_a_file_error(self.label(path), entry, replacement)
        raise SnapshotError(
            self.label(path),
            f"{entry.problem}; replace it with the file or folder that docs/snapshot-format.md describes, or remove it",
        )

    def missing_file(self, path: Path, command: str) -> SnapshotError:
        """Build the SnapshotError for an absent required file, naming the command that writes it."""
        return SnapshotError(self.label(path), f"required file is missing; write the output of `{command}` to it")


class JsonObject:
    """One JSON object from a snapshot file, with accessors that check field types.

    `file` is the snapshot-relative path and `prefix` the dotted path of this object
    inside the file ("" for the top level). Required accessors raise SnapshotError
    when the field is missing or null; optional ones return None (or the default)
    for both.
    """

    __slots__ = ("data", "file", "prefix")

    def __init__(self, data: dict[str, Any], file: str, prefix: str = "") -> None:
        self.data = data
        self.file = file
        self.prefix = prefix

    @classmethod
    def top_level(cls, value: Any, file: str) -> JsonObject:
        """Wrap a decoded file. Raise SnapshotError unless its top level is an object."""
        if not isinstance(value, dict):
            raise SnapshotError(
                file,
                f"expected a JSON object at the top level, got {_type_name(value)}; save the AWS CLI output unchanged",
            )
        return cls(value, file)

    def field(self, key: str) -> str:
        """Return the dotted path of `key` inside this file."""
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str | None, message: str) -> SnapshotError:
        """Build a SnapshotError for `key` of this object, or for the object itself when key is None."""
        if key is None:
            return SnapshotError(self.file, message, field=self.prefix or None)
        return SnapshotError(self.file, message, field=self.field(key))

    def _wrong_type(self, key: str, expected: str, value: Any) -> SnapshotError:
        return self.error(
            key,
            f"expected {expected}, got {_type_name(value)}; save the command output unchanged "
            "(docs/snapshot-format.md gives the shape of each file)",
        )

    def _missing(self, key: str) -> SnapshotError:
        if key in self.data:
            return self.error(
                key,
                "required field is null; the AWS CLI always gives it a value, so save its full, unmodified output",
            )
        return self.error(
            key,
            "required field is missing; save the full, unmodified output of the AWS CLI call",
        )

    def _get(self, key: str, *, required: bool) -> Any:
        value = self.data.get(key)
        if value is None and required:
            raise self._missing(key)
        return value

    def require_str(self, key: str) -> str:
        value = self._get(key, required=True)
        if not isinstance(value, str):
            raise self._wrong_type(key, "a string", value)
        return value

    def optional_str(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, str):
            raise self._wrong_type(key, "a string", value)
        return value

    def require_bool(self, key: str) -> bool:
        value = self._get(key, required=True)
        if not isinstance(value, bool):
            raise self._wrong_type(key, "true or false", value)
        return value

    def optional_bool(self, key: str, default: bool) -> bool:
        value = self._get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._wrong_type(key, "true or false", value)
        return value

    def optional_int(self, key: str) -> int | None:
        value = self._get(key, required=False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._wrong_type(key, "an integer", value)
        return value

    def require_object(self, key: str) -> JsonObject:
        value = self._get(key, required=True)
        if not isinstance(value, dict):
            raise self._wrong_type(key, "an object", value)
        return JsonObject(value, self.file, self.field(key))

    def optional_object(self, key: str) -> JsonObject | None:
        value = self._get(key, required=False)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._wrong_type(key, "an object", value)
        return JsonObject(value, self.file, self.field(key))

    def _list(self, key: str, *, required: bool) -> list[Any]:
        value = self._get(key, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong_type(key, "a list", value)
        return value

    def require_objects(self, key: str) -> list[JsonObject]:
        """Return the elements of a required list of objects, each with its index in the field path."""
        return self._objects(key, required=True)

    def optional_objects(self, key: str) -> list[JsonObject]:
        """Like `require_objects`, but a missing list is empty."""
        return self._objects(key, required=False)

    def _objects(self, key: str, *, required: bool) -> list[JsonObject]:
        objects = []
        for index, value in enumerate(self._list(key, required=required)):
            item_key = f"{key}[{index}]"
            if not isinstance(value, dict):
                raise self._wrong_type(item_key, "an object", value)
            objects.append(JsonObject(value, self.file, self.field(item_key)))
        return objects

    def optional_strings(self, key: str) -> tuple[str, ...]:
        """Return a list of strings as a tuple. A missing list is empty."""
        values = self._list(key, required=False)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self._wrong_type(f"{key}[{index}]", "a string", value)
        return tuple(values)

    def require_tags(self, key: str) -> dict[str, str]:
        """Return a required AWS tag list (`[{"Key": ..., "Value": ...}]`) as a dict."""
        return self._tags(key, required=True)

    def optional_tags(self, key: str) -> dict[str, str]:
        """Like `require_tags`, but a missing list is empty."""
        return self._tags(key, required=False)

    def _tags(self, key: str, *, required: bool) -> dict[str, str]:
        return {tag.require_str("Key"): tag.require_str("Value") for tag in self._objects(key, required=required)}

    def require_arn(self, key: str, *, partition: str) -> Arn:
        """Parse an ARN field and check that its partition is the snapshot's."""
        text = self.require_str(key)
        try:
            arn = parse_arn(text)
        except ValueError as error:
            raise self.error(key, str(error)) from error
        if arn.partition != partition:
            raise self.error(
                key,
                f"ARN {text!r} is in partition {arn.partition!r} but the snapshot partition is "
                f'{partition!r}; set "partition" in manifest.json to the partition the data '
                "was collected from",
            )
        return arn

    def require_role_arn(self, key: str, *, partition: str) -> Arn:
        """Parse a required IAM role ARN, `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`."""
        arn = self.require_arn(key, partition=partition)
        if not is_role_arn(arn):
            raise self._wrong_arn(key, arn, f"an IAM role ARN (arn:{partition}:iam::ACCOUNT:role/NAME)")
        return arn

    def optional_role_arn(self, key: str, *, partition: str) -> Arn | None:
        """Like `require_role_arn`, but a missing field is None."""
        if self._get(key, required=False) is None:
            return None
        return self.require_role_arn(key, partition=partition)

    def require_function_arn(self, key: str, *, partition: str) -> Arn:
        """Parse a Lambda function ARN, which may carry a version or alias qualifier.

        The forms are `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME` and
        `...:function:NAME:QUALIFIER`.
        """
        arn = self.require_arn(key, partition=partition)
        if not is_function_arn(arn):
            raise self._wrong_arn(
                key,
                arn,
                f"a Lambda function ARN (arn:{partition}:lambda:REGION:ACCOUNT:function:NAME, "
                "optionally followed by :VERSION or :ALIAS)",
            )
        return arn

    def require_bucket_arn(self, key: str, *, partition: str) -> Arn:
        """Parse an S3 bucket ARN, `arn:PARTITION:s3:::NAME`, which has no region and no account."""
        arn = self.require_arn(key, partition=partition)
        if not is_bucket_arn(arn):
            raise self._wrong_arn(key, arn, f"an S3 bucket ARN (arn:{partition}:s3:::BUCKET)")
        return arn

    def require_account_id(self, key: str) -> str:
        """Return a required 12-digit AWS account id."""
        value = self.require_str(key)
        if not is_account_id(value):
            raise self.error(
                key,
                f"{value!r} is not an AWS account id (12 digits); save the unmodified AWS CLI output",
            )
        return value

    def _not_json(self, key: str, error: InvalidJson) -> SnapshotError:
        return self.error(
            key,
            f"policy document is neither JSON nor URL-encoded JSON, and decoding it failed {error}; "
            "save the AWS CLI output unchanged",
        )

    def _wrong_arn(self, key: str, arn: Arn, expected: str) -> SnapshotError:
        return self.error(key, f"{str(arn)!r} is not {expected}; save the unmodified AWS CLI output")

    def require_policy(self, key: str, *, kind: PolicyKind, policy_id: str, name: str) -> dict[str, Any]:
        """Decode and validate a policy document field, and return it as a dict.

        AWS returns policy documents as JSON objects, as JSON strings (S3, Lambda,
        Organizations) or as URL-encoded JSON strings (the IAM API). All three are
        accepted. The document is parsed with `engine.policy.parse_policy`, and the
        `Condition` block of each statement is checked with
        `engine.conditions.validate_conditions`, only to validate it. The raw dict is
        returned.
        """
        value = self._get(key, required=True)
        document = self._decode_policy(key, value)
        try:
            policy = parse_policy(document, PolicySource(kind=kind, policy_id=policy_id, name=name))
            for statement in policy.statements:
                try:
                    validate_conditions(statement.conditions)
                except PolicyError as error:
                    raise PolicyError(f"{statement.ref}: Condition: {error}") from error
        except PolicyError as error:
            raise self.error(key, f"invalid policy document: {error}; fix the policy or collect it again") from error
        except RecursionError as error:
            # Formatting an error that shows a value nested close to the decoder's limit
            # recurses about as deeply as decoding it did.
            raise self.error(
                key, "invalid policy document: values are nested too deeply; fix the policy or collect it again"
            ) from error
        return document

    def _decode_policy(self, key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise self._wrong_type(key, "a policy document (an object or a JSON string)", value)
        try:
            decoded = decode_json(value)
        except InvalidJson as error:
            if "%" not in value:
                raise self._not_json(key, error) from error
            try:
                decoded = decode_json(urllib.parse.unquote(value))
            except InvalidJson as unquoted_error:
                raise self._not_json(key, unquoted_error) from unquoted_error
        if not isinstance(decoded, dict):
            raise self._wrong_type(key, "a policy document that decodes to an object", decoded)
        return decoded


def is_role_arn(arn: Arn) -> bool:
    """Return whether `arn` names an IAM role: service iam, no region, an account id and `role/.../NAME`."""
    return (
        arn.service == "iam"
        and arn.region == ""
        and is_account_id(arn.account)
        and arn.resource.startswith("role/")
        and not arn.resource.endswith("/")
    )


def is_function_arn(arn: Arn) -> bool:
    """Return whether `arn` names a Lambda function, unqualified or with one version or alias qualifier."""
    parts = arn.resource.split(":")
    return (
        arn.service == "lambda"
        and arn.region != ""
        and is_account_id(arn.account)
        and parts[0] == "function"
        and len(parts) in (2, 3)
        and all(parts[1:])
    )


def is_bucket_arn(arn: Arn) -> bool:
    """Return whether `arn` names an S3 bucket, not an object: `arn:PARTITION:s3:::NAME`."""
    return (
        arn.service == "s3"
        and arn.region == ""
        and arn.account == ""
        and arn.resource not in ("", "*")
        and ("/" not in arn.resource)
    )
