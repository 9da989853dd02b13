"""The fast path of compiled conditions (alertd/dsl/fastpath.py) against the reference
interpreter, on the shapes it handles itself: `and`s of fields and paths tested against
literals, over events whose values are of every kind, present, null or missing.

Whatever the fast path answers alone, or hands to the checked path, the condition must give
what the reference gives and count the same mismatches; and for well-formed events it must
answer alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alertd.dsl import RuleErrors, compile_text, mismatch_counts
from alertd.dsl.checker import check
from alertd.dsl.compiler import FoldedConstant, compile_source, define
from alertd.dsl.explain import Interpreter
from alertd.dsl.parser import parse
from tests.examples import examples

PATHS = ["a", "b", "loc.x", "loc.y"]
VALUES: list[Any] = [None, True, False, 0, 1, 1.0, -1, 0.5, 2, 100, "", "a", "ab", "b", "x"]
NUMBERS = ["0", "1", "(-1)", "0.5", "2", "100", "1.0"]
STRINGS = ['"a"', '"ab"', '"b"', '""', '"x"']

values = st.one_of(
    st.sampled_from(VALUES),
    st.lists(st.sampled_from(VALUES), max_size=2),
    st.fixed_dictionaries({}, optional={"x": st.sampled_from(VALUES)}),
)
events = st.fixed_dictionaries(
    {},
    optional={
        "a": values,
        "b": values,
        "loc": st.one_of(
            st.fixed_dictionaries({}, optional={"x": values, "y": values}),
            st.sampled_from(VALUES),
        ),
    },
)


def joined(strategy: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return strategy.map(lambda items: f"[{', '.join(items)}]")


def comparisons(
    left: st.SearchStrategy[str], ops: list[str], right: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    return st.builds("{} {} {}".format, left, st.sampled_from(ops), right)


paths = st.sampled_from(PATHS)
string_lists = joined(st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3))
tests = st.one_of(
    comparisons(
        paths,
        ["==", "!=", "<", "<=", ">", ">="],
        st.sampled_from([*NUMBERS, *STRINGS, "true", "false", "null"]),
    ),
    comparisons(st.sampled_from([*NUMBERS, *STRINGS]), ["==", "<", ">="], paths),
    comparisons(
        paths,
        ["in", "not in"],
        st.one_of(string_lists, joined(st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=2))),
    ),
    comparisons(paths, ["startswith", "endswith", "matches"], st.sampled_from(STRINGS)),
    comparisons(  # arithmetic on fields
        paths,
        ["<", "<=", ">", ">="],
        comparisons(
            st.sampled_from([*PATHS, *NUMBERS]),
            ["+", "-", "/", "*"],
            st.sampled_from([*PATHS, *NUMBERS]),
        ),
    ),
    st.builds("({} - {}) / {} > {}".format, paths, paths, st.sampled_from(NUMBERS), paths),
    st.builds("exists({})".format, paths),
    comparisons(
        st.builds("{}({})".format, st.sampled_from(["lower", "upper"]), paths),
        ["==", "!=", "<"],
        st.sampled_from(STRINGS),
    ),
    comparisons(st.builds("lower({})".format, paths), ["in", "not in"], string_lists),
    st.builds(lambda a, b: f'({a} > 1 or {b} == "a")', paths, paths),
)
conditions = st.lists(tests, min_size=1, max_size=4).map(" and ".join)


MISSING = object()


def variants(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event, and the event with each path set to each kind of value in turn (or removed)."""
    out = [event]
    for path in PATHS:
        for value in [*VALUES, [], ["a"], {"x": 1}, MISSING]:
            changed = {
                **event,
                "loc": dict(event["loc"]) if isinstance(event.get("loc"), dict) else {},
            }
            *parents, key = path.split(".")
            target = changed["loc"] if parents else changed
            if value is MISSING:
                target.pop(key, None)
            else:
                target[key] = value
            out.append(changed)
    return out


@settings(max_examples=examples(200))
@given(condition=conditions, event=events)
def test_the_fast_path_agrees_with_the_reference_interpreter(
    condition: str, event: dict[str, Any]
) -> None:
    text = f"rule r {{ when {condition} }}"
    try:
        compile_text(text)
    except RuleErrors:
        assume(False)  # a clash the checker catches, such as a field that is not a condition
    assert_agrees(text, variants(event))


def assert_agrees(text: str, events: Iterable[dict[str, Any]]) -> None:
    """The rule's condition gives what the reference interpreter gives, and counts the same
    mismatches, for each event."""
    (rule,) = compile_text(text)
    rule_file, _ = parse(text, "<rules>")
    (checked,), _ = check([rule_file], channels=["email"])
    for event in events:
        expected = Interpreter(event)
        holds = expected.value(checked.condition)
        before = mismatch_counts().get(rule.id, 0)
        assert rule.condition(event) is holds, (text, event)
        assert mismatch_counts().get(rule.id, 0) - before == len(expected.mismatches), (text, event)


KINDS: list[Any] = [*VALUES, [], ["a"], [1], {"x": 1}, MISSING]


