"""alertd.dsl.explain: a rule's condition evaluated as written, with its type mismatches and the
comparisons it made, agreeing with the compiled condition on every event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alertd.dsl import RuleErrors, compile_text, load_rules, mismatch_counts
from alertd.dsl.explain import Operand, explain
from alertd.model import Rule, SourceLocation
from tests.dsl.test_differential import condition_exprs, events, value_exprs


def one_rule(text: str) -> Rule:
    (rule,) = compile_text(text, "speed.rules")
    return rule


def test_a_string_compared_with_a_number_is_a_mismatch_shown_as_written() -> None:
    rule = one_rule('rule speeding {\n  when type == "location_update" and speed_kmh > 120\n}')
    explanation = explain(rule, {"type": "location_update", "speed_kmh": "130"})
    assert explanation is not None
    assert not explanation.matched
    (mismatch,) = explanation.mismatches
    assert mismatch.text == "speed_kmh > 120"
    assert mismatch.where == SourceLocation("speed.rules", 2, 38)
    assert mismatch.problem == "a string compared with a number"
    assert mismatch.operands == (
        Operand("speed_kmh", "130", "string"),
        Operand("120", 120, "number"),
    )


def test_a_well_formed_event_has_no_mismatch_and_says_which_comparison_was_false() -> None:
    rule = one_rule('rule speeding {\n  when type == "location_update" and speed_kmh > 120\n}')
    explanation = explain(rule, {"type": "location_update", "speed_kmh": 100})
    assert explanation is not None
    assert not explanation.matched
    assert explanation.mismatches == ()
    first_false = explanation.first_false
    assert first_false is not None
    assert first_false.text == "speed_kmh > 120"
    assert first_false.operands[0] == Operand("speed_kmh", 100, "number")
    assert [c.result for c in explanation.comparisons] == [True, False]


def test_a_mismatch_inside_a_macro_is_shown_where_the_macro_is_written(tmp_path: Path) -> None:
    (tmp_path / "common.rules").write_text(
        "# shared\nmacro fast = speed_kmh >= limit_kmh\n", encoding="utf-8"
    )
    (tmp_path / "speed.rules").write_text(
        'rule speeding {\n  when fast and type == "location_update"\n}\n', encoding="utf-8"
    )
    (rule,) = load_rules([tmp_path])
    explanation = explain(rule, {"type": "location_update", "speed_kmh": 130, "limit_kmh": "90"})
    assert explanation is not None
    (mismatch,) = explanation.mismatches
    assert mismatch.text == "speed_kmh >= limit_kmh"
    assert mismatch.where == SourceLocation(str(tmp_path / "common.rules"), 2, 14)
    assert mismatch.operands[1] == Operand("limit_kmh", "90", "string")


def test_a_named_list_is_shown_by_its_name() -> None:
    text = 'list harsh = ["harsh_braking", "harsh_cornering"]\nrule r { when kind in harsh }'
    explanation = explain(one_rule(text), {"kind": 7})
    assert explanation is not None
    (mismatch,) = explanation.mismatches
    assert mismatch.text == "kind in harsh"
    assert mismatch.problem == "a number looked for in a list of a string"
    assert mismatch.operands[1] == Operand("harsh", ["harsh_braking", "harsh_cornering"], "list")


def test_arithmetic_and_functions_report_what_they_could_not_use() -> None:
    rule = one_rule('rule r { when speed_kmh * 2 > 100 or lower(driver) == "x" }')
    explanation = explain(rule, {"speed_kmh": "fast", "driver": 42})
    assert explanation is not None
    assert [(m.text, m.problem) for m in explanation.mismatches] == [
        ("speed_kmh * 2", "a string * a number"),
        ("lower(driver)", "lower() cannot use a number"),
    ]


def test_the_keys_of_a_matching_rule_are_explained_too() -> None:
    rule = one_rule("rule r {\n  when exists(vehicle_id)\n  suppress 5m by geocell(location, 2)\n}")
    explanation = explain(rule, {"vehicle_id": "v1", "location": "52.3,4.9"})
    assert explanation is not None
    assert explanation.matched
    (mismatch,) = explanation.mismatches
    assert mismatch.text == "geocell(location, 2)"
    assert mismatch.where == SourceLocation("speed.rules", 3, 18)


def test_a_rule_not_written_in_the_rule_language_has_no_explanation() -> None:
    assert explain(Rule("python", "Python", condition=lambda event: True), {}) is None


def compiled_mismatches(rule: Rule, event: dict[str, Any]) -> tuple[bool, int]:
    """What the compiled rule decides and how many mismatches it counts, keys included when
    it matches (as the engine computes them)."""
    before = mismatch_counts().get(rule.id, 0)
    matched = rule.condition(event)
    if matched and rule.suppress is not None:
        rule.suppress.key(event)
    return matched, mismatch_counts().get(rule.id, 0) - before


@settings(
    max_examples=200, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(condition=condition_exprs, key=value_exprs, batch=st.lists(events, min_size=1, max_size=4))
def test_explain_agrees_with_the_compiled_rule(
    condition: str, key: str, batch: list[dict[str, Any]]
) -> None:
    """On random rules and events: the same decision, and one recorded mismatch, shown as
    written, for every one the compiled rule counts; and a reason for every no-match."""
    text = f"rule r {{ when {condition}\n suppress 1m by {key} }}"
    try:
        rule = one_rule(text)
    except RuleErrors:
        assume(False)  # a clash the checker catches, such as "a" > 3
        raise
    for event in batch:
        explanation = explain(rule, event)
        assert explanation is not None
        matched, counted = compiled_mismatches(rule, event)
        assert explanation.matched is matched, (text, event)
        assert len(explanation.mismatches) == counted, (text, event, explanation.mismatches)
        for mismatch in explanation.mismatches:
            assert mismatch.text and mismatch.text != "?", (text, mismatch)
        # A condition that did not hold says why, in parts of the rule as written.
        assert bool(explanation.failures) is not matched, (text, event)
        for failure in explanation.failures:
            assert failure.text in text, (text, failure)


# Why a condition did not hold --------------------------------------------------------------

BREAKDOWN = """\
macro location_update = type == "location_update"
rule breakdown {
  when type == "breakdown"
       or (location_update and speed_kmh == 0 and engine_on == false)
}
"""


def failures(text: str, event: dict[str, Any]) -> list[tuple[str, dict[str, Any], str | None]]:
    (rule, *_) = compile_text(text, "why.rules")
    explanation = explain(rule, event)
    assert explanation is not None
    assert not explanation.matched
    return [(f.text, {o.text: o.value for o in f.values}, f.mismatch) for f in explanation.failures]


def test_the_first_false_part_of_an_and_is_the_failure_with_the_values_it_read() -> None:
    text = 'rule r { when type == "location_update" and speed_kmh > 120 and exists(driver_id) }'
    assert failures(text, {"type": "location_update", "speed_kmh": 100}) == [
        ("speed_kmh > 120", {"speed_kmh": 100}, None)
    ]
    assert failures(text, {"type": "location_update", "speed_kmh": 130}) == [
        ("exists(driver_id)", {"driver_id": None}, None)
    ]


def test_every_alternative_of_an_or_fails_for_its_own_reason() -> None:
    event = {"type": "location_update", "speed_kmh": 50, "engine_on": False}
    assert failures(BREAKDOWN, event) == [
        ('type == "breakdown"', {"type": "location_update"}, None),
        ("speed_kmh == 0", {"speed_kmh": 50}, None),
    ]


def test_a_failure_inside_a_macro_is_shown_as_the_macro_writes_it() -> None:
    event = {"type": "safety_event"}
    explanation = explain(compile_text(BREAKDOWN, "why.rules")[0], event)
    assert explanation is not None
    second = explanation.failures[1]
    assert second.text == 'type == "location_update"'
    assert second.where == SourceLocation("why.rules", 1, 25)


def test_a_type_mismatch_is_the_failure_it_caused() -> None:
    text = 'rule r { when type == "location_update" and speed_kmh > 120 }'
    assert failures(text, {"type": "location_update", "speed_kmh": "130"}) == [
        ("speed_kmh > 120", {"speed_kmh": "130"}, "a string compared with a number")
    ]


def test_computed_operands_show_their_value_and_the_fields_they_read() -> None:
    text = 'rule r { when speed_kmh > limit_kmh * 1.2 and hour("UTC") >= 22 }'
    event = {"speed_kmh": 100, "limit_kmh": 90, "timestamp": "2026-01-01T10:00:00Z"}
    assert failures(text, event) == [
        (
            "speed_kmh > limit_kmh * 1.2",
            {"speed_kmh": 100, "limit_kmh * 1.2": 108.0, "limit_kmh": 90},
            None,
        )
    ]
    event["speed_kmh"] = 120
    assert failures(text, event) == [('hour("UTC") >= 22', {'hour("UTC")': 10}, None)]


def test_a_not_fails_as_a_whole_with_the_fields_inside_it() -> None:
    text = 'list harsh = ["harsh_braking"]\nrule r { when not (kind in harsh) and exists(kind) }'
    assert failures(text, {"kind": "harsh_braking"}) == [
        ("not (kind in harsh)", {"kind": "harsh_braking"}, None)
    ]


def test_paths_are_shown_whole() -> None:
    text = 'rule r { when location.city == "Berlin" or tags["a b"] == 1 or stops[0] != null }'
    event = {"location": {"city": "Paris"}, "tags": {"a b": 2}, "stops": []}
    assert failures(text, event) == [
        ('location.city == "Berlin"', {"location.city": "Paris"}, None),
        ('tags["a b"] == 1', {'tags["a b"]': 2}, None),
        ("stops[0] != null", {"stops[0]": None}, None),
    ]


def test_a_matching_condition_has_no_failures() -> None:
    explanation = explain(one_rule("rule r { when exists(a) or exists(b) }"), {"b": 1})
    assert explanation is not None
    assert explanation.matched
    assert explanation.failures == ()


def test_a_location_names_its_file_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `alertd check` names it: a daemon run from its folder (the console's playground,
    POST /v1/explain) shows `rules/fleet.rules:3:7`, not the absolute path its config made."""
    inside = SourceLocation(str(tmp_path / "rules" / "fleet.rules"), 3, 7)
    elsewhere = SourceLocation("/etc/alertd/rules/fleet.rules", 3, 7)
    monkeypatch.chdir(tmp_path)
    assert str(inside) == "rules/fleet.rules:3:7"
    assert str(elsewhere) == "/etc/alertd/rules/fleet.rules:3:7"
    assert str(SourceLocation("playground.rules", 1, 2)) == "playground.rules:1:2"
