"""Small questions about a resolved syntax tree, asked by the compiler, the fast path and the
matcher: what is below a node, which field or path it reads, which constant it is."""

from __future__ import annotations

from typing import Any

from alertd.dsl import ast, runtime

Slot = tuple[str, ...]
"""A field or a path of object keys: ("location", "latitude")."""

NOT_CONST = object()
"""What `constant` returns for a node that is not a constant."""


def walk(node: ast.Expr) -> list[ast.Expr]:
    """The node and every node below it, parents before children, left to right. (A loop
    over a stack: loading a large rule file walks tens of thousands of nodes.)"""
    found: list[ast.Expr] = []
    stack = [node]
    while stack:
        node = stack.pop()
        found.append(node)
        cls = node.__class__
        if cls is ast.Binary:
            stack += (node.right, node.left)  # type: ignore[union-attr]
        elif cls is ast.Logic or cls is ast.ListLit:
            stack += reversed(node.items)  # type: ignore[union-attr]
        elif cls is ast.Call:
            stack += reversed(node.args)  # type: ignore[union-attr]
        elif cls is ast.Attr:
            stack.append(node.obj)  # type: ignore[union-attr]
        elif cls is ast.Unary:
            stack.append(node.operand)  # type: ignore[union-attr]
        elif cls is ast.MacroRef:
            stack.append(node.body)  # type: ignore[union-attr]
        elif cls is ast.Prev:
            stack.append(node.arg)  # type: ignore[union-attr]
        elif cls is ast.Index:
            stack += (node.index, node.obj)  # type: ignore[union-attr]
    return found


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
