"""Checked rules -> `alertd.model.Rule`s whose conditions and keys are generated Python.

Like Jinja, the compiler writes Python source from the syntax tree and compiles it once per
load. A condition is two functions: its fast path (alertd.dsl.fastpath), plain Python for
well-formed events, within about 10% of a hand-written lambda (bench/README.md), and the
checked condition, with every guard the semantics need, written here and compiled when the
fast path first hands it an event. User text never becomes source text: every literal, field
name and pattern is a bound value, a constant or a global of the generated code (`define`),
and the source only ever contains names and placeholders the compiler made up.

Constant folding (alertd.dsl.fold) runs first, so `5m > 60` or `type == "x"` inside a matcher
that knows the event's type cost nothing at run time; the event types a rule can match come
from alertd.dsl.event_types. `compile_matcher` (alertd.dsl.matcher) fuses the
conditions of many rules into one function per event type for `RuleSet`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from types import CodeType, FunctionType
from typing import Any

from alertd.dsl import ast, runtime
from alertd.dsl.checker import CheckedRule
from alertd.dsl.errors import RuleError, RuleErrors
from alertd.dsl.event_types import TYPE_FIELD, event_types
from alertd.dsl.fastpath import FastPath, uses_event_time
from alertd.dsl.fold import fold
from alertd.dsl.functions import BUILTINS, EARTH_RADIUS_KM, time_zone, within_km
from alertd.dsl.overtime import OverTime
from alertd.dsl.previous import digest, previous_args, slots
from alertd.dsl.previous import shape as shape_of
from alertd.dsl.regex import compile_pattern
from alertd.dsl.sequence_step import PREVIOUS, STEP, TRACKED_STEP, step_source
from alertd.dsl.tree import NOT_CONST, Slot, constant, single_kind, slot_of, walk
from alertd.model import (
    AbsentSpec,
    CountSpec,
    Event,
    GroupSpec,
    KeyFunction,
    ResolveSpec,
    Rule,
    SequenceSpec,
    SuppressSpec,
    no_key,
)

CONDITION_ATTRIBUTE = "_alertd_condition"

Kind = tuple[str, bool]
"""A value kind (string, number, bool) and whether null is excluded (strict)."""
KIND_GUARDS = {"string": "is str", "number": "in _NUM", "bool": "is bool"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_COMPARISONS = frozenset(_FLIP)
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
_CONSTANT_TYPES = (str, int, float, frozenset)


_HELPERS: dict[str, Any] = {
    "_NUM": runtime.NUMBER_TYPES,
    "_recheck": runtime.recheck,
    "_within_km": within_km,
    "_index": runtime.index,
    "_scalar": runtime.scalar,
    "_SCALARS": runtime.SCALAR_TYPES,
    "_shared_key_of": runtime.shared_key_of,
    "_shared_key": runtime.shared_key,
    **{f"_op{i}": fn for i, fn in enumerate(runtime.OPERATORS.values())},
    **{f"_fn_{name}": builtin.impl for name, builtin in BUILTINS.items()},
}
_OPERATOR_HELPER = {op: f"_op{i}" for i, op in enumerate(runtime.OPERATORS)}


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """What a compiled condition remembers, so that `compile_matcher` can fuse it with others
    and `alertd.dsl.explain` can evaluate the rule as written."""

    rule_id: str
    expr: ast.Expr
    timestamp_field: str
    source: ast.SourceText  # the rule's file, where the spans of `expr` are (outside macros)
    keys: tuple[ast.Expr, ...] = ()  # the `by` expressions of `count`, `suppress`, the rule
    resolve_when: ast.Expr | None = None  # `resolve when`, folded
    previous: tuple[ast.Expr, ...] = ()  # the arguments of its prev() calls: p[0], p[1], ...
    rule_key: tuple[ast.Expr, ...] = ()  # the rule-level `by`
    # `group by` and `absent ... by`: held to the event schema like the others (a misspelt one
    # keys every event as null), though explain does not evaluate them on a match.
    other_keys: tuple[ast.Expr, ...] = ()


# Rules ------------------------------------------------------------------------------------------


def compile_rules(checked: Sequence[CheckedRule], timestamp_field: str = "timestamp") -> list[Rule]:
    """Compile checked rules. Rules of the same shape (the same source once their literals are
    bound) share one compiled module, so a file of similar rules compiles a few functions.

    Raises RuleErrors for rules Python cannot compile (too deep or large, should the checker's
    limits ever let one through); their errors have no source line (the loader adds it)."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for rule in checked:
        try:
            rules.append(_compile_rule(rule, timestamp_field))
        except (RecursionError, MemoryError, SyntaxError) as exc:
            # The checker's limits (MAX_DEPTH, MAX_SIZE) keep this from happening; if it ever
            # does, it is a rule that cannot be loaded, not a crash of the load.
            reason = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
            where = rule.location
            errors.append(
                RuleError(
                    where.path,
                    where.line,
                    where.column,
                    f"rule '{rule.id}' is too complex to compile ({reason})",
                    "split its condition into simpler rules or macros",
                )
            )
    if errors:
        raise RuleErrors(errors)
    return rules


