# ruff: noqa: E501 - the expected messages are compared whole, one source line per line
"""The rule clause `group by KEY, ... wait DURATION`: parsed, checked, compiled."""

from __future__ import annotations

import pytest

from alertd.dsl import RuleErrors, compile_text

MISTAKES = [
    (
        "no wait",
        "rule r { when a == 1\n  group by fleet }",
        "fleet.rules:2:18: error: unexpected '}', expected ',' or 'wait'\n"
        "  group by fleet }\n"
        "                 ^",
    ),
    (
        "a wait of nothing",
        "rule r { when a == 1\n  group by fleet wait 0s }",
        "fleet.rules:2:23: error: the duration must be longer than zero\n"
        "  group by fleet wait 0s }\n"
        "                      ^^",
    ),
    (
        "a wait past a day",
        "rule r { when a == 1\n  group by fleet wait 2d }",
        "fleet.rules:2:23: error: a group waits at most 1d, got 2d (its first alert's pages wait that long)\n"
        "  group by fleet wait 2d }\n"
        "                      ^^\n"
        "hint: a digest (docs/channels.md) gathers a longer period's alerts",
    ),
    (
        "twice",
        "rule r { when a == 1\n  group by fleet wait 1m\n  group by depot wait 1m }",
        "fleet.rules:3:3: error: duplicate 'group' clause (the first is on line 2)\n"
        "  group by depot wait 1m }\n"
        "  ^^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "an unknown function in the key",
        "rule r { when a == 1\n  group by geocel(location, 1) wait 1m }",
        "fleet.rules:2:12: error: unknown function 'geocel'\n"
        "  group by geocel(location, 1) wait 1m }\n"
        "           ^^^^^^\n"
        "hint: did you mean 'geocell'?",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_mistakes_are_reported_where_they_are_written(text: str, expected: str) -> None:
    with pytest.raises(RuleErrors) as info:
        compile_text(text, "fleet.rules")
    assert info.value.format() == expected


def test_the_clause_compiles_to_the_rules_group_key_and_wait() -> None:
    (rule,) = compile_text(
        'rule r { when type == "offline"\n  group by fleet, geocell(location, 1) wait 2m }'
    )
    assert rule.group is not None
    assert (rule.group.wait, rule.group.key_source) == (120.0, ("fleet", "geocell(location, 1)"))
    event = {"type": "offline", "fleet": "north", "location": {"latitude": 52.37, "longitude": 4.9}}
    assert rule.group.key(event) == ("north", "52.4,4.9")
    assert rule.group.key({"type": "offline"}) == (None, None)  # missing fields are null


def test_group_and_wait_are_keywords_only_where_a_clause_may_start() -> None:
    (rule,) = compile_text("rule r { when group == 1 and wait == 2\n  group by group wait 1m }")
    assert rule.condition({"group": 1, "wait": 2}) is True
    assert rule.group is not None and rule.group.key({"group": "g"}) == ("g",)
