# ruff: noqa: E501 - the expected messages are compared whole, one source line per line
"""The rule-level `by`, `resolve when`, `resolve after` and `escalate`: how they parse, what the
checker says about them, and what they compile to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alertd.cli import main
from alertd.dsl import RuleErrors, ast, compile_text, mismatch_counts
from alertd.dsl.explain import explain_resolve
from alertd.dsl.parser import parse
from tests.dsl.test_differential import as_key, condition_exprs, events, same, value_exprs
from tests.dsl.test_parser import assert_spans_are_the_text
from tests.examples import examples

ROOT = Path(__file__).resolve().parents[2]

BREAKDOWN = """\
rule vehicle_breakdown {
  when     type == "breakdown"
  by       vehicle_id
  suppress 10m
  resolve when type == "vehicle_status" and operational == true
  resolve after 2h
  escalate fleet_ops
  notify   sms
}
"""


def clauses(text: str) -> tuple[ast.Clause, ...]:
    rule_file, errors = parse(text, "<test>")
    assert errors == []
    (rule,) = rule_file.items
    assert isinstance(rule, ast.RuleDef)
    return rule.clauses


def errors_of(text: str, **kwargs: object) -> str:
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fleet.rules", **kwargs)  # type: ignore[arg-type]
    return info.value.format()


# Parsing ----------------------------------------------------------------------------------------


def test_the_new_clauses_parse_into_their_nodes() -> None:
    _when, by, suppress, resolve_when, resolve_after, escalate, _notify = clauses(BREAKDOWN)
    assert isinstance(by, ast.ByClause)
    assert [key.name for key in by.keys] == ["vehicle_id"]  # type: ignore[union-attr]
    assert isinstance(suppress, ast.SuppressClause) and suppress.keys == ()
    assert isinstance(resolve_when, ast.ResolveWhenClause)
    assert isinstance(resolve_when.expr, ast.Logic)
    assert isinstance(resolve_after, ast.ResolveAfterClause)
    assert resolve_after.duration.value == "2h"
    assert isinstance(escalate, ast.EscalateClause) and escalate.policy.value == "fleet_ops"
    assert_spans_are_the_text(BREAKDOWN)


def test_a_by_right_after_suppress_or_count_is_theirs_and_a_second_by_the_rules() -> None:
    text = "rule r { when a == 1\n suppress 5m by x\n count 2 within 1m by y\n by z }"
    _, suppress, count, by = clauses(text)
    assert isinstance(suppress, ast.SuppressClause) and len(suppress.keys) == 1
    assert isinstance(count, ast.CountClause) and len(count.keys) == 1
    assert isinstance(by, ast.ByClause) and len(by.keys) == 1


def test_the_new_keywords_are_still_field_names_where_an_expression_is_expected() -> None:
    text = (
        "rule r { when by == 1 and resolve == 2 and after == 3 and escalate.by == 4\n"
        "  by by, resolve\n"
        "  resolve when after == escalate }"
    )
    _when, by, resolve = clauses(text)
    assert isinstance(by, ast.ByClause)
    assert [key.name for key in by.keys] == ["by", "resolve"]  # type: ignore[union-attr]
    assert isinstance(resolve, ast.ResolveWhenClause)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rule r { when a == 1 resolve 5m }", "1:30: unexpected '5m', expected 'after' or 'when'"),
        (
            "rule r { when a == 1 resolve after }",
            "1:36: unexpected '}', expected a duration or a number",
        ),
        ("rule r { when a == 1 resolve when }", "1:35: unexpected '}', expected an expression"),
        ("rule r { when a == 1 escalate }", "1:31: unexpected '}', expected a name"),
        ("rule r { when a == 1 by }", "1:25: unexpected '}', expected an expression"),
    ],
)
def test_an_incomplete_clause_says_what_it_lacks(text: str, message: str) -> None:
    _, (error,) = parse(text, "f.rules")
    assert f"{error.line}:{error.column}: {error.message}" == message


def test_a_misspelt_new_clause_gets_a_suggestion() -> None:
    _, (error,) = parse("rule r { when a == 1\n escalte ops }", "f.rules")
    assert error.suggestion == "did you mean 'escalate'?"


# Checking ---------------------------------------------------------------------------------------


def test_resolve_when_without_a_rule_key_is_an_error() -> None:
    assert errors_of('rule r { when type == "breakdown"\n  resolve when operational == true }') == (
        "fleet.rules:2:3: error: 'resolve when' in rule 'r' cannot tell which alert an event is"
        " about: the rule has no 'by', so any event for which the condition holds would resolve"
        " its open alert, whatever that alert is about\n"
        "  resolve when operational == true }\n"
        "  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "hint: give the rule a key with a 'by' clause of its own, e.g. 'by vehicle_id'"
    )


def test_the_error_points_at_a_by_that_belongs_to_suppress() -> None:
    text = 'rule r { when type == "breakdown"\n  suppress 5m\n  by vehicle_id\n  resolve when operational == true }'
    assert errors_of(text).endswith(
        "hint: give the rule a key with a 'by' clause of its own, e.g. 'by vehicle_id'; the 'by'"
        " of 'suppress' on line 2 keys only that clause: write the rule's 'by' before 'suppress'"
    )


def test_resolve_after_without_a_key_is_one_alert_for_the_rule() -> None:
    (rule,) = compile_text('rule r { when type == "x"\n resolve after 10m }')
    assert rule.resolve is not None
    assert (rule.resolve.when, rule.resolve.after) == (None, 600.0)
    assert rule.key({"vehicle_id": "v-1"}) == ()


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        (
            "by a",
            "fleet.rules:3:2: error: duplicate 'by' clause (the first is on line 2)\n by a\n ^^^^",
        ),
        (
            "resolve when b == 1",
            "fleet.rules:3:2: error: duplicate 'resolve when' clause (the first is on line 2)\n"
            " resolve when b == 1\n ^^^^^^^^^^^^^^^^^^^",
        ),
        (
            "resolve after 1m",
            "fleet.rules:3:2: error: duplicate 'resolve after' clause (the first is on line 2)\n"
            " resolve after 1m\n ^^^^^^^^^^^^^^^^",
        ),
        (
            "escalate ops",
            "fleet.rules:3:2: error: duplicate 'escalate' clause (the first is on line 2)\n"
            " escalate ops\n ^^^^^^^^^^^^",
        ),
    ],
)
def test_each_new_clause_may_appear_once(clause: str, expected: str) -> None:
    key = "" if clause == "by a" else " by k"
    text = f"rule r {{ when a == 1{key}\n {clause}\n {clause}\n}}"
    assert errors_of(text) == expected


def test_resolve_when_and_resolve_after_together_are_one_resolve() -> None:
    (rule,) = compile_text(BREAKDOWN, channels=["sms"])
    assert rule.resolve is not None
    assert rule.resolve.after == 7200.0
    assert rule.resolve.when_source == 'type == "vehicle_status" and operational == true'
    assert rule.escalate == "fleet_ops"
    assert rule.key_source == ("vehicle_id",)


def test_the_resolve_condition_is_checked_like_a_when() -> None:
    text = 'rule r { when a == 1 by k\n resolve when operatinal and "x" > 1 }'
    assert errors_of(text) == (
        "fleet.rules:2:15: error: unknown macro 'operatinal'\n"
        ' resolve when operatinal and "x" > 1 }\n'
        "              ^^^^^^^^^^\n"
        "hint: to test a field, compare it (operatinal == true) or use exists(operatinal)\n"
        "fleet.rules:2:34: error: cannot compare string with number using '>'\n"
        ' resolve when operatinal and "x" > 1 }\n'
        "                                 ^\n"
        "hint: the comparison is always false"
    )


def test_resolve_after_takes_a_duration() -> None:
    assert errors_of("rule r { when a == 1\n resolve after 0s }") == (
        "fleet.rules:2:16: error: the duration must be longer than zero\n"
        " resolve after 0s }\n"
        "               ^^"
    )


def test_an_unknown_escalation_policy_is_an_error_with_a_suggestion() -> None:
    text = "rule r { when a == 1\n escalate flet_ops }"
    assert errors_of(text, policies=["fleet_ops", "night"]) == (
        "fleet.rules:2:11: error: unknown escalation policy 'flet_ops'\n"
        " escalate flet_ops }\n"
        "          ^^^^^^^^\n"
        "hint: did you mean 'fleet_ops'?"
    )
    assert errors_of(text, policies=[]).endswith(
        "hint: escalation policies are defined in the on-call file ([oncall] path in the config file)"
    )
    (rule,) = compile_text(text)  # policies=None: not checked
    assert rule.escalate == "flet_ops"


# Compiling --------------------------------------------------------------------------------------


def test_the_rule_key_is_the_key_of_count_and_suppress_without_their_own() -> None:
    (rule,) = compile_text(
        "rule r { when a == 1\n by vehicle_id, lower(driver)\n count 2 within 1m\n suppress 5m }"
    )
    event = {"a": 1, "vehicle_id": "v-1", "driver": "ANA"}
    assert rule.key(event) == ("v-1", "ana")
    assert rule.count is not None and rule.suppress is not None
    assert rule.count.key(event) == ("v-1", "ana")
    assert rule.suppress.key(event) == ("v-1", "ana")
    assert rule.suppress.key_source == ("vehicle_id", "lower(driver)")


def test_their_own_by_still_wins() -> None:
    (rule,) = compile_text("rule r { when a == 1\n by vehicle_id\n suppress 5m by driver }")
    event = {"vehicle_id": "v-1", "driver": "ana"}
    assert rule.key(event) == ("v-1",)
    assert rule.suppress is not None and rule.suppress.key(event) == ("ana",)


def test_the_resolve_condition_compiles_with_the_languages_semantics() -> None:
    (rule,) = compile_text(BREAKDOWN, channels=["sms"])
    assert rule.resolve is not None and rule.resolve.when is not None
    operational = rule.resolve.when
    assert operational({"type": "vehicle_status", "operational": True}) is True
    assert operational({"type": "vehicle_status", "operational": "yes"}) is False
    assert operational({"type": "vehicle_status"}) is False  # missing is null
    assert operational({"type": "breakdown", "operational": True}) is False


def test_a_rule_without_the_new_clauses_is_as_before() -> None:
    (rule,) = compile_text("rule r { when a == 1 }")
    assert (rule.resolve, rule.escalate, rule.key_source) == (None, None, ())
    assert rule.key({"a": 1}) == ()


# alertd check ------------------------------------------------------------------------------------


def test_alertd_check_reports_both_with_the_shipped_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "incidents.rules"
    rules.write_text(
        'rule a { when type == "breakdown"\n  escalate flet_ops }\n'
        'rule b { when type == "breakdown"\n  resolve when operational == true }\n'
    )
    code = main(["check", "-c", str(ROOT / "alertd.toml"), str(rules)])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == f"{rules}:2:12: error: unknown escalation policy 'flet_ops'"
    assert "hint: did you mean 'fleet_ops'?" in err
    assert f"{rules}:4:3: error: 'resolve when' in rule 'b' cannot tell" in err
    assert err.endswith("alertd check: 2 errors\n")


# The reference interpreter ---------------------------------------------------------------------


@settings(
    max_examples=examples(200),
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(condition=condition_exprs, key=value_exprs, batch=st.lists(events, min_size=1, max_size=4))
def test_the_resolve_condition_and_the_rule_key_agree_with_the_reference_interpreter(
    condition: str, key: str, batch: list[dict[str, Any]]
) -> None:
    text = f'rule r {{ when type == "none"\n by {key}\n resolve when {condition} }}'
    try:
        (rule,) = compile_text(text)
    except RuleErrors:
        assume(False)  # a clash the checker catches, such as "a" > 3
        raise
    assert rule.resolve is not None and rule.resolve.when is not None
    for event in batch:
        explained = explain_resolve(rule, event)
        assert explained is not None
        before = mismatch_counts().get("r", 0)
        holds = rule.resolve.when(event)
        assert holds is explained.held, (text, event)
        if holds:  # the key says whose open alert it resolves: evaluated then, as the engine does
            (actual,) = rule.key(event)
            assert same(actual, as_key(explained.key[0])), (text, event, actual, explained.key)
        counted = mismatch_counts().get("r", 0) - before
        assert counted == len(explained.mismatches), (text, event)
