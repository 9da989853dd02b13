"""Constant folding: every part of a resolved expression that does not depend on the event,
computed once at load, with the language's own operators (alertd.dsl.runtime).

So `5m > 60` is `true`, `round(1.26, 1)` is `1.3`, and inside the matcher of one event type
(alertd.dsl.matcher, which knows the `type` field), `type == "trip_update" and ...` is decided
before any event arrives. What cannot be computed without a mismatch or an error
(`"a" > 3`, an overflow) is left to run time, where it is false and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alertd.dsl import ast, runtime
from alertd.dsl.functions import BUILTINS
from alertd.dsl.regex import compile_pattern
from alertd.dsl.tree import NOT_CONST, constant

_NOTHING_KNOWN: Mapping[str, ast.Scalar] = {}


def fold(expr: ast.Expr, known: Mapping[str, ast.Scalar] | None = None) -> ast.Expr:
    """The expression with every constant part computed; `known` gives fields a fixed value."""
    return _fold(expr, known or _NOTHING_KNOWN)


def _fold(expr: ast.Expr, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    # Dispatch on the class, most frequent first: a load folds every node of every rule.
    if expr.__class__ is ast.Literal:
        return expr
    if expr.__class__ is ast.Field:
        name = expr.name
        return ast.Literal(known[name], expr.span) if name in known else expr
    if expr.__class__ is ast.Binary:
        return _fold_binary(expr, known)
    if expr.__class__ is ast.Logic:
        return _fold_logic(expr, known)
    if expr.__class__ is ast.MacroRef:
        folded = _fold(expr.body, known)
        if folded.__class__ is ast.Literal:
            return folded
        return ast.MacroRef(expr.name, folded, expr.span, expr.source)
    if expr.__class__ is ast.Call:
        return _fold_call(expr, known)
    if expr.__class__ is ast.ListLit:
        items = tuple(_fold(item, known) for item in expr.items)
        return ast.ListLit(items, expr.span, expr.name)
    if expr.__class__ is ast.Attr:
        obj = _fold(expr.obj, known)
        if obj.__class__ is ast.Literal:  # a key of a constant: no constant is an object
            return ast.Literal(None, expr.span)
        return ast.Attr(obj, expr.name, expr.span)
    if expr.__class__ is ast.Index:
        obj, index = _fold(expr.obj, known), _fold(expr.index, known)
        return ast.Index(obj, index, expr.span)
    if expr.__class__ is ast.Unary:
        return _fold_unary(expr, known)
    if expr.__class__ is ast.Prev:
        # Never a constant, even of a field `known` fixes: the first event has no previous.
        return ast.Prev(_fold(expr.arg, _NOTHING_KNOWN), expr.span, expr.implicit)
    return expr


def _fold_binary(expr: ast.Binary, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    op, left, right, span = expr.op, expr.left, expr.right, expr.span
    fl, fr = _fold(left, known), _fold(right, known)
    if op in ("==", "!=") and not (_is_null(left) or _is_null(right)):
        # A null the text computes (`round(null, 1)`) is a value compared, which is false;
        # folded to a literal null it would read as the `!= null` test.
        fl = left if _is_null(fl) else fl
        fr = right if _is_null(fr) else fr
    folded = ast.Binary(op, fl, fr, span, expr.op_span)
    lv, rv = constant(fl), constant(fr)
    if lv is NOT_CONST or rv is NOT_CONST:
        return folded
    if op in ("==", "!=") and (lv is None or rv is None):  # `== null` tests for missing
        return ast.Literal((lv is None and rv is None) == (op == "=="), span)
    if op == "matches":
        pattern = str(rv)
        return _try_const(lambda: runtime.matches(lv, compile_pattern(pattern), _refuse), folded)
    operator = runtime.OPERATORS[op]
    return _try_const(lambda: operator(lv, rv, _refuse), folded)


def _fold_logic(expr: ast.Logic, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    absorbing = expr.op == "or"  # `or` is decided by a true item, `and` by a false one
    items: list[ast.Expr] = []
    for item in expr.items:
        folded = _fold(item, known)
        if folded.__class__ is ast.Literal and folded.value.__class__ is bool:
            if folded.value is absorbing:
                # Items before it still run (they may count mismatches); items after never do.
                if not items:
                    return ast.Literal(absorbing, expr.span)
                items.append(folded)
                break
            continue
        items.append(folded)
    if not items:
        return ast.Literal(not absorbing, expr.span)
    return items[0] if len(items) == 1 else ast.Logic(expr.op, tuple(items), expr.span)


def _fold_unary(expr: ast.Unary, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    operand = _fold(expr.operand, known)
    if operand.__class__ is ast.Literal:
        value = operand.value
        if expr.op == "not" and value.__class__ is bool:
            return ast.Literal(not value, expr.span)
        if expr.op == "-":
            return _try_const(lambda: runtime.neg(value, _refuse), expr)
    return ast.Unary(expr.op, operand, expr.span)


def _fold_call(expr: ast.Call, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    args = tuple(_fold(arg, known) for arg in expr.args)
    folded = ast.Call(expr.name, args, expr.span)
    builtin = BUILTINS[expr.name]
    if not builtin.pure:
        return folded
    values = [constant(arg) for arg in args]
    if any(value is NOT_CONST for value in values):
        return folded
    return _try_const(lambda: builtin.impl(_refuse, *values), folded)


class _CannotFold(Exception):
    """A mismatch met while folding: the part is left to run time, where it is counted."""


def _refuse(value: Any) -> bool:
    """The mismatch reporter while folding: a null is no mismatch, anything else stops it."""
    if value is None:
        return False
    raise _CannotFold


def _try_const(compute: Callable[[], Any], otherwise: ast.Expr) -> ast.Expr:
    """A literal of what `compute` gives, at `otherwise`'s span; `otherwise` when it cannot."""
    try:
        value = compute()
    except (_CannotFold, ArithmeticError, ValueError):
        # Left to run time, where it is a mismatch: `1e308 * 10 ** 300 / 3` overflows.
        return otherwise
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return ast.Literal(value, otherwise.span)
    return otherwise


def _is_null(node: ast.Expr) -> bool:
    return node.__class__ is ast.Literal and node.value is None
