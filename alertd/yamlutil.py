"""YAML for the whole package: the one module that imports pyyaml.

Documents are read with the safe loader (no Python objects), and a plain (unquoted) scalar is
read exactly as the same token would be read in JSON, so that an event in a YAML file is the event
the daemon would have received as JSON:

- a number is a JSON number, `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?`, decoded by the
  same JSON decoder as the daemon's (an integer without fraction or exponent stays an int).
  Anything else stays text: a phone number `+15550100002`, `.5`, `1.`, an id with a leading zero
  `0123`, a time of day `12:30`, `0x1F`, `1_000`, `.inf`, `.nan`. A JSON number too large to be
  finite (`1e400`) is an error, as it is in a request to the daemon;
- only `true` and `false` are booleans (`True`, `NO`, `on` stay text);
- `null`, `~` and an empty value are null (`Null`, `NULL` stay text);
- unquoted times stay text (`timestamp: 2026-01-01T10:00:00Z`).

Errors are pyyaml's, re-exported: `MarkedYAMLError` (with `problem` and `problem_mark`) for a
syntax error or a number out of range, `YAMLError` for the rest.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from alertd import jsonutil

MarkedYAMLError = yaml.MarkedYAMLError
YAMLError = yaml.YAMLError
Node = yaml.Node
MappingNode = yaml.MappingNode
ScalarNode = yaml.ScalarNode

_JSON_NUMBER_TAG = "tag:alertd,2026:json-number"
_REPLACED = {
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader whose plain scalars resolve as JSON tokens (see the module docstring)."""


def _construct_json_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    token = loader.construct_scalar(node)
    try:
        return jsonutil.loads(token)
    except jsonutil.JSONDecodeError:  # the grammar matched, so only a non-finite value is left
        raise yaml.constructor.ConstructorError(
            None, None, f"number {token} is out of range (JSON numbers are finite)", node.start_mark
        ) from None


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:null|~|)$"), ["n", "~", ""]
)
_Loader.add_implicit_resolver(
    _JSON_NUMBER_TAG,
    re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"),
    list("-0123456789"),
)
_Loader.add_constructor(_JSON_NUMBER_TAG, _construct_json_number)


def load(text: str) -> Any:
    """Decode one YAML document. Raises YAMLError."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no Python objects


def compose(text: str) -> Node | None:
    """The node tree of one YAML document, each node with its `start_mark` (0-based line and
    column), for files whose mistakes are reported where they are. Raises YAMLError."""
    node: Node | None = yaml.compose(text, Loader=_Loader)
    return node
