"""Why a rule did or did not match an event: its checked condition, walked node by node.

The daemon runs compiled conditions (alertd.dsl.compiler), which only answer true or false and
count type mismatches. `explain(rule, event)` evaluates the same checked tree with a plain
interpreter, written from the semantics (docs/rules.md) and sharing nothing with the compiler
but the built-in functions and the pattern engine, and records what it saw:

- every type mismatch (a comparison, operation or call that met a value of a kind it cannot
  use, and so was false or null), as written in the rule file, with the values and their kinds;
- every comparison it evaluated, in order, with the values it read and its result;
- when the condition did not hold, why not (`Failure`s): the first part of an `and` that was
  false, every alternative of an `or` (each for its own reason), a `not` whose operand held;
  each as written, with the values it read and the type mismatch that made it false, if any.

It is slow next to the compiled code and runs only in `alertd test-rule`, never in the daemon.
The tests hold the two to each other on random rules and events: the same result, the same
number of mismatches (tests/dsl/test_differential.py, tests/dsl/test_explain.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd.dsl import ast
from alertd.dsl.compiler import CONDITION_ATTRIBUTE, CompiledCondition
from alertd.dsl.functions import BUILTINS, time_zone
from alertd.dsl.previous import shape, slots
from alertd.dsl.regex import compile_pattern
from alertd.model import Rule, SourceLocation

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_TESTS = _COMPARISONS | {"in", "not in", "contains", "startswith", "endswith", "matches"}
_STRING_TESTS = frozenset({"startswith", "endswith", "matches"})
_A = {
    "string": "a string",
    "number": "a number",
    "bool": "a boolean",
    "list": "a list",
    "object": "an object",
    "null": "null",
    "other": "a value of another kind",
}


@dataclass(frozen=True, slots=True)
class Operand:
    """A value an expression read: the part of the rule that gave it, as written, and its kind."""

    text: str
    value: Any
    kind: str  # string, number, bool, list, object, null


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A part of the rule that met values of kinds it cannot use: false (or null), and counted
    in `alertd_evaluation_type_mismatches_total` by the daemon."""

    text: str  # as written: `speed_kmh > 120`
    where: SourceLocation
    problem: str  # `a string compared with a number`
    operands: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison (`==`, `<`, `in`, `matches`, ...) as evaluated: its values and result."""

    text: str
    where: SourceLocation
    operands: tuple[Operand, ...]
    result: bool


@dataclass(frozen=True, slots=True)
class Failure:
    """A part of a condition that was false, and so a reason the condition did not hold: a
    comparison, a call such as `exists(x)`, a `not`, as written, with the values it read (the
    fields and computed operands, not the literals written in the rule)."""

    text: str  # as written: `speed_kmh > 120`
    where: SourceLocation
    values: tuple[Operand, ...]
    mismatch: str | None = None  # why it was false when kinds did not fit: `a string compared
    # with a number`


@dataclass(frozen=True, slots=True)
class Explanation:
    """What evaluating one rule's condition (and, when it held, its `by` keys) on one event saw."""

    matched: bool
    mismatches: tuple[Mismatch, ...]
    comparisons: tuple[Comparison, ...]  # those of the condition, in the order evaluated
    # Why it did not hold (empty when it did): one failure, or one per alternative of an `or`
    # that none held (alternatives of alternatives are flattened into one list).
    failures: tuple[Failure, ...] = ()

    @property
    def first_false(self) -> Comparison | None:
        """The first comparison that was false, if any was."""
        return next((c for c in self.comparisons if not c.result), None)


def explain(
    rule: Rule, event: Mapping[str, Any], previous: Sequence[Any] | None = None
) -> Explanation | None:
    """Evaluate the rule's condition on the event as the language defines it; when it holds,
    evaluate the rule's `by` keys too (they can mismatch as well). None for a rule that was not
    compiled from the rule language (one built in Python by a test or a tool).

    `previous`: for a rule with prev(), the values the engine keeps for the event's key (what
    `kept_values` gave for the previous event of its scope); None for the first event."""
    compiled = getattr(rule.condition, CONDITION_ATTRIBUTE, None)
    if not isinstance(compiled, CompiledCondition):
        return None
    interpreter = Interpreter(
        event, compiled.timestamp_field, compiled.source, compiled.previous, previous
    )
    matched = interpreter.evaluate(compiled.expr) is True
    comparisons = tuple(interpreter.comparisons)
    failures: tuple[Failure, ...] = ()
    if matched:
        for key in compiled.keys:
            interpreter.evaluate(key)
    else:
        failures = tuple(interpreter.failures(compiled.expr))
    return Explanation(matched, tuple(interpreter.mismatches), comparisons, failures)


