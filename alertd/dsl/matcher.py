"""Many compiled conditions fused into one generated function, for one event type (RuleSet).

Inside the function for type "x", `type == "x"` is already decided (constant folding with the
type known), every field and path the rules read is read from the event once, and there are
two copies of the rules' code:

- a fast path, taken when every field the rules compare with literals has the kind those
  literals have (`speed_kmh` a number, `road_type` a string): there the comparisons are plain
  Python, as a programmer would write them by hand;
- the general path, with every check of the rule language's semantics (null, mismatches
  counted), taken for any other event, or should the fast path ever raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from alertd.dsl import ast
from alertd.dsl.compiler import (
    CONDITION_ATTRIBUTE,
    KIND_GUARDS,
    FoldedConstant,
    Generator,
    Kind,
    compile_source,
    define,
)
from alertd.dsl.event_types import TYPE_FIELD
from alertd.dsl.fastpath import uses_event_time
from alertd.dsl.fold import fold
from alertd.dsl.tree import Slot, single_kind, slot_of, walk
from alertd.model import Event, Rule

Matcher = Callable[[Event], list[Rule]]

_ORDERING = frozenset({"!=", "<", "<=", ">", ">="})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})


def compile_matcher(rules: Sequence[Rule], event_type: str | None) -> Matcher:
    """One function returning, in order, the rules whose condition holds for an event.

    With `event_type`, every event it is given has that type. Rules that were not compiled
    from the rule language are called as they are. A rule that keeps state over the events of
    its scope (a SequenceSpec: prev(), `for`) is returned for every event: its step decides
    (alertd.engine.sequence).
    """
    try:
        return _matcher(rules, event_type, constants=True)
    except FoldedConstant:  # pragma: no cover - Python folded a placeholder (never seen)
        return _matcher(rules, event_type, constants=False)


def _matcher(rules: Sequence[Rule], event_type: str | None, constants: bool) -> Matcher:
    """compile_matcher; with `constants`, the fast path's literals are constants of the code
    (see compiler.define)."""
    known = {TYPE_FIELD: event_type} if event_type is not None else {}
    exprs: list[ast.Expr | None] = []
    for rule in rules:
        compiled = getattr(rule.condition, CONDITION_ATTRIBUTE, None)
        if compiled is None or rule.sequence is not None:
            exprs.append(None)
        else:
            exprs.append(fold(compiled.expr, known))
    used = {slot for expr in exprs if expr is not None for slot in _slots(expr)}
    for rule, expr in zip(rules, exprs, strict=True):
        if expr is not None and uses_event_time(walk(expr)):
            used.add((getattr(rule.condition, CONDITION_ATTRIBUTE).timestamp_field,))
    slots = {slot: f"_s{n}" for n, slot in enumerate(sorted(used, key=lambda s: (len(s), s)))}
    kinds = _kinds(expr for expr in exprs if expr is not None)

    bindings: dict[str, Any] = {}
    load = []
    for slot, local in slots.items():
        bindings[f"_k{local}"] = slot[-1]
        key = repr(f"_k{local}") if constants else f"_k{local}"
        if len(slot) == 1:
            load.append(f"{local} = e.get({key})")
        else:
            parent = slots[slot[:-1]]
            load.append(f"{local} = {parent}.get({key}) if {parent}.__class__ is dict else None")

    fast: list[tuple[str, Threshold | None]] = []  # each rule's line, and its threshold
    general: list[str] = []
    # The rules that keep state over their scope, before any other: in every answer, the
    # list it starts as (one call of `append` less for each, per event).
    first: list[str] = []
    for i, (rule, expr) in enumerate(zip(rules, exprs, strict=True)):
        bindings[f"_r{i}"] = rule
        if rule.sequence is not None and len(first) == i:
            first.append(f"_r{i}")
            continue
        if rule.sequence is not None:
            fast.append((f"out.append(_r{i})", None))
            general.append(f"out.append(_r{i})")
            continue
        if expr is None:
            bindings[f"_c{i}"] = rule.condition
            fast.append((f"if _c{i}(e): out.append(_r{i})", None))
            general.append(f"if _c{i}(e): out.append(_r{i})")
            continue
        timestamp_field = getattr(rule.condition, CONDITION_ATTRIBUTE).timestamp_field
        checked = Generator(rule.id, timestamp_field, prefix=f"_{i}", slots=slots)
        plain = Generator(
            rule.id, timestamp_field, prefix=f"_{i}p", slots=slots, kinds=kinds, constants=constants
        )
        line = f"if {plain.condition(expr)}: out.append(_r{i})"
        fast.append((line, _threshold(expr, kinds)))
        general += [
            "try:",
            f"    if {checked.condition(expr)}: out.append(_r{i})",
            "except Exception:",
            f"    {checked.bad}(True)",
        ]
        bindings.update(checked.bindings)
        bindings.update(plain.bindings)

    guards = [_guard(slots[slot], kind) for slot, kind in kinds.items()]
    start = f"out = [{', '.join(first)}]"
    lines = ["def match(e):", f"    {start}", *_indent(load, 1)]
    if guards and fast:
        lines += [
            f"    if {' and '.join(guards)}:",
            "        try:",
            *_indent(_grouped(fast, slots, bindings, constants), 3),
            "            return out",
            "        except Exception:",  # never expected; the general path decides then
            f"            {start}",
        ]
    lines += [*_indent(general, 1), "    return out"]
    codes = compile_source("\n".join(lines) + "\n", f"<alertd matcher {event_type}>")
    matcher: Matcher = define(codes, bindings)["match"]
    return matcher


Threshold = tuple[Slot, str, int | float]
"""A condition `slot OP number` (OP an ordering), the slot a number in the fast path."""

_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _threshold(expr: ast.Expr, kinds: dict[Slot, Kind]) -> Threshold | None:
    """The condition as a threshold of a slot the fast path knows is a number, or None."""
    if not isinstance(expr, ast.Binary) or expr.op not in _FLIPPED:
        return None
    slot, op, bound = slot_of(expr.left), expr.op, expr.right
    if slot is None:
        slot, op, bound = slot_of(expr.right), _FLIPPED[op], expr.left
    if slot is None or kinds.get(slot) != ("number", True) or not isinstance(bound, ast.Literal):
        return None
    value = bound.value
    if value.__class__ not in (int, float):
        return None
    return slot, op, value


def _grouped(
    fast: list[tuple[str, Threshold | None]],
    slots: dict[Slot, str],
    bindings: dict[str, Any],
    constants: bool,
) -> list[str]:
    """The fast path's lines, each run of thresholds of one slot and ordering (`speed > 90`,
    `speed > 100`, ...) under a test of its loosest bound: one test when none holds, as for
    most events, and the rules' order kept."""
    lines: list[str] = []
    start = 0
    while start < len(fast):
        threshold = fast[start][1]
        end = start + 1
        while threshold is not None and end < len(fast):
            following = fast[end][1]
            if following is None or following[:2] != threshold[:2]:
                break
            end += 1
        run = [line for line, _ in fast[start:end]]
        if threshold is None or end - start < 2:
            lines += run
        else:
            slot, op = threshold[:2]
            bounds = [t[2] for _, t in fast[start:end] if t is not None]
            loosest = min(bounds) if op in (">", ">=") else max(bounds)
            name = f"_loosest{len(bindings)}"
            bindings[name] = loosest
            bound = repr(name) if constants and loosest else name  # see compiler.define
            lines += [f"if {slots[slot]} {op} {bound}:", *_indent(run, 1)]
        start = end
    return lines


