"""Which event types a condition can match, read from its `type` tests, so that `RuleSet`
(alertd.engine.ruleset) offers an event only the rules that can match its type.

`type == "x"` and `type in ["x", "y"]` name types; `and` keeps the types every part allows,
`or` those any part allows; anything else may match any type (None).
"""

from __future__ import annotations

from alertd.dsl import ast

TYPE_FIELD = "type"
"""The field that holds an event's type."""


def event_types(expr: ast.Expr) -> frozenset[str] | None:
    """The event types a resolved condition can match; None when it may match any type."""
    match expr:
        case ast.MacroRef(body=body):
            return event_types(body)
        case ast.Binary(op="==", left=ast.Field(name=name), right=ast.Literal(value=str(value))):
            return frozenset({value}) if name == TYPE_FIELD else None
        case ast.Binary(op="==", left=ast.Literal(value=str(value)), right=ast.Field(name=name)):
            return frozenset({value}) if name == TYPE_FIELD else None
        case ast.Binary(op="in", left=ast.Field(name=name), right=ast.ListLit(items=items)):
            values = [item.value for item in items if isinstance(item, ast.Literal)]
            if name != TYPE_FIELD or len(values) != len(items):
                return None
            if not all(isinstance(value, str) for value in values):
                return None
            return frozenset(str(value) for value in values)
        case ast.Logic(op="and", items=items):
            known = [types for item in items if (types := event_types(item)) is not None]
            if not known:
                return None
            return frozenset.intersection(*known)
        case ast.Logic(op="or", items=items):
            parts = [event_types(item) for item in items]
            if any(part is None for part in parts):
                return None
            return frozenset().union(*(part for part in parts if part is not None))
        case ast.Literal(value=False):
            return frozenset()
    return None
