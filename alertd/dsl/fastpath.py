"""The fast path of a standalone condition: the checks the semantics need, paid only when they
can matter.

A condition compiles to two functions. The checked one (alertd.dsl.compiler) guards every
comparison: null is false, a kind mismatch is false and counted. The fast one, written here, is
what a programmer would write by hand for well-formed events, and gives up when an event is not:

    if (t := e["type"]) != "location_update":       # the type test, as a statement
        return t.__class__ is not str and _recheck(t)
    if (s := e["speed_kmh"]) > 90:                  # no bool satisfies `> 90`: no check here
        return True
    return s.__class__ is bool and _recheck(s)      # ... only when the answer is no

It reads fields with `e[key]` and lets Python refuse what the language refuses: a missing
field raises KeyError, ordering a null or a string against a number raises TypeError. Where
Python would answer instead of refusing (`true > 0`, `5 == "5"`), the fast path checks, and
mostly only on the branch where the answer could be wrong. On any exception, and through
`_recheck` on any mismatch, the event goes to the checked function, which decides and counts.
So the fast path never counts anything itself: when it returns, it returns what the checked
function would have, having met no mismatch; otherwise the checked function runs from scratch.

Its top-level `and` is written as `if` statements, not one expression: CPython 3.11
specialises a comparison followed by a conditional jump (`COMPARE_OP_STR_JUMP`), which a
hand-written `lambda e: a == b and ...` never gets. A value a test has proved (a string after
`== "x"`, a number after `> 90`) needs no further check, and a field or path read by several
tests is read once, into a local.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from alertd.dsl import ast
from alertd.dsl.regex import compile_pattern
from alertd.dsl.tree import Slot, single_kind, slot_of

if TYPE_CHECKING:
    from alertd.dsl.compiler import Generator

RECHECK = "_recheck"
"""The fast path's reporter: false for a null, otherwise it raises, so the checked path runs."""

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDERING = frozenset({"<", "<=", ">", ">="})
_ORDER_TESTS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_STRING_METHODS = frozenset({"startswith", "endswith", "matches"})


def conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    """The items of a top-level `and` (through macros), or the expression alone."""
    while isinstance(expr, ast.MacroRef):
        expr = expr.body
    if isinstance(expr, ast.Logic) and expr.op == "and":
        return [item for part in expr.items for item in conjuncts(part)]
    return [expr]


def _case_of(node: ast.Expr) -> tuple[str, ast.Expr] | None:
    """`lower(field)` -> ("lower", field); None for anything else."""
    node = _unwrapped(node)
    if isinstance(node, ast.Call) and node.name in ("lower", "upper"):
        (argument,) = node.args
        if slot_of(_unwrapped(argument)) is not None:
            return node.name, _unwrapped(argument)
    return None


def _is_arithmetic(left: ast.Expr, right: ast.Expr) -> bool:
    """Whether two sides of an ordering are numbers computed from fields: one surely a number,
    the other too or a field, and one of them computed."""
    sides = (left, right)
    if not any(isinstance(_unwrapped(side), ast.Binary) for side in sides):
        return False
    if not all(_is_number(side) or slot_of(_unwrapped(side)) is not None for side in sides):
        return False
    return _is_number(left) or _is_number(right)


def _unwrapped(node: ast.Expr) -> ast.Expr:
    while isinstance(node, ast.MacroRef):
        node = node.body
    return node


def _is_number(node: ast.Expr) -> bool:
    """Whether the node is surely a number when Python computes it without raising (booleans
    aside): a number literal; `a - b` or `a / b` of numbers and fields (Python refuses strings,
    lists and nulls there); `a + b` with one side surely a number."""
    node = _unwrapped(node)
    if isinstance(node, ast.Literal):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.Binary) and node.op in ("+", "-", "/"):
        # Each side is asked once: asking twice doubles the work at every level of nesting.
        left, right = _is_number(node.left), _is_number(node.right)
        if not (left or slot_of(_unwrapped(node.left)) is not None):
            return False
        if not (right or slot_of(_unwrapped(node.right)) is not None):
            return False
        return node.op != "+" or left or right
    return False


def uses_event_time(nodes: Iterable[ast.Expr]) -> bool:
    """Whether an expression (all its nodes) reads the clock (`hour()` of an event without a
    timestamp): such a condition has no fast path, so that it is never evaluated twice."""
    return any(node.__class__ is ast.Call and node.name in ("hour", "weekday") for node in nodes)


class Branches(NamedTuple):
    """A fast path as tests and answers (`FastPath.branches`), written out as a function's
    body (`returns`) or, inline in other generated code, as statements that set a local
    (`assigns`)."""

    tests: list[tuple[str, str]]  # (what holds, the answer then), tried in order
    otherwise: str  # the answer when none holds

    def returns(self) -> list[str]:
        lines = []
        for test, answer in self.tests:
            lines += [f"if {test}:", f"    return {answer}"]
        return [*lines, f"return {self.otherwise}"]

    def assigns(self, target: str) -> list[str]:
        if not self.tests:
            return [f"{target} = {self.otherwise}"]
        lines = []
        for position, (test, answer) in enumerate(self.tests):
            lines += [f"{'el' if position else ''}if {test}:", f"    {target} = {answer}"]
        return [*lines, "else:", f"    {target} = {self.otherwise}"]


class FastPath:
    """Writes the statements of one condition's fast path."""

    def __init__(
        self,
        gen: Generator,
        expr: ast.Expr,
        reads: Mapping[Slot, int],
        read: Mapping[Slot, str] | None = None,
    ) -> None:
        """`read`: fields and paths the caller has read into locals (with `.get`: a missing
        one is null there, which the tests treat as they do a null field)."""
        self.gen = gen  # writes the parts that are not simple tests, with `_recheck` as reporter
        self.gen.bad = RECHECK
        self.items = conjuncts(expr)
        self.reads = reads  # how many times the expression reads each field and path
        self.locals: dict[Slot, str] = dict(read or {})  # slots already read into a local
        self.proven: dict[str, str] = {}  # local -> the kind a passed test proved it has
        # A test to try once the last one held, and its answer if it holds (see number_test).
        self.then: tuple[str, str] | None = None

    def branches(self) -> Branches:
        """The condition as tests tried in order, each with what it answers when it holds,
        and the answer when none does. Written once: its locals are named as they are
        read."""
        tests: list[tuple[str, str]] = []
        for position, item in enumerate(self.items):
            last = position == len(self.items) - 1
            test = self.test(item)
            then, self.then = self.then, None
            if test is None:
                self.gen.slots = dict(self.locals)
                value = self.gen.value(item)
                if last:
                    return Branches(tests, value)
                tests.append((f"not {value}", "False"))
            elif then is not None:
                tests += [(f"not ({test[0]})", test[1]), then]
                if last:
                    return Branches(tests, "True")
            elif last:
                tests.append((test[0], "True"))
                return Branches(tests, test[1])
            else:
                tests.append((f"not ({test[0]})", test[1]))
        raise AssertionError("a condition has at least one item")  # pragma: no cover

    # One test: what holds when the comparison is true, and what to return when it does not

    def test(self, node: ast.Expr) -> tuple[str, str] | None:
        while isinstance(node, ast.MacroRef):
            node = node.body
        if not isinstance(node, ast.Binary):
            return None
        op, subject, operand = node.op, node.left, node.right
        if op in _ORDERING and _is_arithmetic(subject, operand):
            return self.arithmetic_test(node)  # `speed > limit + 10`
        if op in _FLIP and isinstance(subject, ast.Literal):
            op, subject, operand = _FLIP[op], operand, subject
        if _case_of(subject) is not None:  # `lower(fleet_id) == "f-13"`
            return self.case_test(subject, op, operand)
        if slot_of(subject) is None:  # a test of another computed value: the checked form
            return None
        if op in ("in", "not in"):
            members = single_kind(operand)
            if members is None or members[0] != "string":
                return None
            return self.string_test(subject, op, self.gen.bind_new(members[1], "set"))
        if not isinstance(operand, ast.Literal) or operand.value is None:
            return None
        value = operand.value
        if op in _STRING_METHODS and isinstance(value, str):
            # Python refuses these for anything but a string (AttributeError, TypeError).
            if op == "matches":
                search = self.gen.bind_new(compile_pattern(value), "re")
                return self.refused_otherwise(subject, lambda t: f"{search}({t})")
            prefix = self.gen.bind(value)
            return self.refused_otherwise(subject, lambda t: f"{t}.{op}({prefix})")
        if op not in _FLIP:
            return None
        if isinstance(value, bool):
            return self.bool_test(subject, op, value)
        if isinstance(value, str):
            text = self.gen.bind(value)
            if op in _ORDERING:  # Python refuses to order a string against anything else
                return self.refused_otherwise(subject, lambda t: f"{t} {op} {text}")
            return self.string_test(subject, op, text)
        return self.number_test(subject, op, value)

    def refused_otherwise(self, subject: ast.Expr, test: Callable[[str], str]) -> tuple[str, str]:
        """A string test that Python refuses, by raising, for any other kind."""
        read, t = self.subject(subject)
        self.proven[t] = "string"
        return test(read), "False"

    def string_test(self, subject: ast.Expr, op: str, operand: str) -> tuple[str, str]:
        """`== "x"` and `in [...]` hold only for strings; `!=` and `not in` need a guard."""
        read, t = self.subject(subject)
        proven = self.proven.get(t) == "string"
        self.proven[t] = "string"
        condition = f"{read} {op} {operand}"
        if proven:
            return condition, "False"
        if op in ("!=", "not in"):
            condition += f" and {t}.__class__ is str"
        return condition, self.mismatch(t, "is not str")

    def bool_test(self, subject: ast.Expr, op: str, value: bool) -> tuple[str, str] | None:
        if op not in ("==", "!="):
            return None
        read, t = self.subject(subject)
        proven = self.proven.get(t) == "bool"
        self.proven[t] = "bool"
        if op == "==":
            condition = f"{read} is {value!r}"
        else:
            condition = f"{read} is not {value!r}"
            condition += "" if proven else f" and {t}.__class__ is bool"
        return condition, "False" if proven else self.mismatch(t, "is not bool")

    def number_test(self, subject: ast.Expr, op: str, value: int | float) -> tuple[str, str]:
        read, t = self.subject(subject)
        literal = self.gen.bind(value)
        proven = self.proven.get(t) == "number"
        self.proven[t] = "number"
        condition = f"{read} {op} {literal}"
        if proven:
            return condition, "False"
        if op in _ORDERING:
            # Python orders only numbers and booleans against a number (else TypeError); a
            # boolean must not pass, and is a mismatch when it fails.
            booleans_pass = [_ORDER_TESTS[op](b, value) for b in (False, True)]
            if all(booleans_pass):
                # Every boolean passes (`< 10`): one that fails is no boolean, so most events
                # (`fuel < 10` is mostly false) are answered without a test of the kind,
                # which follows for those that pass.
                self.then = (f"{t}.__class__ is bool", f"{RECHECK}({t})")
                return condition, "False"
            if any(booleans_pass):
                condition += f" and {t}.__class__ is not bool"
            return condition, self.mismatch(t, "is bool")
        # Two identity tests cost less than a tuple's `in`, and most readings are floats.
        if op == "!=":
            condition += f" and ({t}.__class__ is float or {t}.__class__ is int)"
        elif value in (0, 1):  # false == 0 and true == 1 in Python
            condition += f" and {t}.__class__ is not bool"
        return condition, self.mismatch(t, f"is not float and {t}.__class__ is not int")

    def case_test(self, call: ast.Expr, op: str, operand: ast.Expr) -> tuple[str, str] | None:
        """A string test of `lower(field)` or `upper(field)`: str.lower raises for any other
        kind (AttributeError), so what it gives is a string."""
        case = _case_of(call)
        if case is None or op not in ("==", "!=", "in", "not in"):
            return None
        name, field = case
        if op in ("in", "not in"):
            members = single_kind(operand)
            if members is None or members[0] != "string":
                return None
            text = self.gen.bind_new(members[1], "set")
        elif isinstance(operand, ast.Literal) and isinstance(operand.value, str):
            text = self.gen.bind(operand.value)
        else:
            return None
        read, _ = self.subject(field)
        return f"{read}.{name}() {op} {text}", "False"

    def arithmetic_test(self, node: ast.Binary) -> tuple[str, str]:
        """Numbers ordered after `+`, `-` or `/`: Python raises for every kind but numbers and
        booleans there (one side is surely a number, see `_is_number`); no field read may be
        a boolean, on either branch."""
        fields: list[str] = []
        condition = f"{self.number(node.left, fields)} {node.op} {self.number(node.right, fields)}"
        unproven = [t for t in fields if self.proven.get(t) != "number"]
        for t in fields:
            self.proven[t] = "number"
        if not unproven:
            return condition, "False"
        booleans = " or ".join(f"{t}.__class__ is bool" for t in unproven)
        condition += "".join(f" and {t}.__class__ is not bool" for t in unproven)
        return condition, f"({booleans}) and {RECHECK}(True)"

    def number(self, node: ast.Expr, fields: list[str]) -> str:
        """Python for a numeric operand (`_is_number` or a field); the locals of the fields it
        reads go in `fields`."""
        node = _unwrapped(node)
        if isinstance(node, ast.Literal):
            return self.gen.bind(node.value)
        if isinstance(node, ast.Binary):
            left, right = self.number(node.left, fields), self.number(node.right, fields)
            return f"({left} {node.op} {right})"
        read, t = self.subject(node)
        fields.append(t)
        return read

    def mismatch(self, local: str, kind_test: str) -> str:
        """The answer when a test failed: false, unless the value is of another kind."""
        return f"{local}.__class__ {kind_test} and {RECHECK}({local})"

    # Reading the value a test is about

    def subject(self, node: ast.Expr) -> tuple[str, str]:
        """Python that reads a field or path into a local, and that local's name."""
        slot = slot_of(node)
        assert slot is not None
        if slot in self.locals:
            local = self.locals[slot]
            return local, local
        local = self.gen.temp()
        read = f"({local} := {self.read(slot)})"
        if self.reads[slot] > 1:
            self.locals[slot] = local
        # No test here holds for a null: once it has, the path's parent was an object.
        parent = self.locals.get(slot[:-1])
        if parent is not None:
            self.proven[parent] = "object"
        return read, local

    def read(self, slot: Slot) -> str:
        """`e["a"]`, `e["a"]["b"]`: a missing key raises; a path through something that is not
        an object is null, as in the checked path."""
        if len(slot) == 1:
            return f"e[{self.gen.bind(slot[0])}]"
        parent_slot = slot[:-1]
        key = self.gen.bind(slot[-1])
        if parent_slot in self.locals:
            parent = self.locals[parent_slot]
            if self.proven.get(parent) == "object":
                return f"{parent}[{key}]"
            return f"{parent}[{key}] if {parent}.__class__ is dict else None"
        parent = self.gen.temp()
        if self.reads[parent_slot] > 1:
            self.locals[parent_slot] = parent
        parent_read = self.read(parent_slot)
        return f"{parent}[{key}] if ({parent} := {parent_read}).__class__ is dict else None"
