# ruff: noqa: E501 - the expected messages are compared whole, one source line per line
"""prev() and changed(): checked where they may stand, compiled to read the values the engine
keeps per key, and explained with those values."""

from __future__ import annotations

import pytest

from alertd.dsl import RuleErrors, compile_text
from alertd.dsl.explain import Operand, explain, kept_values
from alertd.model import Rule


def one_rule(text: str) -> Rule:
    (rule,) = compile_text(text, "fuel.rules")
    return rule


MISTAKES = [
    (
        "no argument",
        "rule r { when prev() > 1 }",
        "fuel.rules:1:15: error: prev() takes 1 argument, got 0\n"
        "rule r { when prev() > 1 }\n"
        "              ^^^^^^\n"
        "hint: such as prev(fuel_level_pct)",
    ),
    (
        "two arguments",
        "rule r { when changed(a, b) }",
        "fuel.rules:1:15: error: changed() takes 1 argument, got 2\n"
        "rule r { when changed(a, b) }\n"
        "              ^^^^^^^^^^^^^\n"
        "hint: such as changed(fuel_level_pct)",
    ),
    (
        "nested",
        "rule r { when prev(prev(a)) == 1 }",
        "fuel.rules:1:15: error: prev() of an expression that uses prev() or changed(): alertd keeps the values of the previous event only, not of the one before it\n"
        "rule r { when prev(prev(a)) == 1 }\n"
        "              ^^^^^^^^^^^^^",
    ),
    (
        "nested through a macro",
        "macro c = changed(a)\nrule r { when prev(not c) == true }",
        "fuel.rules:2:15: error: prev() of an expression that uses prev() or changed(): alertd keeps the values of the previous event only, not of the one before it\n"
        "rule r { when prev(not c) == true }\n"
        "              ^^^^^^^^^^^",
    ),
    (
        "a constant",
        "rule r { when prev(1 + 2) == 3 }",
        "fuel.rules:1:15: error: prev() of a value that is not read from the event: it is the same on every event\n"
        "rule r { when prev(1 + 2) == 3 }\n"
        "              ^^^^^^^^^^^\n"
        "hint: give it a field, such as prev(fuel_level_pct)",
    ),
    (
        "in a key",
        "rule r { when a == 1\n  suppress 5m by prev(vehicle_id) }",
        "fuel.rules:2:18: error: prev() may be used only in a condition ('when')\n"
        "  suppress 5m by prev(vehicle_id) }\n"
        "                 ^^^^^^^^^^^^^^^^\n"
        "hint: a key is what the previous event is found by: it must come from the event",
    ),
    (
        "changed in a key",
        "rule r { when a == 1\n  count 2 within 5m by changed(vehicle_id) }",
        "fuel.rules:2:24: error: changed() may be used only in a condition ('when')\n"
        "  count 2 within 5m by changed(vehicle_id) }\n"
        "                       ^^^^^^^^^^^^^^^^^^^\n"
        "hint: a key is what the previous event is found by: it must come from the event",
    ),
    (
        "in resolve when",
        "rule r { when a == 1\n  by v\n  resolve when changed(a) }",
        "fuel.rules:3:16: error: changed() may be used only in 'when'\n"
        "  resolve when changed(a) }\n"
        "               ^^^^^^^^^^",
    ),
    (
        "in resolve when, through a macro",
        "macro dropped = prev(a) > a\nrule r { when a == 1\n  by v\n  resolve when dropped }",
        "fuel.rules:4:16: error: prev() may be used only in 'when'; the macro 'dropped' uses it\n"
        "  resolve when dropped }\n"
        "               ^^^^^^^",
    ),
    (
        "a kind the text fixes",
        "rule r { when prev(lower(a)) > 3 }",
        "fuel.rules:1:30: error: cannot compare string with number using '>'\n"
        "rule r { when prev(lower(a)) > 3 }\n"
        "                             ^\n"
        "hint: the comparison is always false",
    ),
    (
        "misspelt",
        "rule r { when chnged(a) }",
        "fuel.rules:1:15: error: unknown function 'chnged'\n"
        "rule r { when chnged(a) }\n"
        "              ^^^^^^\n"
        "hint: did you mean 'changed'?",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistakes_are_reported_where_they_are_written(text: str, expected: str) -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fuel.rules")
    assert info.value.format() == expected


def test_a_rule_keeps_one_value_per_distinct_argument_in_the_order_first_used() -> None:
    rule = one_rule(
        'rule r { when type == "a" and changed(driver_id) and prev(fuel) >= 10\n'
        "  and prev( fuel ) != null and fuel < 10 }"
    )
    assert rule.sequence is not None
    assert rule.sequence.size == 2
    event = {"type": "a", "driver_id": "d-1", "fuel": 9.5, "speed": 3}
    assert rule.sequence.scope(event) == ((), ("d-1", 9.5))
    assert kept_values(rule, event) == ("d-1", 9.5)


def test_the_condition_reads_the_kept_values() -> None:
    rule = one_rule("rule low { when fuel < 10 and prev(fuel) >= 10 }")
    assert rule.sequence is not None
    condition = rule.sequence.condition
    assert condition({"fuel": 9}, (10,)) is True
    assert condition({"fuel": 9}, (9,)) is False
    assert condition({"fuel": 9}, (None,)) is False  # no previous event: prev() is null
    assert rule.condition({"fuel": 9}) is False  # alone, as a Rule's condition: the first event


def test_changed_is_a_difference_from_a_value_before() -> None:
    rule = one_rule("rule swap { when changed(driver_id) }")
    assert rule.sequence is not None
    condition = rule.sequence.condition
    assert condition({"driver_id": "b"}, ("a",)) is True
    assert condition({"driver_id": "a"}, ("a",)) is False
    assert condition({"driver_id": "a"}, (None,)) is False  # no value before
    assert condition({}, ("a",)) is False  # no value now: a comparison with null is false


def test_a_rule_without_prev_keeps_nothing() -> None:
    assert one_rule("rule r { when fuel < 10 }").sequence is None


def test_explain_shows_the_previous_value_as_prev_of_the_argument() -> None:
    rule = one_rule('rule swap {\n  when type == "trip" and changed(driver_id)\n}')
    explanation = explain(rule, {"type": "trip", "driver_id": "d-2"}, ("d-1",))
    assert explanation is not None
    assert explanation.matched
    changed = explanation.comparisons[-1]
    assert changed.text == "changed(driver_id)"
    assert changed.operands == (
        Operand("driver_id", "d-2", "string"),
        Operand("prev(driver_id)", "d-1", "string"),
    )


def test_explain_without_a_previous_event_says_prev_was_null() -> None:
    rule = one_rule("rule low {\n  when fuel < 10 and prev(fuel) >= 10\n}")
    explanation = explain(rule, {"fuel": 5})
    assert explanation is not None
    assert not explanation.matched
    first_false = explanation.first_false
    assert first_false is not None
    assert first_false.text == "prev(fuel) >= 10"
    assert first_false.operands[0] == Operand("prev(fuel)", None, "null")


def test_a_kind_mismatch_on_the_previous_value_is_counted_like_any() -> None:
    rule = one_rule("rule low {\n  when fuel < 10 and prev(fuel) >= 10\n}")
    explanation = explain(rule, {"fuel": 5}, ("12",))
    assert explanation is not None
    (mismatch,) = explanation.mismatches
    assert mismatch.text == "prev(fuel) >= 10"
    assert mismatch.problem == "a string compared with a number"
