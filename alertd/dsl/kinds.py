"""Kind checking: what a resolved expression can never do, judged from the kinds its text fixes.

A value's kind is string, number, bool, null, list or object, or `any` for what an event
decides (a field, a path, an index). `"a" > 3` is always false, `speed > null` too, `-"x"`
is no number, `lower(5)` has no string to lower: each is a mistake in the rule, reported here
with where it is and, where one is obvious, a hint. Values the text fixes are checked too: a
number too large for a float, a division by zero, a regular expression RE2 refuses, an unknown
time zone, geocell digits out of range.

The expression must be resolved (alertd.dsl.resolve): names are fields, macros and named
lists already. A macro's body is checked once, where it is defined, so a use of it is a
condition and nothing more. What resolution already reported (an unknown function: its kind is
`error`) says nothing more here.
"""

from __future__ import annotations

import math
from functools import cache
from zoneinfo import available_timezones

from alertd.dsl import ast
from alertd.dsl.errors import Collector, one_of
from alertd.dsl.functions import BUILTINS, MAX_GEOCELL_DIGITS, time_zone
from alertd.dsl.regex import PatternError, compile_pattern
from alertd.suggest import did_you_mean

_ORDERED = ("number", "string")
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_STRING_TESTS = frozenset({"startswith", "endswith", "matches"})


def check_kinds(expr: ast.Expr, file: ast.RuleFile, errors: Collector, *, condition: bool) -> None:
    """Report every mistake of kind in a resolved expression of `file`. With `condition`, the
    expression stands where a true/false test is needed (a `when`, a macro's body)."""
    _Kinds(file, errors).of(expr, condition)


def kind_of(value: ast.Scalar) -> str:
    """The kind of a literal value."""
    if value is None:
        return "null"
    if value.__class__ is bool:
        return "bool"
    if value.__class__ is str:
        return "string"
    return "number"