def _compile_rule(rule: CheckedRule, timestamp_field: str) -> Rule:
    """One rule: its condition (fast path and checked path) and its key functions."""
    expr = fold(rule.condition)
    nodes = walk(expr)  # once: a rule's questions about its nodes share one walk
    classes = {node.__class__ for node in nodes}
    uses = _uses(nodes)
    fast = ast.Call not in classes or not uses_event_time(nodes)  # else never evaluated
    previous = previous_args(expr) if ast.Prev in classes else ()  # twice: the clock moves
    shape = _Shape(rule, timestamp_field, expr, uses, previous)
    later = not shape.sequence and len(nodes) <= EAGER_SIZE
    functions = _functions(shape, fast=fast, condition=not later)
    condition: Callable[..., bool]
    if later:
        condition = _condition_later(shape, fast)
    else:
        condition = functions["condition"]
        _bind_checked(condition.__code__, condition.__globals__, shape)
    sequence = None
    if shape.sequence:
        # The condition reads the kept values as its second argument; alone, as a Rule's
        # condition is called, it sees none (the first event of a key).
        over_time = rule.over_time or OverTime()
        sequence = SequenceSpec(
            condition,
            functions["scope"],
            len(shape.previous),
            over_time.hold,
            over_time.forget,
            functions[STEP],
            functions[TRACKED_STEP],
            digest(shape.previous),
        )
        condition = partial(condition, p=(None,) * len(shape.previous))
    keys = tuple(key for window in (rule.count, rule.suppress) if window for key in window.keys)
    resolve_when = _resolve_when(rule)
    absent = rule.over_time.absent if rule.over_time is not None else None
    other_keys = (*(rule.group.keys if rule.group else ()), *(absent.keys if absent else ()))
    setattr(
        condition,
        CONDITION_ATTRIBUTE,
        CompiledCondition(
            rule.id,
            expr,
            timestamp_field,
            rule.source,
            (*keys, *rule.key),
            resolve_when,
            shape.previous,
            rule.key,
            other_keys,
        ),
    )
    return _rule(rule, condition, functions, expr, sequence)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the source of one rule's functions is written from."""

    rule: CheckedRule
    timestamp_field: str
    expr: ast.Expr  # the condition, folded
    uses: Mapping[Slot, int]  # how many times it reads each field and path
    previous: tuple[ast.Expr, ...]  # the arguments of its prev() calls

    @property
    def sequence(self) -> bool:
        """Whether the rule keeps state per key over the events of its scope: its condition
        is then `condition(e, p)`, p the values kept from the previous event."""
        over_time = self.rule.over_time
        return bool(self.previous) or (over_time is not None and over_time.hold is not None)

    @property
    def params(self) -> str:
        return "e, p" if self.sequence else "e"

    def generator(self, **options: Any) -> Generator:
        gen = Generator(self.rule.id, self.timestamp_field, **options)
        gen.previous = slots(self.previous)
        return gen


