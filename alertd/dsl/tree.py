"""Small questions about a resolved syntax tree, asked by the compiler, the fast path and the
matcher: what is below a node, which field or path it reads, which constant it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alertd.dsl import ast, runtime

Slot = tuple[str, ...]
"""A field or a path of object keys: ("location", "latitude")."""

NOT_CONST = object()
"""What `constant` returns for a node that is not a constant."""


def walk(node: ast.Expr) -> Iterator[ast.Expr]:
    """The node and every node below it."""
    yield node
    match node:
        case ast.MacroRef(body=body):
            yield from walk(body)
        case ast.ListLit(items=items) | ast.Logic(items=items) | ast.Call(args=items):
            for item in items:
                yield from walk(item)
        case ast.Attr(obj=obj) | ast.Unary(operand=obj):
            yield from walk(obj)
        case ast.Index(obj=obj, index=index):
            yield from walk(obj)
            yield from walk(index)
        case ast.Binary(left=left, right=right):
            yield from walk(left)
            yield from walk(right)


def slot_of(node: ast.Expr) -> Slot | None:
    """`speed` -> ("speed",), `location.latitude` -> ("location", "latitude"); else None."""
    if isinstance(node, ast.Field):
        return (node.name,)
    if isinstance(node, ast.Attr):
        parent = slot_of(node.obj)
        return None if parent is None else (*parent, node.name)
    return None


def constant(expr: ast.Expr) -> Any:
    """The value of a literal or a list of literals, else NOT_CONST."""
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListLit):
        values = [constant(item) for item in expr.items]
        return NOT_CONST if any(v is NOT_CONST for v in values) else values
    return NOT_CONST


def single_kind(node: ast.Expr) -> tuple[str, frozenset[Any]] | None:
    """A constant list of one kind and no null: its kind and its members."""
    values = constant(node)
    if not isinstance(values, list) or not values or None in values:
        return None
    kinds = {runtime.kind(v) for v in values}
    if len(kinds) != 1:
        return None
    try:
        return kinds.pop(), frozenset(values)
    except TypeError:  # lists inside the list
        return None
