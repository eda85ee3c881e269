"""Reading snapshot JSON files, with typed field access that names the file and field at fault.

Every check raises `SnapshotError(file, message, field=...)`, where `file` is the path
relative to the snapshot root and `field` is a dotted path such as
`RoleDetailList[3].AssumeRolePolicyDocument`.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.arn import Arn, parse_arn
from engine.errors import PolicyError, SnapshotError
from engine.policy import PolicyKind, PolicySource, parse_policy


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


def read_json(root: Path, path: Path) -> Any:
    """Read and decode one snapshot file. Raise SnapshotError if it is unreadable or not JSON."""
    label = relative_label(root, path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SnapshotError(label, f"file is not UTF-8 text ({error}); save the AWS CLI output as UTF-8") from error
    except OSError as error:
        raise SnapshotError(
            label, f"cannot read file ({error.strerror}); check that it is a readable regular file"
        ) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SnapshotError(
            label,
            f"invalid JSON at line {error.lineno} column {error.colno} ({error.msg}); "
            "save the file again as JSON, for AWS CLI output with --output json",
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

    def read_object(self, path: Path) -> JsonObject:
        """Read a snapshot file whose top level must be a JSON object."""
        return JsonObject.top_level(read_json(self.root, path), self.label(path))

    def unknown_entries(self, folder: Path, known: set[str]) -> list[Path]:
        """Return the entries of `folder` whose names are not in `known`, sorted."""
        return [path for path in sorted(folder.iterdir()) if path.name not in known]

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

    def require_policy(self, key: str, *, kind: PolicyKind, policy_id: str, name: str) -> dict[str, Any]:
        """Decode and validate a policy document field, and return it as a dict.

        AWS returns policy documents as JSON objects, as JSON strings (S3, Lambda,
        Organizations) or as URL-encoded JSON strings (the IAM API). All three are
        accepted. The document is parsed with `engine.policy.parse_policy` only to
        validate it; the raw dict is returned.
        """
        value = self._get(key, required=True)
        document = self._decode_policy(key, value)
        try:
            parse_policy(document, PolicySource(kind=kind, policy_id=policy_id, name=name))
        except PolicyError as error:
            raise self.error(key, f"invalid policy document: {error}; fix the policy or collect it again") from error
        return document

    def _decode_policy(self, key: str, value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise self._wrong_type(key, "a policy document (an object or a JSON string)", value)
        decoded = _loads_or_missing(value)
        if decoded is _NOT_JSON and "%" in value:
            decoded = _loads_or_missing(urllib.parse.unquote(value))
        if decoded is _NOT_JSON:
            raise self.error(
                key,
                "policy document is neither JSON nor URL-encoded JSON; save the AWS CLI output unchanged",
            )
        if not isinstance(decoded, dict):
            raise self._wrong_type(key, "a policy document that decodes to an object", decoded)
        return decoded


_NOT_JSON = object()


def _loads_or_missing(text: str) -> Any:
    """Decode JSON text, or return the `_NOT_JSON` marker when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return _NOT_JSON