def _resolve_scope(
    rule_types: frozenset[str] | None, resolve_when: ast.Expr | None
) -> frozenset[str] | None:
    """The event types `resolve when` is tried on: the rule's, and those it names itself (so
    that `type == "vehicle_status" and ...` sees status events); None: every type."""
    if rule_types is None or resolve_when is None:
        return rule_types
    return rule_types | (event_types(resolve_when) or frozenset())


def _resolve_when(rule: CheckedRule) -> ast.Expr | None:
    if rule.resolve is None or rule.resolve.when is None:
        return None
    return fold(rule.resolve.when)


EAGER_SIZE = 64
"""A condition of more nodes than this is compiled with its rule, not when first called: the
checker lets no expression nest deeper than 64 (resolve.MAX_DEPTH), which Python compiles,
and only a condition this large can nest deeper; should one ever fail to compile, it is then
an error of its rule at load, not of its first event."""

_FIRST_CALL: CodeType = compile(
    "def condition(e):\n    return _first_call(e)\n", "<alertd rule>", "exec"
).co_consts[0]


def _condition_later(shape: _Shape, fast: bool) -> FunctionType:
    """The rule's condition, written and compiled when first called. Alone, a rule's condition
    is rarely called (the daemon's RuleSet fuses the rules' syntax trees into matchers of its
    own, alertd.dsl.matcher), so loading does not write it: half of what loading a rule costs.
    The first call makes the function its compiled self (its code and globals), so that later
    calls cost what an eagerly compiled condition costs, and `_checked` (the checked path) is
    compiled later still, as `_checked_later` says."""
    namespace: dict[str, Any] = {}
    condition = FunctionType(_FIRST_CALL, namespace, "condition")

    def first_call(event: Event) -> bool:
        compiled = _functions(shape, fast=fast, others=False)["condition"]
        namespace.update(compiled.__globals__)
        condition.__code__ = compiled.__code__
        _bind_checked(compiled.__code__, namespace, shape)
        result: bool = condition(event)
        return result

    namespace["_first_call"] = first_call
    return condition


def _bind_checked(code: CodeType, namespace: dict[str, Any], shape: _Shape) -> None:
    """A fast path calls `_checked` for what it does not decide: the checked condition,
    compiled when first needed (`_checked_later`)."""
    if "_checked" in code.co_names:
        namespace["_checked"] = _checked_later(shape, namespace)


def _functions(
    shape: _Shape, *, fast: bool, condition: bool = True, others: bool = True
) -> dict[str, Any]:
    """The functions of `_source`, by name, with their values bound (`define`)."""
    try:
        return define(
            *_source(shape, fast=fast, constants=True, condition=condition, others=others)
        )
    except FoldedConstant:  # pragma: no cover - Python folded a placeholder (never seen)
        return define(
            *_source(shape, fast=fast, constants=False, condition=condition, others=others)
        )


