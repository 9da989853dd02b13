"""YAML for the whole package: the one module that imports pyyaml.

Documents are read with the safe loader (no Python objects) and YAML 1.2's plain scalars where
pyyaml keeps YAML 1.1's, so that what is read from YAML is what JSON would give:

- unquoted times stay strings (`timestamp: 2026-01-01T10:00:00Z`);
- only true/false are booleans (a country code `NO` or a state `on` stays a string);
- numbers are written as in JSON: `42`, `-7`, `1.5`, `1e3` (and `.inf`, `.nan`). Anything else
  that YAML 1.1 read as a number stays a string: an id with a leading zero `0123` (not octal
  83), a time of day `12:30` (not sexagesimal 750), `0x1F`, `0b101`, `1_000`.

Errors are pyyaml's, re-exported: `MarkedYAMLError` (with `problem` and `problem_mark`) for a
syntax error, `YAMLError` for the rest.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MarkedYAMLError = yaml.MarkedYAMLError
YAMLError = yaml.YAMLError


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type, with YAML 1.2's booleans and numbers."""


_REPLACED = {
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(  # tried after int, so a whole number is never a float
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.VERBOSE,
    ),
    list("-+0123456789."),
)


def load(text: str) -> Any:
    """Decode one YAML document. Raises YAMLError."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects
