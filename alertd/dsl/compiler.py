"""Checked rules -> `alertd.model.Rule`s whose conditions and keys are generated Python.

Like Jinja, the compiler writes Python source from the syntax tree and compiles it once per
load: a condition runs as one expression with no interpretive overhead, within a few percent of
a hand-written lambda (see bench/README.md). User text never becomes source text: every literal,
field name and pattern is passed in as a bound value (a closure variable of the generated
factory), and the source only ever contains names the compiler made up.

Constant folding runs first (`fold`), so `5m > 60` or `type == "x"` inside a matcher that knows
the event's type cost nothing at run time. `compile_matcher` fuses the conditions of many rules
into one function per event type for `RuleSet`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd.dsl import ast, runtime
from alertd.dsl.checker import CheckedRule, Window
from alertd.dsl.functions import BUILTINS, time_zone
from alertd.model import CountSpec, Event, Key, KeyFunction, Rule, SuppressSpec

TYPE_FIELD = "type"
_ATTRIBUTE = "_alertd_condition"
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_COMPARISONS = frozenset(_FLIP)
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_HELPERS: dict[str, Any] = {
    "_NUM": runtime.NUMBER_TYPES,
    "_index": runtime.index,
    "_scalar": runtime.scalar,
    **{f"_op{i}": fn for i, fn in enumerate(runtime.OPERATORS.values())},
    **{f"_fn_{name}": builtin.impl for name, builtin in BUILTINS.items()},
}
_OPERATOR_HELPER = {op: f"_op{i}" for i, op in enumerate(runtime.OPERATORS)}


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """What a compiled condition remembers, so that `compile_matcher` can fuse it with others."""

    rule_id: str
    expr: ast.Expr
    timestamp_field: str


class _CannotFold(Exception):
    pass


# Rules ------------------------------------------------------------------------------------------


def compile_rules(checked: Sequence[CheckedRule], timestamp_field: str = "timestamp") -> list[Rule]:
    """Compile checked rules; one Python compile() for all of them."""
    module: list[str] = []
    bindings: list[dict[str, Any]] = []
    exprs: list[ast.Expr] = []
    for i, rule in enumerate(checked):
        gen = _Generator(rule.id, timestamp_field)
        expr = fold(rule.condition)
        exprs.append(expr)
        condition = gen.condition(expr)
        count_key = gen.key(rule.count)
        suppress_key = gen.key(rule.suppress)
        module.append(
            f"def _rule{i}(*, {', '.join(gen.bindings) or '_unused=None'}):\n"
            f"    def condition(e):\n"
            f"        try:\n"
            f"            return {condition}\n"
            f"        except Exception:\n"
            f"            return {gen.bad}(True)\n"
            f"    def count_key(e):\n"
            f"        try:\n"
            f"            return {count_key}\n"
            f"        except Exception:\n"
            f"            {gen.bad}(True)\n"
            f"            return {_none_key(rule.count)}\n"
            f"    def suppress_key(e):\n"
            f"        try:\n"
            f"            return {suppress_key}\n"
            f"        except Exception:\n"
            f"            {gen.bad}(True)\n"
            f"            return {_none_key(rule.suppress)}\n"
            f"    return condition, count_key, suppress_key\n"
        )
        bindings.append(gen.bindings)
    namespace = _exec("\n".join(module), "<alertd rules>")
    rules: list[Rule] = []
    for i, (rule, expr) in enumerate(zip(checked, exprs, strict=True)):
        condition, count_key, suppress_key = namespace[f"_rule{i}"](**bindings[i])
        setattr(condition, _ATTRIBUTE, CompiledCondition(rule.id, expr, timestamp_field))
        rules.append(_rule(rule, condition, count_key, suppress_key, expr))
    return rules


def _none_key(window: Window | None) -> str:
    return "(" + "None, " * len(window.keys) + ")" if window else "()"


def _rule(
    rule: CheckedRule,
    condition: Callable[[Event], bool],
    count_key: KeyFunction,
    suppress_key: KeyFunction,
    expr: ast.Expr,
) -> Rule:
    count = None
    if rule.count is not None:
        count = CountSpec(
            rule.count.threshold, rule.count.seconds, count_key, rule.count.key_sources
        )
    suppress = None
    if rule.suppress is not None:
        suppress = SuppressSpec(rule.suppress.seconds, suppress_key, rule.suppress.key_sources)
    return Rule(
        id=rule.id,
        name=rule.name,
        condition=condition,
        priority=rule.priority,
        description=rule.description,
        event_types=event_types(expr),
        count=count,
        suppress=suppress,
        notify=rule.notify,
        template=rule.template,
        labels=rule.labels,
        enabled=rule.enabled,
        location=rule.location,
        condition_source=rule.condition_source,
    )


def _exec(source: str, filename: str) -> dict[str, Any]:
    namespace: dict[str, Any] = dict(_HELPERS)
    exec(compile(source, filename, "exec"), namespace)  # our own generated source, never user text
    return namespace


# Matchers: one function per event type ----------------------------------------------------------


def compile_matcher(rules: Sequence[Rule], event_type: str | None) -> Callable[[Event], list[Rule]]:
    """One function that returns the rules (in order) whose condition holds for an event.

    With `event_type`, every event it is given has that type: `type == "x"` tests fold away.
    Fields read by two or more rules are read from the event once. Rules that were not compiled
    from the rule language are called as they are.
    """
    known = {TYPE_FIELD: event_type} if event_type is not None else {}
    exprs: list[ast.Expr | None] = []
    for rule in rules:
        compiled = getattr(rule.condition, _ATTRIBUTE, None)
        exprs.append(fold(compiled.expr, known) if compiled is not None else None)
    shared = Counter(name for expr in exprs if expr is not None for name in set(_fields(expr)))
    preload = sorted(name for name, uses in shared.items() if uses > 1)

    bindings: dict[str, Any] = {}
    lines = ["def match(e):", "    out = []"]
    locals_: dict[str, str] = {}
    for n, name in enumerate(preload):
        bindings[f"_k{n}"] = name
        locals_[name] = f"_f{n}"
        lines.append(f"    _f{n} = e.get(_k{n})")
    for i, (rule, expr) in enumerate(zip(rules, exprs, strict=True)):
        bindings[f"_r{i}"] = rule
        if expr is None:
            bindings[f"_c{i}"] = rule.condition
            lines.append(f"    if _c{i}(e): out.append(_r{i})")
            continue
        timestamp_field = getattr(rule.condition, _ATTRIBUTE).timestamp_field
        gen = _Generator(rule.id, timestamp_field, prefix=f"_{i}", fields=locals_)
        source = gen.condition(expr)
        bindings.update(gen.bindings)
        lines += [
            "    try:",
            f"        if {source}: out.append(_r{i})",
            "    except Exception:",
            f"        {gen.bad}(True)",
        ]
    lines.append("    return out")
    body = "\n".join("    " + line for line in lines)
    source = (
        f"def _factory(*, {', '.join(bindings) or '_unused=None'}):\n{body}\n    return match\n"
    )
    namespace = _exec(source, f"<alertd matcher {event_type}>")
    matcher: Callable[[Event], list[Rule]] = namespace["_factory"](**bindings)
    return matcher


def _fields(expr: ast.Expr) -> Iterator[str]:
    """The top-level fields an expression reads (the timestamp field for hour() and weekday())."""
    match expr:
        case ast.Field(name=name):
            yield name
        case ast.MacroRef(body=body):
            yield from _fields(body)
        case ast.ListLit(items=items) | ast.Logic(items=items):
            for item in items:
                yield from _fields(item)
        case ast.Call(args=args):
            for arg in args:
                yield from _fields(arg)
        case ast.Attr(obj=obj):
            yield from _fields(obj)
        case ast.Index(obj=obj, index=index):
            yield from _fields(obj)
            yield from _fields(index)
        case ast.Unary(operand=operand):
            yield from _fields(operand)
        case ast.Binary(left=left, right=right):
            yield from _fields(left)
            yield from _fields(right)


# Event types -----------------------------------------------------------------------------------


def event_types(expr: ast.Expr) -> frozenset[str] | None:
    """The event types a condition can match, from its `type == "x"` / `type in [...]` tests
    joined by `and` (intersection) and `or` (union); None when it may match any type."""
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


# Constant folding -------------------------------------------------------------------------------


def fold(expr: ast.Expr, known: Mapping[str, ast.Scalar] | None = None) -> ast.Expr:
    """The expression with every constant part computed; `known` gives fields a fixed value."""
    known = known or {}
    match expr:
        case ast.Field(name=name, span=span) if name in known:
            return ast.Literal(known[name], span)
        case ast.MacroRef(name=name, body=body, span=span):
            folded = fold(body, known)
            return folded if isinstance(folded, ast.Literal) else ast.MacroRef(name, folded, span)
        case ast.ListLit(items=items, span=span, name=name):
            return ast.ListLit(tuple(fold(item, known) for item in items), span, name)
        case ast.Attr(obj=obj, name=name, span=span):
            folded_obj = fold(obj, known)
            if isinstance(folded_obj, ast.Literal):
                return ast.Literal(None, span)
            return ast.Attr(folded_obj, name, span)
        case ast.Index(obj=obj, index=index, span=span):
            return ast.Index(fold(obj, known), fold(index, known), span)
        case ast.Unary(op=op, operand=operand, span=span):
            folded = fold(operand, known)
            if isinstance(folded, ast.Literal):
                if op == "not" and isinstance(folded.value, bool):
                    return ast.Literal(not folded.value, span)
                if op == "-":
                    return _try_const(lambda: runtime.neg(folded.value, _refuse), expr, span)
            return ast.Unary(op, folded, span)
        case ast.Logic():
            return _fold_logic(expr, known)
        case ast.Binary(op=op, left=left, right=right, span=span, op_span=op_span):
            fl, fr = fold(left, known), fold(right, known)
            folded_binary = ast.Binary(op, fl, fr, span, op_span)
            lv, rv = _const(fl), _const(fr)
            if lv is _NOT_CONST or rv is _NOT_CONST:
                return folded_binary
            if op == "matches":
                return _try_const(
                    lambda: runtime.matches(lv, re.compile(str(rv)), _refuse), folded_binary, span
                )
            operator = runtime.OPERATORS[op]
            return _try_const(lambda: operator(lv, rv, _refuse), folded_binary, span)
        case ast.Call(name=name, args=args, span=span):
            folded_args = tuple(fold(arg, known) for arg in args)
            folded_call = ast.Call(name, folded_args, span)
            builtin = BUILTINS[name]
            values = [_const(arg) for arg in folded_args]
            if not builtin.pure or any(value is _NOT_CONST for value in values):
                return folded_call
            return _try_const(lambda: builtin.impl(_refuse, *values), folded_call, span)
    return expr


def _fold_logic(expr: ast.Logic, known: Mapping[str, ast.Scalar]) -> ast.Expr:
    absorbing = expr.op == "or"  # `or` is decided by a true item, `and` by a false one
    items: list[ast.Expr] = []
    for item in expr.items:
        folded = fold(item, known)
        if isinstance(folded, ast.Literal) and isinstance(folded.value, bool):
            if folded.value is absorbing:
                return ast.Literal(absorbing, expr.span)
            continue
        items.append(folded)
    if not items:
        return ast.Literal(not absorbing, expr.span)
    return items[0] if len(items) == 1 else ast.Logic(expr.op, tuple(items), expr.span)


_NOT_CONST = object()


def _const(expr: ast.Expr) -> Any:
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListLit):
        values = [_const(item) for item in expr.items]
        return _NOT_CONST if any(v is _NOT_CONST for v in values) else values
    return _NOT_CONST


def _refuse(value: Any) -> bool:
    if value is None:
        return False
    raise _CannotFold


def _try_const(compute: Callable[[], Any], otherwise: ast.Expr, span: ast.Span) -> ast.Expr:
    try:
        value = compute()
    except _CannotFold:
        return otherwise
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return ast.Literal(value, span)
    return otherwise


# Code generation --------------------------------------------------------------------------------


class _Generator:
    """Writes one rule's expressions as Python source; values it needs go in `bindings`."""

    def __init__(
        self,
        rule_id: str,
        timestamp_field: str,
        prefix: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        self.prefix = prefix
        self.timestamp_field = timestamp_field
        self.fields = fields or {}  # field name -> local variable that already holds it
        self.bindings: dict[str, Any] = {}
        self._constants: dict[tuple[type, Any], str] = {}
        self._temps = 0
        self.bad = self.bind_new(runtime.reporter(rule_id), "bad")

    def bind_new(self, value: Any, hint: str = "b") -> str:
        name = f"_{hint}{self.prefix}_{len(self.bindings)}"
        self.bindings[name] = value
        return name

    def bind(self, value: Any) -> str:
        """A name for a constant; equal constants share one."""
        try:
            key = (type(value), value)
            hash(key)
        except TypeError:
            return self.bind_new(value)
        if key not in self._constants:
            self._constants[key] = self.bind_new(value)
        return self._constants[key]

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self.prefix}_{self._temps}"

    def field(self, name: str) -> str:
        return self.fields.get(name) or f"e.get({self.bind(name)})"

    # entry points

    def condition(self, expr: ast.Expr) -> str:
        return self.value(expr)

    def key(self, window: Window | None) -> str:
        if window is None:
            return "()"
        return "(" + "".join(f"_scalar({self.value(key)}), " for key in window.keys) + ")"

    # expressions

    def value(self, node: ast.Expr) -> str:
        match node:
            case ast.Literal(value=value):
                return repr(value) if value is None or isinstance(value, bool) else self.bind(value)
            case ast.Field(name=name):
                return self.field(name)
            case ast.MacroRef(body=body):
                return self.value(body)
            case ast.ListLit(items=items):
                constant = _const(node)
                if constant is not _NOT_CONST:
                    return self.bind_new(constant)
                return "[" + ", ".join(self.value(item) for item in items) + "]"
            case ast.Attr(obj=obj, name=name):
                t = self.temp()
                return (
                    f"({t}.get({self.bind(name)}) if ({t} := {self.value(obj)}).__class__ is dict "
                    "else None)"
                )
            case ast.Index(obj=obj, index=index):
                return f"_index({self.value(obj)}, {self.value(index)})"
            case ast.Unary(op="not", operand=operand):
                return f"(not {self.value(operand)})"
            case ast.Unary(operand=operand):
                t = self.temp()
                return (
                    f"(-{t} if ({t} := {self.value(operand)}).__class__ in _NUM "
                    f"else ({self.bad}({t}) or None))"
                )
            case ast.Logic(op=op, items=items):
                return "(" + f" {op} ".join(self.value(item) for item in items) + ")"
            case ast.Binary():
                return self.binary(node)
            case ast.Call():
                return self.call(node)
        raise TypeError(f"cannot compile {node!r}")  # pragma: no cover - the checker resolved it

    def call(self, node: ast.Call) -> str:
        builtin = BUILTINS[node.name]
        if node.name == "exists":
            return f"({self.value(node.args[0])} is not None)"
        args = [self.bad]
        if builtin.event_time:
            args.append(self.field(self.timestamp_field))
            if node.args:
                zone = node.args[0]
                assert isinstance(zone, ast.Literal) and isinstance(zone.value, str)
                args.append(self.bind(time_zone(zone.value)))
        else:
            args += [self.value(arg) for arg in node.args]
        return f"_fn_{node.name}({', '.join(args)})"

    def binary(self, node: ast.Binary) -> str:
        op, left, right = node.op, node.left, node.right
        if op in ("==", "!=") and _is_null(right):
            return f"({self.value(left)} is {'' if op == '==' else 'not '}None)"
        if op in ("==", "!=") and _is_null(left):
            return f"({self.value(right)} is {'' if op == '==' else 'not '}None)"
        if op in _COMPARISONS:
            if _is_scalar(right):
                return self.compare_constant(op, self.value(left), right)
            if _is_scalar(left):
                return self.compare_constant(_FLIP[op], self.value(right), left)
        elif op in ("in", "not in"):
            inline = self.membership(op, left, right)
            if inline is not None:
                return inline
        elif op == "matches":
            assert isinstance(right, ast.Literal) and isinstance(right.value, str)
            search = self.bind_new(re.compile(right.value).search, "re")
            return self.string_test(left, f"{search}({{t}}) is not None")
        elif op in ("startswith", "endswith") and _is_string(right):
            return self.string_test(left, f"{{t}}.{op}({self.value(right)})")
        elif op == "contains" and _is_string(right):
            t = self.temp()
            c = self.value(right)
            return (
                f"({c} in {t} if ({t} := {self.value(left)}).__class__ is str "
                f"else {_OPERATOR_HELPER['contains']}({t}, {c}, {self.bad}))"
            )
        elif (
            op in _ARITHMETIC
            and _is_number(right)
            and not (op in ("/", "%") and _literal(right) == 0)
        ):
            t = self.temp()
            return (
                f"({t} {op} {self.value(right)} if ({t} := {self.value(left)}).__class__ in _NUM "
                f"else ({self.bad}({t}) or None))"
            )
        helper = _OPERATOR_HELPER[op]
        return f"{helper}({self.value(left)}, {self.value(right)}, {self.bad})"

    def string_test(self, left: ast.Expr, test: str) -> str:
        t = self.temp()
        return (
            f"({test.format(t=t)} if ({t} := {self.value(left)}).__class__ is str "
            f"else {self.bad}({t}))"
        )

    def compare_constant(self, op: str, left: str, constant: ast.Expr) -> str:
        value = _literal(constant)
        t = self.temp()
        if isinstance(value, bool):
            python_op = "is" if op == "==" else "is not"
            test, guard = f"{t} {python_op} {value!r}", "is bool"
        elif isinstance(value, str):
            test, guard = f"{t} {op} {self.bind(value)}", "is str"
        else:
            test, guard = f"{t} {op} {self.bind(value)}", "in _NUM"
        return f"({test} if ({t} := {left}).__class__ {guard} else {self.bad}({t}))"

    def membership(self, op: str, left: ast.Expr, right: ast.Expr) -> str | None:
        """`x in [literals...]` of one kind, as a set lookup; None when that does not apply."""
        values = _const(right)
        if values is _NOT_CONST or not values:
            return None
        present = [v for v in values if v is not None]
        kinds = {runtime.kind(v) for v in present}
        if len(kinds) != 1:
            return None
        guard = {"string": "is str", "number": "in _NUM", "bool": "is bool"}.get(kinds.pop())
        if guard is None:
            return None
        members = self.bind_new(frozenset(present), "set")
        t = self.temp()
        otherwise = f"{self.bad}({t})"
        if op == "in" and len(present) < len(values):  # the list holds null too
            otherwise = f"({t} is None or {otherwise})"
        left_value = self.value(left)
        return f"({t} {op} {members} if ({t} := {left_value}).__class__ {guard} else {otherwise})"


def _literal(node: ast.Expr) -> Any:
    assert isinstance(node, ast.Literal)
    return node.value


def _is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def _is_scalar(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is not None


def _is_string(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and isinstance(node.value, str)


def _is_number(node: ast.Expr) -> bool:
    return (
        isinstance(node, ast.Literal)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def key_of(values: Sequence[Any]) -> Key:
    """A key tuple from already computed values (for tests and tools)."""
    return tuple(runtime.scalar(value) for value in values)