def kept_values(rule: Rule, event: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What the engine keeps of an event for the rule's prev() calls (the arguments' values,
    as the interpreter computes them); None for a rule without prev()."""
    compiled = getattr(rule.condition, CONDITION_ATTRIBUTE, None)
    if not isinstance(compiled, CompiledCondition) or not compiled.previous:
        return None
    interpreter = Interpreter(event, compiled.timestamp_field, compiled.source)
    return tuple(interpreter.evaluate(arg) for arg in compiled.previous)


@dataclass(frozen=True, slots=True)
class ResolveExplanation:
    """What evaluating a rule's `resolve when` on one event saw, and, when it held, the rule's
    key (whose open alert it resolves)."""

    held: bool
    key: tuple[Any, ...] | None  # the values of the rule's `by`, when it held
    mismatches: tuple[Mismatch, ...]
    failures: tuple[Failure, ...] = ()  # why it did not hold


def explain_resolve(rule: Rule, event: Mapping[str, Any]) -> ResolveExplanation | None:
    """Evaluate the rule's `resolve when` on the event as the language defines it; when it
    holds, the rule's `by` too, as the engine then does. None for a rule without one, or one
    not compiled from the rule language."""
    compiled = getattr(rule.condition, CONDITION_ATTRIBUTE, None)
    if not isinstance(compiled, CompiledCondition) or compiled.resolve_when is None:
        return None
    interpreter = Interpreter(event, compiled.timestamp_field, compiled.source)
    held = interpreter.evaluate(compiled.resolve_when) is True
    if not held:
        failures = tuple(interpreter.failures(compiled.resolve_when))
        return ResolveExplanation(False, None, tuple(interpreter.mismatches), failures)
    key = tuple(interpreter.evaluate(part) for part in compiled.rule_key)
    return ResolveExplanation(True, key, tuple(interpreter.mismatches))


class Interpreter:
    """Evaluates expressions of one checked tree for one event, recording what it meets.

    `source` is the file the tree's spans are in; a macro's body is in the macro's file.
    `prev(x)` reads `previous[i]`, i the place of x in `previous_args` (None: no previous
    event, every prev() is null).
    """

    def __init__(
        self,
        event: Mapping[str, Any],
        timestamp_field: str = "timestamp",
        source: ast.SourceText | None = None,
        previous_args: tuple[ast.Expr, ...] = (),
        previous: Sequence[Any] | None = None,
    ) -> None:
        self.event = event
        self.timestamp_field = timestamp_field
        self.source = source or ast.SourceText("<rules>", ())
        self.previous = previous
        self._slots = slots(previous_args)
        self.mismatches: list[Mismatch] = []
        self.comparisons: list[Comparison] = []
        self._seen: dict[int, Any] = {}  # id(node) -> its value, for every node evaluated
        self._problems: dict[int, str] = {}  # id(node) -> the mismatch it met

    def evaluate(self, node: ast.Expr) -> Any:
        """The value of a whole condition or key. Should evaluation ever fail, it is null (a
        condition: false) with one mismatch, as the compiled code's safety net makes it."""
        try:
            return self.value(node)
        except Exception as exc:  # mirrors the compiled code's safety net
            self._mismatch(node, f"cannot be evaluated: {exc}", ())
            return None

    def value(self, node: ast.Expr) -> Any:
        result = self._value(node)
        self._seen[id(node)] = result
        return result

    def _value(self, node: ast.Expr) -> Any:
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Field):
            return self.event.get(node.name)
        if isinstance(node, ast.MacroRef):
            outer, self.source = self.source, node.source
            try:
                return self.value(node.body)
            finally:
                self.source = outer
        if isinstance(node, ast.ListLit):
            return [self.value(item) for item in node.items]
        if isinstance(node, ast.Attr):
            obj = self.value(node.obj)
            return obj.get(node.name) if isinstance(obj, Mapping) else None
        if isinstance(node, ast.Index):
            return _index(self.value(node.obj), self.value(node.index))
        if isinstance(node, ast.Unary):
            return self._unary(node)
        if isinstance(node, ast.Logic):
            if node.op == "and":
                return all(self.value(item) for item in node.items)
            return any(self.value(item) for item in node.items)
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Prev):
            return None if self.previous is None else self.previous[self._slots[shape(node.arg)]]
        raise TypeError(f"not a checked expression: {node!r}")

    # -- what is recorded ----------------------------------------------------------------------

    def text(self, node: ast.Expr) -> str:
        """The node as written; a named list by its name."""
        if isinstance(node, ast.ListLit) and node.name is not None:
            return node.name
        if isinstance(node, ast.Prev) and node.implicit:  # the prev() inside `changed(x)`
            return f"prev({self.text(node.arg)})"
        try:
            return self.source.text(node.span)
        except IndexError:  # a tree without its file (built by hand)
            return "?"

    def where(self, node: ast.Expr) -> SourceLocation:
        return SourceLocation(self.source.path, node.span.line, node.span.column)

    def _operands(self, pairs: tuple[tuple[ast.Expr, Any], ...]) -> tuple[Operand, ...]:
        return tuple(Operand(self.text(node), value, kind(value)) for node, value in pairs)

    def _mismatch(
        self, node: ast.Expr, problem: str, operands: tuple[tuple[ast.Expr, Any], ...]
    ) -> None:
        self.mismatches.append(
            Mismatch(self.text(node), self.where(node), problem, self._operands(operands))
        )
        self._problems.setdefault(id(node), problem)

    # -- why a condition did not hold ----------------------------------------------------------

    def failures(self, node: ast.Expr) -> list[Failure]:
        """Why a condition evaluated (by `value`) to false: the first false part of an `and`,
        each alternative of an `or`, through macros; any other false part is a failure itself."""
        if isinstance(node, ast.MacroRef):
            outer, self.source = self.source, node.source
            try:
                return self.failures(node.body)
            finally:
                self.source = outer
        if isinstance(node, ast.Logic):
            if node.op == "or":
                return [failure for item in node.items for failure in self.failures(item)]
            for item in node.items:
                if id(item) in self._seen and not self._seen[id(item)]:
                    return self.failures(item)
            return []
        values: list[Operand] = []
        if isinstance(node, ast.Binary):
            for side in (node.left, node.right):
                self._operand(side, values)
        elif isinstance(node, ast.Call):
            for arg in node.args:
                self._operand(arg, values)
        else:
            self._paths(node, values)
        return [
            Failure(self.text(node), self.where(node), tuple(values), self._problems.get(id(node)))
        ]

    def _operand(self, node: ast.Expr, values: list[Operand]) -> None:
        """What a failed part read through one operand: a field as itself; a computed value
        (`hour("Europe/Berlin")`, `speed_kmh * 2`) and the fields it read; a literal, nothing."""
        if isinstance(node, ast.Literal | ast.ListLit) or id(node) not in self._seen:
            return
        if not _is_path(node):
            self._add(node, values)
        self._paths(node, values)

    def _paths(self, node: ast.Expr, values: list[Operand]) -> None:
        """The fields (`speed_kmh`, `location.lat`, `tags["a"]`) read below a node."""
        if id(node) not in self._seen:
            return
        if _is_path(node):
            self._add(node, values)
            if isinstance(node, ast.Index) and not isinstance(node.index, ast.Literal):
                self._paths(node.index, values)
            return
        if isinstance(node, ast.MacroRef):
            outer, self.source = self.source, node.source
            try:
                self._paths(node.body, values)
            finally:
                self.source = outer
            return
        for child in _children(node):
            self._paths(child, values)

    def _add(self, node: ast.Expr, values: list[Operand]) -> None:
        text = self.text(node)
        if all(known.text != text for known in values):
            value = self._seen[id(node)]
            values.append(Operand(text, value, kind(value)))

    # -- operators -----------------------------------------------------------------------------

    def _unary(self, node: ast.Unary) -> Any:
        operand = self.value(node.operand)
        if node.op == "not":
            return not operand
        if kind(operand) == "number":
            return -operand
        if operand is not None:
            self._mismatch(node, f"cannot negate {_A[kind(operand)]}", ((node.operand, operand),))
        return None

    def _binary(self, node: ast.Binary) -> Any:
        op = node.op
        if op in ("==", "!=") and (_null_literal(node.right) or _null_literal(node.left)):
            tested = node.left if _null_literal(node.right) else node.right
            value = self.value(tested)
            result = (value is None) == (op == "==")
            self._compared(node, ((tested, value),), result)
            return result
        left = self.value(node.left)
        right = self.value(node.right)
        pairs = ((node.left, left), (node.right, right))
        if op not in _TESTS:
            return self._arithmetic(node, left, right)
        if op in _COMPARISONS:
            problem, result = _compare(op, left, right)
        elif op == "in":
            problem, result = _member(left, right)
        elif op == "not in":
            problem, result = _not_member(left, right)
        elif op == "contains":
            problem, result = _member(right, left)
        else:
            problem, result = _string_test(op, left, right)
        if problem:
            self._mismatch(node, problem, pairs)
        self._compared(node, pairs, result)
        return result

    def _compared(
        self, node: ast.Binary, pairs: tuple[tuple[ast.Expr, Any], ...], result: bool
    ) -> None:
        self.comparisons.append(
            Comparison(self.text(node), self.where(node), self._operands(pairs), result)
        )

    def _arithmetic(self, node: ast.Binary, left: Any, right: Any) -> Any:
        op = node.op
        if op == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        if left is None or right is None:
            return None
        pairs = ((node.left, left), (node.right, right))
        if kind(left) != "number" or kind(right) != "number":
            self._mismatch(node, f"{_A[kind(left)]} {op} {_A[kind(right)]}", pairs)
            return None
        if op in ("/", "%") and right == 0:
            self._mismatch(node, "division by zero", pairs)
            return None
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        return left / right if op == "/" else left % right

    def _call(self, node: ast.Call) -> Any:
        builtin = BUILTINS[node.name]
        if builtin.event_time:
            zone = [time_zone(str(a.value)) for a in node.args if isinstance(a, ast.Literal)]
            args: list[Any] = [self.event.get(self.timestamp_field)]
            pairs: tuple[tuple[ast.Expr, Any], ...] = ()
        else:
            args = [self.value(arg) for arg in node.args]
            zone = []
            pairs = tuple(zip(node.args, args, strict=True))

        def report(value: Any) -> bool:
            if value is not None:
                self._mismatch(node, f"{node.name}() cannot use {_A[kind(value)]}", pairs)
            return False

        return builtin.impl(report, *args, *zone)