def _source(
    shape: _Shape, *, fast: bool, constants: bool, condition: bool = True, others: bool = True
) -> tuple[tuple[CodeType, ...], dict[str, Any]]:
    """The compiled functions of a rule (its shape, shared) and the values they use: with
    `condition`, the condition, and with `others`, the key functions, `resolve_when` and, for
    a rule with prev(), `scope`. With `fast`, the condition is its fast path
    (alertd.dsl.fastpath), which calls `_checked` for what it does not decide; else it is the
    checked condition itself."""
    rule, params = shape.rule, shape.params
    gen = shape.generator()
    parts = []
    branches = None
    if not condition:
        pass
    elif not fast:
        parts = [_checked_source(gen, shape.expr, shape.uses, params=params)]
    else:
        plain = shape.generator(prefix="f", constants=constants)
        branches = FastPath(plain, shape.expr, shape.uses).branches()
        fast_body = "".join(f"        {line}\n" for line in branches.returns())
        gen.bindings.update(plain.bindings)
        parts = [
            f"def condition({params}):\n    try:\n{fast_body}"
            f"    except Exception:\n        return _checked({params})\n"
        ]
    if not others:
        return _shape("".join(parts)), gen.bindings
    keys = {"rule_key": rule.key}
    windows = (
        ("count_key", rule.count),
        ("suppress_key", rule.suppress),
        ("group_key", rule.group),
    )
    for name, window in windows:
        if window is not None:
            keys[name] = window.keys
    absent = rule.over_time.absent if rule.over_time is not None else None
    if absent is not None:
        keys["absent_key"] = absent.keys
    for name, exprs in keys.items():
        if exprs:
            none_key = "(" + "None, " * len(exprs) + ")"
            parts.append(f"def {name}(e):\n{_guarded(gen.key(exprs), gen.bad, none_key)}")
    resolve_when = _resolve_when(rule)
    if resolve_when is not None:
        # Evaluated only on events of the rule's scope with an open alert: the checked path is
        # fast enough, and a second fast path would double what a rule compiles to.
        parts.append(
            _checked_source(gen, resolve_when, _uses(walk(resolve_when)), name="resolve_when")
        )
    if shape.sequence:
        # What the engine reads of every event of the rule's scope, in one call: the rule's
        # key, and the values its prev() calls keep.
        key = gen.key(rule.key)
        values = "(" + "".join(f"{gen.value(arg)}, " for arg in shape.previous) + ")"
        nulls = "(" + "None, " * len(shape.previous) + ")"
        none_key = "(" + "None, " * len(rule.key) + ")"
        parts.append(
            f"def scope(e):\n{_guarded(f'({key}, {values})', gen.bad, f'({none_key}, {nulls})')}"
        )
        # The step keys the rule's table of key states as alertd.engine.sequence.state_key.
        none_state = "None" if len(rule.key) == 1 else none_key
        # The same, inline in the step every event of the scope goes through; one kept value
        # held bare (alertd.engine.sequence.hold_kept).
        bare = len(shape.previous) == 1
        scope = [
            "try:",
            f"    k = {gen.state_key(rule.key)}",
            f"    kept = {gen.value(shape.previous[0]) if bare else values}",
            "except Exception:",
            f"    {gen.bad}(True)",
            f"    k = {none_state}",
            f"    kept = {'None' if bare else nulls}",
        ]
        subscripted = _subscripted(rule.key, shape.previous, gen) if bare else []
        if subscripted:
            scope = subscripted + [f"    {line}" for line in scope]
        hold = rule.over_time is not None and rule.over_time.hold is not None
        # The condition's fast path inline too, setting `m`: a call less per event.
        test = None if branches is None else _step_test(shape, gen, constants, bare)
        for tracked in (False, True):
            parts.append(step_source(scope, hold=hold, test=test, tracked=tracked, bare=bare))
    return _shape("".join(parts)), gen.bindings


def _subscripted(
    key: Sequence[ast.Expr], previous: Sequence[ast.Expr], gen: Generator
) -> list[str]:
    """The start of a step's scope for the common rule, `by FIELD` keeping one FIELD: both
    read with `e[...]` (a subscript costs less than a call of `e.get`), falling back to the
    scope as written (`.get`: a missing field is null) when either is missing. Empty for
    any other rule."""
    if len(key) != 1 or not isinstance(key[0], ast.Field) or not isinstance(previous[0], ast.Field):
        return []
    k, field = gen.temp(), gen.bind(key[0].name)
    return [
        "try:",
        f"    k = {k} if ({k} := e[{field}]).__class__ in _SCALARS else _scalar({k})",
        f"    kept = e[{gen.bind(previous[0].name)}]",
        "except Exception:",
    ]