@pytest.mark.parametrize(
    "condition",
    [
        "a > b + 1",
        "a <= b - 0.5",
        "a / 2 > b",
        "1 < a + b",
        "a >= b + a",
        "(a - b) / 2 >= 1",
        "a > b * 2",
        "a + 1 > b + 1",
        "a - 1 < 1 and b > a",
        'a == "a" and b < a',
        'lower(a) == "a" and upper(b) != "A"',
        'lower(a) not in ["a", "b"] and lower(b) in ["ab"]',
        "a >= 1 and b == 1 and a > b - 1",
        "a < 1 and b != 0 and a - b > 0",
    ],
)
def test_every_pair_of_kinds_agrees_with_the_reference_interpreter(condition: str) -> None:
    pairs = itertools.product(KINDS, repeat=2)
    events = [{k: v for k, v in (("a", a), ("b", b)) if v is not MISSING} for a, b in pairs]
    assert_agrees(f"rule r {{ when {condition} }}", events)


WELL_FORMED = {
    "type": "location_update",
    "speed_kmh": 95.5,
    "odometer_km": 120_000,
    "road_type": "motorway",
    "engine_on": True,
    "fleet_id": "F-01",
    "location": {"latitude": 52.5, "longitude": 13.4},
}


@pytest.mark.parametrize(
    "condition",
    [
        'type == "location_update" and speed_kmh > 90',
        'type == "location_update" and speed_kmh < 90',
        'type == "safety_event" and speed_kmh > 90',
        'road_type != "urban" and engine_on == true and odometer_km >= 100000',
        'fleet_id in ["F-01", "F-02"] and fleet_id not in ["F-03"]',
        "location.latitude > 52 and location.latitude < 53 and location.longitude > 13",
        'fleet_id startswith "F-" and road_type matches "^motor" and speed_kmh != 0',
        "speed_kmh == 95.5 and engine_on != false and exists(fleet_id)",
        "speed_kmh > odometer_km / 2000 + 10 and speed_kmh - 5 < odometer_km",
    ],
)
def test_well_formed_events_never_need_the_checked_path(condition: str) -> None:
    (rule,) = compile_text(f"rule r {{ when {condition} }}")
    expected = rule.condition(WELL_FORMED)

    def checked_path(event: dict[str, Any]) -> bool:
        raise AssertionError(f"the fast path of {condition!r} gave up on a well-formed event")

    rule.condition.__globals__["_checked"] = checked_path  # type: ignore[attr-defined]
    assert rule.condition(WELL_FORMED) is expected


def test_anything_unexpected_goes_to_the_checked_path_which_counts_it() -> None:
    (rule,) = compile_text('rule r { when type == "location_update" and speed_kmh > 90 }')
    before = mismatch_counts().get("r", 0)
    assert rule.condition({"type": "location_update", "speed_kmh": "fast"}) is False
    assert rule.condition({"type": "location_update", "speed_kmh": True}) is False
    assert rule.condition({"type": "location_update"}) is False
    assert rule.condition({"type": 7, "speed_kmh": 100}) is False
    assert mismatch_counts().get("r", 0) - before == 3


def test_placeholders_become_the_constants_they_stand_for() -> None:
    (code,) = compile_source("def f(e):\n    return e['_b_1'] in '_b_2'\n", "<test>")
    f = define([code], {"_b_1": "kind", "_b_2": frozenset({"collision"})})["f"]
    assert f({"kind": "collision"}) is True
    assert f({"kind": "coll"}) is False


def test_a_placeholder_python_computed_with_is_refused() -> None:
    (code,) = compile_source("def f(e):\n    return e == '_b_1' + '_b_2'\n", "<test>")
    with pytest.raises(FoldedConstant):
        define([code], {"_b_1": "a", "_b_2": "b"})


def test_the_condition_is_compiled_when_first_called() -> None:
    (rule,) = compile_text('rule r { when type == "location_update" and speed_kmh > 90 }')
    code = rule.condition.__code__  # type: ignore[attr-defined]
    assert code.co_names == ("_first_call",)
    assert rule.condition(WELL_FORMED) is True
    assert rule.condition.__code__ is not code  # type: ignore[attr-defined]
    assert "_checked" in rule.condition.__code__.co_names  # type: ignore[attr-defined]
    assert rule.condition({"type": "location_update", "speed_kmh": 80}) is False


def test_the_checked_path_is_compiled_when_first_needed_and_kept() -> None:
    (rule,) = compile_text('rule r { when type == "location_update" and speed_kmh > 90 }')
    assert rule.condition(WELL_FORMED) is True  # compiles the condition (its fast path)
    namespace = rule.condition.__globals__  # type: ignore[attr-defined]
    not_yet = namespace["_checked"]
    assert rule.condition(WELL_FORMED) is True
    assert namespace["_checked"] is not_yet
    assert rule.condition({"type": "location_update", "speed_kmh": "95"}) is False
    compiled = namespace["_checked"]
    assert compiled is not not_yet
    assert rule.condition({"type": "location_update"}) is False
    assert namespace["_checked"] is compiled


def test_a_condition_that_reads_the_clock_has_no_fast_path() -> None:
    (rule,) = compile_text("rule r { when hour() >= 22 and speed > 90 }")
    assert rule.condition({"timestamp": "2026-03-01T23:30:00Z", "speed": 95}) is True
    assert "_checked" not in rule.condition.__code__.co_names  # type: ignore[attr-defined]
