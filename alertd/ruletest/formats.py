"""Decoding JSON and YAML documents with the position of every error.

YAML is read as alertd.yamlutil reads it, so that an event read from YAML is the same as the one
read from JSON: a plain scalar is a number, boolean or null only as the same token would be in JSON
(`+15550100002` and `True` stay strings), and unquoted times stay strings.
"""

from __future__ import annotations

from typing import Any

from alertd import jsonutil, yamlutil
from alertd.diagnostics import where


class DocumentError(ValueError):
    """A document that cannot be decoded; `line` and `column` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def at(self, path: str) -> str:
        """`path:line:col: message`, as far as the position is known."""
        return f"{where(path, self.line, self.column)}: {self.message}"


def load_json(data: bytes | str) -> Any:
    """Decode one JSON document. Raises DocumentError."""
    try:
        return jsonutil.loads(data)
    except jsonutil.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None


def load_yaml(text: str) -> Any:
    """Decode one YAML document. Raises DocumentError."""
    try:
        return yamlutil.load(text)
    except yamlutil.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise DocumentError(f"invalid YAML: {problem}", line, column) from None
    except yamlutil.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from None


def dump_json(value: object) -> str:
    """Compact JSON; values JSON cannot hold are written as strings."""
    return jsonutil.dumps(value, default=str, option=jsonutil.OPT_NON_STR_KEYS).decode()