def _step_test(shape: _Shape, gen: Generator, constants: bool, bare: bool) -> list[str]:
    """The condition's fast path as a rule's step tests it, setting `m`: with the event's type
    known when the rule has one (the rule set offers the step only events of its types, as it
    fuses matchers), and with `bare`, the one kept value read as `p` itself."""
    expr = shape.expr
    types = event_types(expr)
    if types is not None and len(types) == 1:
        expr = fold(expr, {TYPE_FIELD: next(iter(types))})
    plain = shape.generator(prefix="q", constants=constants)
    plain.previous_values = PREVIOUS
    plain.bare_previous = bare
    # The one kept value of a field or path is in `kept` already: the test reads it there
    # (a cold event read less per event of the scope).
    kept = slot_of(shape.previous[0]) if bare else None
    read = {} if kept is None else {kept: "kept"}
    branches = FastPath(plain, expr, _uses(walk(expr)), read).branches()
    gen.bindings.update(plain.bindings)
    return branches.assigns("m")


def _uses(nodes: Iterable[ast.Expr]) -> Counter[Slot]:
    """How many times the nodes (an expression's, `walk`) read each field and path."""
    uses: Counter[Slot] = Counter()
    for node in nodes:
        cls = node.__class__
        if cls is ast.Field or cls is ast.Attr:
            slot = slot_of(node)
            if slot is not None:
                uses[slot] += 1
    return uses


def _checked_source(
    gen: Generator,
    expr: ast.Expr,
    uses: Mapping[Slot, int],
    name: str = "condition",
    params: str = "e",
) -> str:
    """The checked condition: every comparison guarded, every mismatch counted. A field or
    path it reads twice (`location.latitude > 1 and ... < 2`) is read once, into a local."""
    reused = {
        slot[:n] for slot, count in uses.items() if count > 1 for n in range(1, len(slot) + 1)
    }
    gen.slots = {slot: f"_s{n}" for n, slot in enumerate(sorted(reused, key=lambda s: (len(s), s)))}
    loads = [f"{local} = {gen.read(slot)}" for slot, local in gen.slots.items()]
    body = _guarded(gen.condition(expr), gen.bad, "False", loads)
    gen.slots = {}
    return f"def {name}({params}):\n{body}"


def _checked_later(shape: _Shape, namespace: dict[str, Any]) -> Callable[..., bool]:
    """The checked condition, compiled when the fast path in `namespace` first needs it: for
    many rules never, so loading does not write it (half the code a rule compiles to)."""

    def first_call(*args: Any) -> bool:
        gen = shape.generator()
        source = _checked_source(gen, shape.expr, shape.uses, params=shape.params)
        checked: Callable[..., bool] = define(_shape(source), gen.bindings)["condition"]
        namespace["_checked"] = checked  # later calls go straight to it
        return checked(*args)

    return first_call


def clear_caches() -> None:
    """Forget compiled rule shapes (benchmarks measure loading from nothing)."""
    _shape.cache_clear()


def _guarded(expression: str, bad: str, fallback: str, setup: Sequence[str] = ()) -> str:
    """A function body that returns the expression, or counts a mismatch and returns fallback
    should anything raise (the generated code is written not to; this is the safety net)."""
    lines = "".join(f"        {line}\n" for line in setup)
    return (
        f"    try:\n{lines}"
        f"        return {expression}\n"
        f"    except Exception:\n"
        f"        {bad}(True)\n"
        f"        return {fallback}\n"
    )


def compile_source(source: str, filename: str) -> tuple[CodeType, ...]:
    """The code of each function the generated source defines at its top level."""
    module = compile(source, filename, "exec")  # our own generated source, never user text
    return tuple(const for const in module.co_consts if isinstance(const, CodeType))


@lru_cache(maxsize=4096)
def _shape(source: str) -> tuple[CodeType, ...]:
    return compile_source(source, "<alertd rule>")


def define(codes: Sequence[CodeType], bindings: Mapping[str, Any]) -> dict[str, Any]:
    """Functions from compiled code, by name, with `bindings` and the run-time helpers.

    A bound value is a constant of the function where its name was written in the source as a
    placeholder string (`'_bf_2'`, see Generator), otherwise a global: reading a constant is
    the fastest there is, a global costs a short call 5-10% more, a closure variable ~15% more
    (bench/README.md). Each function gets its own copy of the code, so rules of one shape do
    not share the interpreter's per-instruction caches either.
    """
    available = {**_HELPERS, **bindings}
    namespace = {
        name: available[name] for code in codes for name in code.co_names if name in available
    }
    functions = {
        code.co_name: FunctionType(_with_constants(code, bindings), namespace) for code in codes
    }
    namespace.update(functions)  # they may call each other
    return functions


