"""Decoding JSON and YAML documents with the position of every error.

The one module that imports pyyaml. YAML is read with the safe loader and two YAML 1.2 habits,
so that an event read from YAML is the same as the one read from JSON: unquoted times stay
strings (`timestamp: 2026-01-01T10:00:00Z`, parsed like any other timestamp), and only
true/false are booleans (a country code `NO` or a state `on` stays a string).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import yaml


class DocumentError(ValueError):
    """A document that cannot be decoded; `line` and `column` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def at(self, path: str) -> str:
        """`path:line:col: message`, as far as the position is known."""
        where = path
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type."""


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_json(data: bytes | str) -> Any:
    """Decode one JSON document. Raises DocumentError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None


def load_yaml(text: str) -> Any:
    """Decode one YAML document. Raises DocumentError."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise DocumentError(f"invalid YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from None


def dump_json(value: object) -> str:
    """Compact JSON; values JSON cannot hold are written as strings."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
