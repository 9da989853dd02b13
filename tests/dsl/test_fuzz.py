"""Fuzzing: random and mutated rule text only ever raises RuleErrors, and never hangs.

Whatever text comes in, the parser and checker either produce rules whose conditions and keys
run on any event without raising, or report RuleErrors that format cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.dsl import RuleErrors, compile_text

RULES = Path(__file__).resolve().parents[2] / "rules"
STARTER = "\n".join(p.read_text() for p in sorted(RULES.glob("*.rules")))
VOCABULARY = [
    "rule",
    "list",
    "macro",
    "when",
    "notify",
    "count",
    "within",
    "suppress",
    "by",
    "name",
    "priority",
    "labels",
    "enabled",
    "template",
    "description",
    "and",
    "or",
    "not",
    "in",
    "contains",
    "startswith",
    "endswith",
    "matches",
    "true",
    "false",
    "null",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    '"',
    "'",
    "#",
    "\n",
    " ",
    "5m",
    "0s",
    "1.5",
    "-3",
    "x",
    "type",
    "geocell",
    "hour",
    "lower",
    '"a"',
    "'b'",
    "\\",
    "\t",
    "é",
    "\x00",
    "urgent",
    "sms",
    "email(managers)",
]
EVENTS: list[dict[str, Any]] = [
    {},
    {"type": "safety_event", "severity": "critical", "kind": "harsh_braking", "speed_kmh": 130},
    {"type": 5, "location": "nowhere", "timestamp": "garbage", "speed_kmh": "fast"},
    {"type": "location_update", "location": {"latitude": 91, "longitude": "x"}, "x": [1, {}]},
]


token_soup = st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join)


def run_everything(text: str) -> None:
    try:
        rules = compile_text(text, "fuzz.rules")
    except RuleErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.line >= 0 and error.column >= 0
            assert error.format().startswith("fuzz.rules")
        return
    for rule in rules:
        for event in EVENTS:
            assert rule.condition(event) in (True, False)
            for window in (rule.count, rule.suppress):
                if window is not None:
                    assert isinstance(window.key(event), tuple)


@pytest.mark.timeout(120)
@settings(max_examples=300)
@given(token_soup)
def test_random_token_soup(text: str) -> None:
    run_everything(text)


@pytest.mark.timeout(120)
@settings(max_examples=200)
@given(st.text(max_size=300))
def test_random_characters(text: str) -> None:
    run_everything(text)


mutation = st.tuples(
    st.sampled_from(["delete", "insert", "duplicate", "swap"]),
    st.floats(0, 1),
    st.integers(1, 12),
    st.sampled_from(VOCABULARY),
)


def mutate(text: str, mutations: list[tuple[str, float, int, str]]) -> str:
    for kind, where, length, token in mutations:
        at = int(where * len(text))
        if kind == "delete":
            text = text[:at] + text[at + length :]
        elif kind == "insert":
            text = text[:at] + token + text[at:]
        elif kind == "duplicate":
            text = text[:at] + text[at : at + length] + text[at:]
        else:
            text = (
                text[:at]
                + text[at + length : at + 2 * length]
                + text[at : at + length]
                + text[at + 2 * length :]
            )
    return text


@pytest.mark.timeout(120)
@settings(max_examples=300)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_starter_rules(mutations: list[tuple[str, float, int, str]]) -> None:
    run_everything(mutate(STARTER, mutations))


def test_huge_inputs_finish() -> None:
    run_everything("rule r { when " + " and ".join(f"f{i} == {i}" for i in range(3000)) + " }")
    run_everything("rule r { when " + "(" * 5000 + "a == 1" + " }")
    run_everything("list l = [" + ", ".join(str(i) for i in range(20000)) + "]")