class FoldedConstant(Exception):
    """Python computed something from a placeholder at compile time: bind by name instead."""


def _with_constants(code: CodeType, bindings: Mapping[str, Any]) -> CodeType:
    """A copy of the code with each placeholder constant replaced by its value.

    The generated code contains no string constants but placeholders, and uses them only as
    operands, so Python has nothing to fold them into; should it ever, a string that is not a
    placeholder (`'_bf_1' + '_bf_2'`), or one inside a tuple, shows it.
    """
    constants = []
    for const in code.co_consts:
        if const.__class__ in (tuple, frozenset) and any(c.__class__ is str for c in const):
            raise FoldedConstant(const)
        if const.__class__ is str and const not in bindings:
            raise FoldedConstant(const)
        constants.append(bindings[const] if const.__class__ is str else const)
    return code.replace(co_consts=tuple(constants))


def _rule(
    rule: CheckedRule,
    condition: Callable[[Event], bool],
    functions: Mapping[str, Any],
    expr: ast.Expr,
    sequence: SequenceSpec | None,
) -> Rule:
    count = None
    if rule.count is not None:
        count_key: KeyFunction = functions.get("count_key", no_key)
        count = CountSpec(
            rule.count.threshold, rule.count.seconds, count_key, rule.count.key_sources
        )
    suppress = None
    if rule.suppress is not None:
        suppress_key: KeyFunction = functions.get("suppress_key", no_key)
        suppress = SuppressSpec(rule.suppress.seconds, suppress_key, rule.suppress.key_sources)
    over_time = rule.over_time or OverTime()
    absent = None
    if over_time.absent is not None:
        absent_key: KeyFunction = functions.get("absent_key", no_key)
        absent = AbsentSpec(
            over_time.absent.seconds, absent_key, over_time.absent.key_sources, over_time.forget
        )
    group = None
    if rule.group is not None:
        group_key: KeyFunction = functions.get("group_key", no_key)
        group = GroupSpec(rule.group.seconds, group_key, rule.group.key_sources)
    resolve = None
    if rule.resolve is not None:
        resolve = ResolveSpec(
            functions.get("resolve_when"),
            rule.resolve.when_source,
            rule.resolve.after,
            _resolve_scope(event_types(expr), _resolve_when(rule)),
        )
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
        escalate=rule.escalate,
        key=functions.get("rule_key", no_key),
        key_source=rule.key_sources,
        resolve=resolve,
        sequence=sequence,
        absent=absent,
        group=group,
    )


# Code generation --------------------------------------------------------------------------------


