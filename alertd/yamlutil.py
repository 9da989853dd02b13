"""YAML for the whole package: the one module that imports pyyaml.

Documents are read with the safe loader (no Python objects) and two YAML 1.2 habits, so that
what is read from YAML is the same as what JSON would give: unquoted times stay strings
(`timestamp: 2026-01-01T10:00:00Z`), and only true/false are booleans (a country code `NO` or a
state `on` stays a string). Errors are pyyaml's, re-exported: `MarkedYAMLError` (with
`problem` and `problem_mark`) for a syntax error, `YAMLError` for the rest.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MarkedYAMLError = yaml.MarkedYAMLError
YAMLError = yaml.YAMLError


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type, and with YAML 1.2's booleans."""


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Any:
    """Decode one YAML document. Raises YAMLError."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects
