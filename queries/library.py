"""The Cypher query library: one `.cypher` file per question in `queries/cypher/`.

Each file opens with a comment block: a summary of what it answers, then one line per
parameter in the form `// @param NAME TYPE[=DEFAULT] DESCRIPTION`, where TYPE is
`string`, `boolean`, `integer` or `node`. A `node` value is the id of a graph node: an ARN,
or `vpc-api:ACCOUNT:REGION:SERVICE:ACTION` for a VpcApi node. User input reaches a query
only as parameters; no query text is ever built from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from engine.arn import is_arn
from engine.errors import UsageError

CYPHER_DIR = Path(__file__).resolve().parent / "cypher"
_PARAM = re.compile(r"^//\s*@param\s+(\w+)\s+(string|boolean|integer|node)(?:=(\S*))?\s+(.*)$")
CURRENT_BUILD_MATCH = "MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)"
PINNED_BUILD_MATCH = "MATCH (build:DeputyBuild {id: $build_id})"
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str
    default: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Query:
    """One named query: its summary, parameters and Cypher text."""

    name: str
    summary: str
    parameters: tuple[Parameter, ...]
    text: str

    def bind(self, given: dict[str, str]) -> dict[str, Any]:
        """Typed parameter values from `KEY=VALUE` strings, with defaults; raise UsageError."""
        known = {parameter.name for parameter in self.parameters}
        for key in given:
            if key not in known:
                raise UsageError(f"query {self.name} has no parameter {key!r}; it takes {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            raw = given.get(parameter.name, parameter.default)
            if raw is None:
                raise UsageError(f"query {self.name} needs --param {parameter.name}=VALUE ({parameter.description})")
            values[parameter.name] = _convert(self.name, parameter, raw)
        return values

    def pinned_text(self) -> str:
        """The query text reading the build named by the parameter `build_id` instead of the current one.

        A caller that resolves the current build once and passes it to every query of one
        request reads a single build, even when another build becomes current meanwhile.
        """
        if self.text.count(CURRENT_BUILD_MATCH) != 1:
            raise UsageError(f"query {self.name} does not read the current build with {CURRENT_BUILD_MATCH!r}")
        return self.text.replace(CURRENT_BUILD_MATCH, PINNED_BUILD_MATCH)


def _convert(query: str, parameter: Parameter, raw: str) -> Any:
    if parameter.type == "string":
        return raw
    if parameter.type == "node":
        return _validate_node_id(query, parameter, raw)
    if parameter.type == "boolean":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise UsageError(f"query {query}: {parameter.name} must be true or false, got {raw!r}")
    try:
        return int(raw)
    except ValueError as error:
        raise UsageError(f"query {query}: {parameter.name} must be an integer, got {raw!r}") from error


def _validate_node_id(query: str, parameter: Parameter, raw: str) -> str:
    """Return a `node` value, or raise UsageError unless it is an ARN, a VpcApi id or an allowed empty value."""
    if raw == "" and parameter.default == "":
        return raw
    if is_arn(raw) or (raw.startswith("vpc-api:") and raw.count(":") == 4):
        return raw
    raise UsageError(f"query {query}: --param {parameter.name} {raw!r} is not an ARN; give the {parameter.description}")


def _parse(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    summary_lines: list[str] = []
    parameters: list[Parameter] = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        match = _PARAM.match(line)
        if match:
            name, kind, default, description = match.groups()
            parameters.append(Parameter(name, kind, default, description))
        elif not parameters:
            summary_lines.append(line.lstrip("/").strip())
    summary = " ".join(part for part in summary_lines if part).split(". ")[0].rstrip(".")
    return Query(name=path.stem, summary=summary, parameters=tuple(parameters), text=text)


@cache
def queries() -> dict[str, Query]:
    """Every query of the library, by name."""
    return {path.stem: _parse(path) for path in sorted(CYPHER_DIR.glob("*.cypher"))}


def query(name: str) -> Query:
    """One query by name; raise UsageError listing the names when it does not exist."""
    library = queries()
    if name not in library:
        raise UsageError(f"no query named {name!r}; the library has {', '.join(sorted(library))}")
    return library[name]
