"""`prev(EXPR)` and `changed(EXPR)`: what a condition may read of the previous event.

`prev(EXPR)` is EXPR as it was on the previous event of the rule's scope with the same rule key
(null for the first); `changed(EXPR)` is `EXPR != prev(EXPR)`. The engine keeps, per rule and
key, only the values the rule's `prev` calls need: one per distinct argument, in the order the
condition first uses them (`previous_args`), so that `prev(fuel) >= 10 and changed(fuel)` keeps
one value. The compiled condition reads them as its second argument, `p[i]`.

Resolution (alertd.dsl.resolve) turns the calls into `ast.Prev` nodes through `resolve_call`;
the checker refuses them outside a condition (`refuse_outside_conditions`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping
from dataclasses import fields
from typing import Any

from alertd.dsl import ast
from alertd.dsl.errors import Collector
from alertd.dsl.functions import BUILTINS
from alertd.dsl.tree import walk

FUNCTIONS = frozenset({"prev", "changed"})
"""The functions that read the previous event: not built-ins (alertd.dsl.functions), they
need the rule's state."""

_IGNORED = frozenset({"span", "op_span", "source", "implicit"})


def resolve_call(
    node: ast.Call,
    file: ast.RuleFile,
    errors: Collector,
    resolve: Callable[[ast.Expr], ast.Expr],
) -> ast.Expr:
    """`prev(x)` as a Prev node and `changed(x)` as `x != prev(x)`, `resolve` resolving the
    argument; what is wrong is reported, and the call taken as false (changed) or a value
    of any kind (prev), so that nothing more is said of it."""
    name = node.name
    # What stands for a wrong call says nothing more: false, or a value of any kind.
    wrong: ast.Expr = ast.Field("", node.span)
    if name == "changed":
        wrong = ast.Literal(False, node.span)
    if len(node.args) != 1:
        errors.add(
            file,
            node.span,
            f"{name}() takes 1 argument, got {len(node.args)}",
            f"such as {name}(fuel_level_pct)",
        )
        return wrong
    arg = resolve(node.args[0])
    nested = next((n for n in walk(arg) if n.__class__ is ast.Prev), None)
    if nested is not None:
        errors.add(
            file,
            node.span,
            f"{name}() of an expression that uses prev() or changed(): alertd keeps the values "
            "of the previous event only, not of the one before it",
        )
        return wrong
    if not reads_event(arg):
        errors.add(
            file,
            node.span,
            f"{name}() of a value that is not read from the event: it is the same on every event",
            f"give it a field, such as {name}(fuel_level_pct)",
        )
        return wrong
    if name == "changed":
        return ast.Binary("!=", arg, ast.Prev(arg, node.span, implicit=True), node.span, node.span)
    return ast.Prev(arg, node.span)


def reads_event(expr: ast.Expr) -> bool:
    """Whether the expression's value can differ from one event to the next."""
    for node in walk(expr):
        if node.__class__ in (ast.Field, ast.Name):
            return True
        if node.__class__ is ast.Call:
            builtin = BUILTINS.get(node.name)
            if builtin is not None and builtin.event_time:
                return True
    return False


def refuse_outside_conditions(
    expr: ast.Expr, file: ast.RuleFile, errors: Collector, allowed: str
) -> None:
    """Report the first prev() or changed() in an expression where they may not stand: a
    `by` key (what the previous event is looked up by cannot depend on it), `resolve when`.
    `allowed` says where they may."""
    nodes = walk(expr)
    found = next((node for node in nodes if isinstance(node, ast.Prev)), None)
    if found is None:
        return
    message = f"{'changed' if found.implicit else 'prev'}() may be used only in {allowed}"
    hint = None
    if allowed != "'when'":
        hint = "a key is what the previous event is found by: it must come from the event"
    # Inside a macro, it is said where the macro is used here (its body is in its own file).
    span = found.span
    for node in nodes:
        if isinstance(node, ast.MacroRef) and any(n is found for n in walk(node.body)):
            message += f"; the macro '{node.name}' uses it"
            span = node.span
            break
    errors.add(file, span, message, hint)


def previous_args(expr: ast.Expr) -> tuple[ast.Expr, ...]:
    """The distinct arguments of the prev() calls in a (folded) condition, in the order it
    first uses them: the values the engine keeps per key, `p[0]`, `p[1]`, ..."""
    found: dict[Hashable, ast.Expr] = {}
    for node in walk(expr):
        if node.__class__ is ast.Prev:
            found.setdefault(shape(node.arg), node.arg)
    return tuple(found.values())


def slots(args: tuple[ast.Expr, ...]) -> Mapping[Hashable, int]:
    """Where each argument's value is in the kept values, by its shape."""
    return {shape(arg): position for position, arg in enumerate(args)}


def digest(args: tuple[ast.Expr, ...]) -> str:
    """What the kept values of these arguments are, in a few characters: the same for the
    same arguments in the same order, in any process; "" for none."""
    if not args:
        return ""
    return hashlib.sha256(repr(tuple(shape(arg) for arg in args)).encode()).hexdigest()[:12]


def shape(node: Any) -> Hashable:
    """A node as plain data without its places: two arguments written alike, anywhere, have
    the same shape."""
    if isinstance(node, tuple | list):
        return tuple(shape(item) for item in node)
    if not hasattr(node, "__dataclass_fields__"):
        return (node.__class__.__name__, repr(node))  # true is not 1, nor 1.0
    return (
        node.__class__.__name__,
        *(shape(getattr(node, f.name)) for f in fields(node) if f.name not in _IGNORED),
    )