def kind(value: Any) -> str:
    """The rule language's name for the kind of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, Mapping) else "other"


def _compare(op: str, left: Any, right: Any) -> tuple[str | None, bool]:
    """(the mismatch, if any; the result) of a comparison."""
    if left is None or right is None:
        return None, False
    lk, rk = kind(left), kind(right)
    if lk != rk or lk == "other":
        return f"{_A[lk]} compared with {_A[rk]}", False
    if op not in ("==", "!=") and lk not in ("number", "string"):
        return f"{_A[lk]} has no order", False
    if op == "==":
        return None, bool(left == right)
    if op == "!=":
        return None, bool(left != right)
    if op == "<":
        return None, bool(left < right)
    if op == "<=":
        return None, bool(left <= right)
    return None, bool(left > right) if op == ">" else bool(left >= right)


def _member(item: Any, container: Any) -> tuple[str | None, bool]:
    """`item in container`: an element of a list, or a substring of a string."""
    if container is None:
        return None, False
    if isinstance(container, list):
        if item is None:
            return None, any(element is None for element in container)
        same = [element for element in container if kind(element) == kind(item)]
        if container and not same:
            kinds = " or ".join(sorted({_A[kind(element)] for element in container}))
            return f"{_A[kind(item)]} looked for in a list of {kinds}", False
        return None, item in same
    if isinstance(container, str):
        if item is None:
            return None, False
        if not isinstance(item, str):
            return f"{_A[kind(item)]} looked for in a string", False
        return None, item in container
    return f"`in` needs a list or a string, not {_A[kind(container)]}", False


def _not_member(item: Any, container: Any) -> tuple[str | None, bool]:
    """`item not in container`: false, like every comparison, when either is null."""
    if item is None or container is None:
        return None, False
    problem, found = _member(item, container)
    return problem, problem is None and not found


def _string_test(op: str, left: Any, right: Any) -> tuple[str | None, bool]:
    if left is None or right is None:
        return None, False
    for value in (left, right):
        if not isinstance(value, str):
            return f"{op} needs strings, not {_A[kind(value)]}", False
    if op == "matches":
        return None, compile_pattern(right)(left)
    return None, left.startswith(right) if op == "startswith" else left.endswith(right)


def _index(obj: Any, key: Any) -> Any:
    if isinstance(obj, Mapping) and isinstance(key, str):
        return obj.get(key)
    if isinstance(obj, list) and kind(key) == "number" and isinstance(key, int):
        return obj[key] if -len(obj) <= key < len(obj) else None
    return None


def _is_path(node: ast.Expr) -> bool:
    """A field as an event holds it: `speed_kmh`, `location.lat`, `stops[0]`, `tags[name]`."""
    while isinstance(node, ast.Attr | ast.Index):
        node = node.obj
    return isinstance(node, ast.Field)


def _children(node: ast.Expr) -> tuple[ast.Expr, ...]:
    if isinstance(node, ast.Binary):
        return (node.left, node.right)
    if isinstance(node, ast.Unary):
        return (node.operand,)
    if isinstance(node, ast.Logic):
        return tuple(node.items)
    if isinstance(node, ast.Call | ast.ListLit):
        return tuple(node.args if isinstance(node, ast.Call) else node.items)
    if isinstance(node, ast.Attr):
        return (node.obj,)
    if isinstance(node, ast.Index):
        return (node.obj, node.index)
    return ()


def _null_literal(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None
