# ruff: noqa: E501 - the expected messages are compared whole, one source line per line
"""The clauses of rules over time, `for` and `forget`: parsed, checked, compiled."""

from __future__ import annotations

import pytest

from alertd.dsl import RuleErrors, compile_text
from alertd.model import DEFAULT_FORGET

MISTAKES = [
    (
        "zero",
        "rule r { when a == 1\n  for 0s }",
        "hot.rules:2:7: error: the duration must be longer than zero\n  for 0s }\n      ^^",
    ),
    (
        "no unit",
        "rule r { when a == 1\n  for 10 }",
        "hot.rules:2:7: error: invalid duration '10': expected a number and a unit (ms, s, m, h, d), such as 90s, 5m, 2h or 1d\n"
        "  for 10 }\n"
        "      ^^\n"
        "hint: add a unit: 10s, 10m or 10h",
    ),
    (
        "twice",
        "rule r { when a == 1\n  for 1m\n  for 2m }",
        "hot.rules:3:3: error: duplicate 'for' clause (the first is on line 2)\n"
        "  for 2m }\n"
        "  ^^^^^^",
    ),
    (
        "forget what is not kept",
        "rule r { when a == 1\n  forget 1d }",
        "hot.rules:2:3: error: 'forget' has nothing to forget: the rule keeps nothing per key\n"
        "  forget 1d }\n"
        "  ^^^^^^^^^\n"
        "hint: 'forget' applies to rules with 'for', 'absent', prev() or changed()",
    ),
    (
        "a misspelt clause",
        "rule r { when a == 1\n  forgt 1d }",
        "hot.rules:2:3: error: unexpected 'forgt', expected an operator, a clause or '}'\n"
        "  forgt 1d }\n"
        "  ^^^^^\n"
        "hint: did you mean 'forget'?",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistakes_are_reported_where_they_are_written(text: str, expected: str) -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "hot.rules")
    assert info.value.format() == expected


def test_for_and_forget_compile_into_the_rules_sequence() -> None:
    (rule,) = compile_text("rule r { when a > 1\n  for 2m\n  forget 1h }")
    assert rule.sequence is not None
    assert (rule.sequence.hold, rule.sequence.forget, rule.sequence.size) == (120, 3600, 0)


def test_a_rule_forgets_a_key_after_7_days_by_default() -> None:
    (rule,) = compile_text("rule r { when a > 1\n  for 2m }")
    assert rule.sequence is not None
    assert rule.sequence.forget == DEFAULT_FORGET == 7 * 86_400


def test_for_and_forget_are_keywords_only_where_a_clause_may_start() -> None:
    (rule,) = compile_text("rule r { when for == 1 and forget == 2 }")
    assert rule.condition({"for": 1, "forget": 2}) is True
    assert rule.sequence is None


ABSENT_MISTAKES = [
    (
        "with count",
        "rule r { when a == 1\n  absent 15m by v\n  count 3 within 5m }",
        "hot.rules:3:3: error: 'count' does not go with 'absent': an absent rule fires once when a key falls silent, and resolves when it speaks again\n"
        "  count 3 within 5m }\n"
        "  ^^^^^^^^^^^^^^^^^",
    ),
    (
        "with for",
        "rule r { when a == 1\n  for 1m\n  absent 15m }",
        "hot.rules:2:3: error: 'for' does not go with 'absent': an absent rule fires once when a key falls silent, and resolves when it speaks again\n"
        "  for 1m\n"
        "  ^^^^^^",
    ),
    (
        "forget too short",
        "rule r { when a == 1\n  absent 15m by v\n  forget 10m }",
        "hot.rules:3:10: error: 'forget' must be longer than 'absent' (15m): a silent key would be forgotten before it is missed\n"
        "  forget 10m }\n"
        "         ^^^",
    ),
    (
        "longer than the default forget",
        "rule r { when a == 1\n  absent 8d by v }",
        "hot.rules:2:3: error: 'absent' must be shorter than 'forget', 7d unless the rule says otherwise: a silent key would be forgotten before it is missed\n"
        "  absent 8d by v }\n"
        "  ^^^^^^^^^^^^^^\n"
        "hint: add 'forget' longer than 8d",
    ),
    (
        "prev in its key",
        "rule r { when a == 1\n  absent 15m by prev(v) }",
        "hot.rules:2:17: error: prev() may be used only in a condition ('when')\n"
        "  absent 15m by prev(v) }\n"
        "                ^^^^^^^\n"
        "hint: a key is what the previous event is found by: it must come from the event",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [m[1:] for m in ABSENT_MISTAKES], ids=[m[0] for m in ABSENT_MISTAKES]
)
def test_absent_mistakes_are_reported_where_they_are_written(text: str, expected: str) -> None:
    test_mistakes_are_reported_where_they_are_written(text, expected)


def test_absent_keys_on_its_own_by_or_else_the_rules() -> None:
    own, inherited, none = compile_text(
        "rule a { when t == 1\n  by fleet\n  absent 15m by vehicle }\n"
        "rule b { when t == 1\n  by vehicle\n  absent 15m }\n"
        "rule c { when t == 1\n  absent 1h\n  forget 2d }"
    )
    event = {"t": 1, "vehicle": "v-1", "fleet": "f-1"}
    assert own.absent is not None and own.absent.key(event) == ("v-1",)
    assert own.absent.key_source == ("vehicle",)
    assert inherited.absent is not None and inherited.absent.key(event) == ("v-1",)
    assert none.absent is not None and none.absent.key(event) == ()
    assert (none.absent.duration, none.absent.forget) == (3600, 2 * 86_400)