class Generator:
    """Writes one rule's expressions as Python source; values it needs go in `bindings`."""

    def __init__(
        self,
        rule_id: str,
        timestamp_field: str,
        *,
        prefix: str = "",
        slots: Mapping[Slot, str] | None = None,
        kinds: Mapping[Slot, Kind] | None = None,
        constants: bool = False,
    ) -> None:
        self.prefix = prefix
        self.constants = constants  # write plain values as placeholders for constants
        self.timestamp_field = timestamp_field
        self.slots = slots or {}  # field or path -> the local variable that already holds it
        self.kinds = kinds or {}  # slot -> the kind it is known to have (see compile_matcher)
        self.bindings: dict[str, Any] = {}
        self._constants: dict[tuple[type, Any, str | None], str] = {}
        self._temps = 0
        self.previous: Mapping[Hashable, int] = {}  # a prev() argument's shape -> its p[i]
        self.previous_values = "p"  # where the kept values are (a step's test: PREVIOUS)
        self.bare_previous = False  # one prev() argument, its value there itself (a step's)
        self.bad = self.bind_new(runtime.reporter(rule_id), "bad")

    def bind_new(self, value: Any, hint: str = "b") -> str:
        """A name for a value: with `constants`, a placeholder string for a value that can be a
        constant (`define` puts the value there), else a global name."""
        name = f"_{hint}{self.prefix}_{len(self.bindings)}"
        self.bindings[name] = value
        if self.constants and value.__class__ in _CONSTANT_TYPES and value:
            # Only true values: a placeholder is a true string, so should Python ever decide
            # a branch by it at compile time, it decides as the value would.
            return repr(name)
        return name

    def bind(self, value: Any) -> str:
        """A name for a constant; the same constants share one. (Equal is not the same: 0.0
        and -0.0 are equal, but a key of -0.0 is not a key of 0.0.)"""
        try:
            key = (type(value), value, repr(value) if value.__class__ is float else None)
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
        return self.slots.get((name,)) or f"e.get({self.bind(name)})"

    def read(self, slot: Slot) -> str:
        """Python that reads a slot from the event, its parent already in a local if a path."""
        if len(slot) == 1:
            return f"e.get({self.bind(slot[0])})"
        parent = self.slots[slot[:-1]]
        return f"{parent}.get({self.bind(slot[-1])}) if {parent}.__class__ is dict else None"

    def known_kind(self, node: ast.Expr) -> Kind | None:
        """The kind a value certainly has here: from a literal, or a slot the caller checked."""
        if isinstance(node, ast.Literal):
            value = node.value
            return None if value is None else (runtime.kind(value), True)
        slot = slot_of(node)
        if slot is not None:
            return self.kinds.get(slot)
        if isinstance(node, ast.Binary) and node.op in ("+", "-", "*"):
            left, right = self.known_kind(node.left), self.known_kind(node.right)
            if left == right == ("number", True) or (
                node.op == "+" and left == right == ("string", True)
            ):
                return left
        return None

    def plain(self, node: ast.Binary) -> str | None:
        """Plain Python for an operation whose operands' kinds are known (no checks needed),
        or None. Null is possible only for a non-strict kind, used where it gives false."""
        op, left, right = node.op, node.left, node.right
        lk, rk = self.known_kind(left), self.known_kind(right)
        if op in _COMPARISONS or op in _ARITHMETIC:
            if lk is None or rk is None or lk[0] != rk[0]:
                return None
            strict = lk[1] and rk[1]
            if op == "==" and (lk[1] or rk[1]):
                return f"({self.value(left)} == {self.value(right)})"
            if op in ("/", "%") and not (_is_number(right) and _literal(right) != 0):
                return None
            if op == "+" and strict and lk[0] == "string":
                return f"({self.value(left)} + {self.value(right)})"
            if (
                op != "=="
                and strict
                and lk[0] in ("number", "string")
                and (op in _COMPARISONS or lk[0] == "number")
            ):
                return f"({self.value(left)} {op} {self.value(right)})"
            return None
        if op in ("in", "not in") and lk is not None:
            members = single_kind(right)
            if members is not None and members[0] == lk[0] and (op == "in" or lk[1]):
                return f"({self.value(left)} {op} {self.bind_new(members[1], 'set')})"
            return None
        if lk != ("string", True) or not _is_string(right):
            return None
        if op in ("startswith", "endswith"):
            return f"{self.value(left)}.{op}({self.value(right)})"
        if op == "matches":
            search = self.bind_new(compile_pattern(str(_literal(right))), "re")
            return f"{search}({self.value(left)})"
        return None

    # entry points

    def condition(self, expr: ast.Expr) -> str:
        return self.value(expr)

    def key(self, keys: Sequence[ast.Expr]) -> str:
        """A key as a tuple of JSON scalars, the shared copy of an equal one seen before
        (runtime.shared_key); a scalar is tested inline, as most are (a call of `_scalar`
        costs more than the rest of a one-field key)."""
        k = self.temp()
        parts = "".join(f"{self.key_part(key)}, " for key in keys)
        return f"(_shared_key_of({k} := ({parts})) or _shared_key({k}))"

    def key_part(self, key: ast.Expr) -> str:
        """One value of a key, as a JSON scalar."""
        t = self.temp()
        return f"{t} if ({t} := {self.value(key)}).__class__ in _SCALARS else _scalar({t})"

    def state_key(self, keys: Sequence[ast.Expr]) -> str:
        """A key as a table of key states holds it (alertd.engine.sequence.state_key): a
        one-part key as its bare value."""
        return self.key_part(keys[0]) if len(keys) == 1 else self.key(keys)

    # expressions

    def value(self, node: ast.Expr) -> str:
        match node:
            case ast.Literal(value=value):
                return repr(value) if value is None or isinstance(value, bool) else self.bind(value)
            case ast.Field(name=name):
                return self.field(name)
            case ast.Attr() if slot_of(node) in self.slots:
                return self.slots[slot_of(node)]  # type: ignore[index]
            case ast.MacroRef(body=body):
                return self.value(body)
            case ast.Prev(arg=arg):
                values = self.previous_values
                if self.bare_previous:
                    return values
                return f"{values}[{self.previous[shape_of(arg)]}]"
            case ast.ListLit(items=items):
                values = constant(node)
                if values is not NOT_CONST:
                    return self.bind_new(values)
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
        if node.name in ("lower", "upper"):  # as functions.lower, without the call
            t = self.temp()
            return (
                f"({t}.{node.name}() if ({t} := {self.value(node.args[0])}).__class__ is str "
                f"else ({self.bad}({t}) or None))"
            )
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
        plain = self.plain(node) or self.near(node)
        if plain is not None:
            return plain
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
            search = self.bind_new(compile_pattern(right.value), "re")
            return self.string_test(left, f"{search}({{t}})")
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
        if op in _COMPARISONS or op in ("+", "-", "*"):
            # Two values of unknown kind: plain Python when both are numbers, else the helper.
            a, b = self.temp(), self.temp()
            both = f"(({a} := {self.value(left)}).__class__ in _NUM) & "
            both += f"(({b} := {self.value(right)}).__class__ in _NUM)"
            return f"({a} {op} {b} if {both} else {helper}({a}, {b}, {self.bad}))"
        return f"{helper}({self.value(left)}, {self.value(right)}, {self.bad})"

    def near(self, node: ast.Binary) -> str | None:
        """`distance_km(x, LAT, LON) < KM` (or `KM > distance_km(...)`) as one cheap call."""
        if node.op == "<":
            call, limit = node.left, node.right
        elif node.op == ">":
            call, limit = node.right, node.left
        else:
            return None
        if not (isinstance(call, ast.Call) and call.name == "distance_km" and _is_number(limit)):
            return None
        location, lat, lon = call.args
        if not (_is_number(lat) and _is_number(lon)):
            return None
        args = [self.bad, self.value(location), *(self.value(n) for n in (lat, lon, limit))]
        within = f"_within_km({', '.join(args)})"
        slot = slot_of(location)
        latitude: Slot = () if slot is None else (*slot, "latitude")
        if latitude not in self.slots:
            return within
        # Most points are far off: refused by their latitude alone, inline, without the call
        # (within_km's own first test, with a margin for rounding, on the latitude the caller
        # already read; one that is not a number goes to the call, which reports it).
        bound = math.degrees(_literal(limit) * (1 + 1e-9) / EARTH_RADIUS_KM) * 1.000001
        near = f"{self.bind(-bound)} <= {self.slots[latitude]} - {self.value(lat)} <= "
        near += self.bind(bound)
        if self.kinds.get(latitude) != ("number", True):
            near = f"{self.slots[latitude]}.__class__ not in _NUM or {near}"
        return f"(({near}) and {within})"

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
        values = constant(right)
        if not isinstance(values, list) or not values:  # a string on the right: substrings
            return None
        present = [v for v in values if v is not None]
        kinds = {runtime.kind(v) for v in present}
        if len(kinds) != 1:
            return None
        guard = KIND_GUARDS.get(kinds.pop())
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