class _Kinds:
    def __init__(self, file: ast.RuleFile, errors: Collector) -> None:
        self.file = file
        self.errors = errors

    def of(self, node: ast.Expr, condition: bool) -> str:
        """The node's kind, every mistake below it reported; with `condition`, it must be a
        true/false test."""
        kind = self.kind(node)
        if condition and kind not in ("bool", "error"):
            self.not_a_condition(node, kind)
        return kind

    def kind(self, node: ast.Expr) -> str:
        # Dispatch on the class, most frequent first: a load checks every node of every rule.
        if node.__class__ is ast.Binary:
            return self.binary(node)
        if node.__class__ is ast.Field:
            return "any"
        if node.__class__ is ast.Literal:
            value = node.value
            if value.__class__ is float and not math.isfinite(value):
                self.error(node.span, "the number is too large", "numbers go up to about 1e308")
            return kind_of(value)
        if node.__class__ is ast.Logic:
            for item in node.items:
                self.of(item, True)
            return "bool"
        if node.__class__ is ast.MacroRef:
            return "bool"  # its body was checked where the macro is defined
        if node.__class__ is ast.Call:
            return self.call(node)
        if node.__class__ is ast.ListLit:
            if node.name is None:  # a named list was checked where it is defined
                for item in node.items:
                    self.of(item, False)
            return "list"
        if node.__class__ is ast.Attr:
            self.of(node.obj, False)
            return "any"
        if node.__class__ is ast.Index:
            index_kind = self.of(node.index, False)
            if index_kind not in ("string", "number", "any", "error"):
                self.error(
                    node.index.span, f"an index must be a string or a number, not {_a(index_kind)}"
                )
            self.of(node.obj, False)
            return "any"
        if node.__class__ is ast.Prev:
            return self.of(node.arg, False)  # or null, on the first event: as any value
        if node.__class__ is ast.Unary:
            if node.op == "not":
                self.of(node.operand, True)
                return "bool"
            kind = self.of(node.operand, False)
            if kind not in ("number", "any", "error"):
                self.error(node.span, f"cannot negate {_a(kind)}")
            return "number"
        raise TypeError(f"unresolved node {node!r}")  # pragma: no cover - resolve made them

    def not_a_condition(self, node: ast.Expr, kind: str) -> None:
        if isinstance(node, ast.Attr | ast.Index):
            path = self.file.text(node.span)
            self.error(
                node.span,
                f"expected a condition, got the field '{path}'",
                f"compare it, such as {path} == true, or test it with exists({path})",
            )
        elif kind == "any":
            self.error(node.span, "expected a condition, got a value")
        else:
            self.error(node.span, f"expected a condition, got {_a(kind)}")

    def binary(self, node: ast.Binary) -> str:
        op = node.op
        lk, rk = self.of(node.left, False), self.of(node.right, False)
        if lk == "error" or rk == "error":
            return "error" if op in _ARITHMETIC else "bool"
        problem = _kind_problem(op, lk, rk)
        if problem is not None:
            self.error(node.op_span, *problem)
        right = node.right
        if op in ("/", "%") and right.__class__ is ast.Literal and right.value == 0:
            self.error(right.span, "division by zero")
        if op == "matches":
            self.pattern(right)
        if op in _ARITHMETIC:
            return _arithmetic_kind(op, lk, rk)
        return "bool"

    def pattern(self, node: ast.Expr) -> None:
        if not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            self.error(node.span, "the pattern after 'matches' must be a string literal")
            return
        try:
            compile_pattern(node.value)
        except PatternError as exc:
            span = node.span
            # Point at what RE2 quotes, found in the literal as written (escapes and all).
            written = self.file.text(span)
            found = written.find(exc.fragment, 1) if exc.fragment else -1
            if found > 0 and span.line == span.end_line:
                column = span.column + found
                span = ast.Span(span.line, column, span.line, column + len(exc.fragment))
            self.error(span, f"invalid regular expression: {exc.message}", exc.hint)

    def call(self, node: ast.Call) -> str:
        kinds = [self.of(arg, False) for arg in node.args]
        builtin = BUILTINS.get(node.name)
        if builtin is None:
            return "error"  # an unknown function: resolution said so
        arity = builtin.arity_error(len(kinds))
        if arity is not None:
            self.error(node.span, arity)
            return builtin.returns
        for position, kind in enumerate(kinds):
            accepted = builtin.param(position)
            if accepted and kind not in accepted and kind not in ("any", "null", "error"):
                self.error(
                    node.args[position].span,
                    f"{node.name}() expects {_kinds(accepted)} as argument {position + 1}, "
                    f"not {_a(kind)}",
                )
        if builtin.event_time and node.args:
            self.zone(node.args[0])
        if node.name == "geocell" and len(node.args) == 2:
            digits = node.args[1]
            if not (
                isinstance(digits, ast.Literal)
                and digits.value.__class__ is int
                and 0 <= digits.value <= MAX_GEOCELL_DIGITS
            ):
                self.error(
                    digits.span,
                    f"geocell() digits must be a whole number from 0 to {MAX_GEOCELL_DIGITS}",
                )
        return builtin.returns

    def zone(self, node: ast.Expr) -> None:
        if not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            self.error(node.span, 'the time zone must be a string literal, such as "Europe/Paris"')
            return
        try:
            time_zone(node.value)
        except ValueError as exc:
            self.error(node.span, str(exc), did_you_mean(node.value, _zones()))

    def error(self, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.errors.add(self.file, span, message, hint)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _a(kind: str) -> str:
    return {"any": "a value", "null": "null", "object": "an object"}.get(kind, f"a {kind}")


def _kinds(kinds: frozenset[str]) -> str:
    return one_of([_a(k) for k in sorted(kinds, key=["string", "number", "list", "object"].index)])


def _kind_problem(op: str, lk: str, rk: str) -> tuple[str, str | None] | None:
    """Why `left op right` can never work, given the kinds the text fixes; None if it can."""
    known = lk != "any" and rk != "any"
    if op in ("==", "!="):
        if known and "null" not in (lk, rk) and lk != rk:
            return f"cannot compare {lk} with {rk} using '{op}'", "the comparison is always false"
        return None
    if op in _COMPARISONS:
        if "null" in (lk, rk):
            return (
                f"'{op}' with null is always false",
                "write '== null' or '!= null' to test for a missing value",
            )
        if known and lk != rk:
            return f"cannot compare {lk} with {rk} using '{op}'", "the comparison is always false"
        for kind in (lk, rk):
            if kind not in (*_ORDERED, "any"):
                return f"'{op}' compares numbers or strings, not {kind}s", None
        return None
    if op in ("in", "not in"):
        if rk not in ("list", "string", "any"):
            return f"'{op}' needs a list or a string on its right, not {_a(rk)}", None
        if rk == "string" and lk not in ("string", "any", "null"):
            return f"cannot look for {_a(lk)} in a string", None
        return None
    if op == "contains":
        if lk not in ("list", "string", "any"):
            return f"'contains' needs a list or a string on its left, not {_a(lk)}", None
        if lk == "string" and rk not in ("string", "any", "null"):
            return f"cannot look for {_a(rk)} in a string", None
        return None
    if op in _STRING_TESTS:
        for kind in (lk, rk):
            if kind not in ("string", "any"):
                return f"'{op}' needs strings, not {_a(kind)}", None
        return None
    # arithmetic
    if "null" in (lk, rk):
        return f"'{op}' with null is always null", None
    if op == "+" and known and lk == rk == "string":
        return None
    for kind in (lk, rk):
        if kind not in ("number", "any") and not (op == "+" and kind == "string"):
            return f"cannot apply '{op}' to {lk} and {rk}", None
    if op == "+" and known and lk != rk:
        return f"cannot apply '+' to {lk} and {rk}", None
    return None


def _arithmetic_kind(op: str, lk: str, rk: str) -> str:
    if op == "+" and "string" in (lk, rk):
        return "string"
    if op == "+" and lk == rk == "any":
        return "any"
    return "number"