def _indent(lines: list[str], levels: int) -> list[str]:
    return ["    " * levels + line for line in lines]


def _guard(local: str, kind: Kind) -> str:
    test = f"{local}.__class__ {KIND_GUARDS[kind[0]]}"
    return test if kind[1] else f"({test} or {local} is None)"


def _kinds(exprs: Iterator[ast.Expr]) -> dict[Slot, Kind]:
    """The kind each slot must have for the fast path: the kind of the literals it meets.

    A slot only ever tested with `==` or `in` may also be null there (a missing field is then
    simply unequal); any other use makes it strict. A slot met with two kinds gets none.
    """
    seen: dict[Slot, Kind | None] = {}
    for expr in exprs:
        for slot, kind in _expectations(expr):
            if slot not in seen:
                seen[slot] = kind
            elif seen[slot] is not None:
                previous = seen[slot]
                assert previous is not None
                same = previous[0] == kind[0]
                seen[slot] = (kind[0], previous[1] or kind[1]) if same else None
    return {slot: kind for slot, kind in seen.items() if kind is not None}


def _expectations(expr: ast.Expr) -> Iterator[tuple[Slot, Kind]]:
    for node in walk(expr):
        if not isinstance(node, ast.Binary):
            continue
        op, left, right = node.op, node.left, node.right
        if op in ("==", *_ORDERING, *_ARITHMETIC):
            for this, other in ((left, right), (right, left)):
                slot, kind = slot_of(this), _literal_kind(other)
                if slot is not None and kind is not None:
                    yield slot, (kind, op != "==")
        elif op in ("in", "not in"):
            slot, members = slot_of(left), single_kind(right)
            if slot is not None and members is not None:
                yield slot, (members[0], op == "not in")
        elif op in ("startswith", "endswith", "matches"):
            slot = slot_of(left)
            if slot is not None:
                yield slot, ("string", True)


def _literal_kind(node: ast.Expr) -> str | None:
    """The kind of a literal, or of arithmetic on a number literal (`limit + 10`)."""
    if isinstance(node, ast.Literal):
        value = node.value
        if value is None:
            return None
        if isinstance(value, bool):
            return "bool"
        return "string" if isinstance(value, str) else "number"
    if isinstance(node, ast.Binary) and node.op in _ARITHMETIC:
        kinds = {_literal_kind(node.left), _literal_kind(node.right)}
        return "number" if "number" in kinds and "string" not in kinds else None
    return None


def _slots(expr: ast.Expr) -> Iterator[Slot]:
    """Every field and path of object keys the expression reads (and their parents), and the
    latitude of a `distance_km` location, which the generated code tests inline first."""
    for node in walk(expr):
        slot = slot_of(node)
        if slot is None and isinstance(node, ast.Call) and node.name == "distance_km":
            slot = slot_of(node.args[0])
            slot = None if slot is None else (*slot, "latitude")
        if slot is not None:
            for length in range(1, len(slot) + 1):
                yield slot[:length]
