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
        "hint: 'forget' applies to rules with 'for', prev() or changed()",
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
