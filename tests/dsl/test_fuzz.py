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
from tests.examples import examples

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
    '"^(a+)+$"',
    '"(x+x+)+y"',
    '"(a)\\1"',
    '"(?=a)"',
    "rul p {",
    "\nmacr m =",
    "\n  lst l = [",
]
EVENTS: list[dict[str, Any]] = [
    {},
    {"type": "safety_event", "severity": "critical", "kind": "harsh_braking", "speed_kmh": 130},
    {"type": 5, "location": "nowhere", "timestamp": "garbage", "speed_kmh": "fast"},
    {"type": "location_update", "location": {"latitude": 91, "longitude": "x"}, "x": [1, {}]},
    {"type": "a" * 5000, "x": "a" * 5000 + "!", "name": "x" * 5000},  # patterns that backtrack
]


token_soup = st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join)


def run_everything(text: str) -> None:
    try:
        rules = compile_text(text, "fuzz.rules")
    except RuleErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.line >= 1 and error.column >= 1
            assert error.format().startswith("fuzz.rules")
        return
    for rule in rules:
        for event in EVENTS:
            assert rule.condition(event) in (True, False)
            for window in (rule.count, rule.suppress):
                if window is not None:
                    assert isinstance(window.key(event), tuple)


@pytest.mark.timeout(120)
@settings(max_examples=examples(300))
@given(token_soup)
def test_random_token_soup(text: str) -> None:
    run_everything(text)


@pytest.mark.timeout(120)
@settings(max_examples=examples(200))
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
@settings(max_examples=examples(300))
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_starter_rules(mutations: list[tuple[str, float, int, str]]) -> None:
    run_everything(mutate(STARTER, mutations))


# Hostile text: numbers with thousands of digits, long chains of macros, nesting of every kind
# past the limits, macros that double in size, huge lists. Each gives RuleErrors with a place,
# or rules that run; never a Python error (RecursionError, ValueError) and never a hang.

NESTINGS: dict[str, tuple[str, str]] = {
    "not": ("not ", ""),
    "neg": ("-", ""),
    "parens": ("(", ")"),
    "sum": ("(", " + b)"),
    "product": ("(", " * b)"),
    "lower": ("lower(", ")"),
    "abs": ("abs(", ")"),
    "coalesce": ("coalesce(", ")"),
    "list": ("[", "]"),
    "index": ("x[", "]"),
    "attr": ("", ".b"),
}


def nested(kind: str, depth: int, where: str) -> str:
    opening, closing = NESTINGS[kind]
    expr = opening * depth + "a" + closing * depth
    if where == "when":
        return f"rule r {{ when {expr} != null }}"
    if where == "by":
        return f"rule r {{ when a == 1\n suppress 1m by {expr} != null }}"
    if where == "macro":
        return f"macro m = {expr} != null\nrule r {{ when {'not ' * depth}m }}"
    return f"list l = [{expr}]\nrule r {{ when a in l }}"


def macro_chain(length: int, plain: bool) -> str:
    """`macro m0 = m1 and x0 == 1` ... (or `macro m0 = m1` ...), and a rule using m0."""
    body = "m{next}" if plain else "m{next} and x{i} == 1"
    lines = [f"macro m{i} = " + body.format(next=i + 1, i=i) for i in range(length)]
    return "\n".join([*lines, f"macro m{length} = x == 1", "rule r { when m0 }"])


def doubling_macros(levels: int) -> str:
    lines = ["macro m0 = a == 1"]
    lines += [f"macro m{i} = m{i - 1} or m{i - 1}" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"rule r {{ when m{levels} }}"])


hostile = st.one_of(
    st.builds(lambda n: f"rule r {{ when x == {'9' * n} }}", st.integers(300, 6000)),
    st.builds(
        lambda n: f"rule r {{ when x == 1\n count {'9' * n} within 5m }}", st.integers(1, 6000)
    ),
    st.builds(lambda n: f"rule r {{ when x == 1\n suppress {'9' * n}m }}", st.integers(1, 400)),
    st.builds(macro_chain, st.integers(1, 400), st.booleans()),
    st.builds(
        nested,
        st.sampled_from(sorted(NESTINGS)),
        st.integers(1, 400),
        st.sampled_from(["when", "by", "macro", "list"]),
    ),
    st.builds(doubling_macros, st.integers(1, 40)),
)


@pytest.mark.timeout(120)
@settings(max_examples=examples(150))
@given(hostile, st.lists(mutation, max_size=2))
def test_hostile_text(text: str, mutations: list[tuple[str, float, int, str]]) -> None:
    run_everything(mutate(text, mutations))


@pytest.mark.parametrize("where", ["when", "by", "macro"])
@pytest.mark.parametrize("kind", sorted(set(NESTINGS) - {"parens"}))  # parens make no node
def test_the_deepest_expressions_the_checker_accepts_compile_and_run(kind: str, where: str) -> None:
    deepest = 0
    for depth in range(20, 80):
        try:
            compile_text(nested(kind, depth, where))
        except RuleErrors as exc:
            assert "nested too deeply" in exc.errors[0].message, exc
            break
        run_everything(nested(kind, depth, where))
        deepest = depth
    assert 20 <= deepest < 79


def test_huge_inputs_finish() -> None:
    run_everything("rule r { when " + " and ".join(f"f{i} == {i}" for i in range(3000)) + " }")
    run_everything("rule r { when " + "(" * 5000 + "a == 1" + " }")
    run_everything("list l = [" + ", ".join(str(i) for i in range(20000)) + "]")
    run_everything("rule r { when x in [" + ", ".join(str(i) for i in range(100_000)) + "] }")
    run_everything("rule r { when " + " or ".join(f"f{i} == {i}" for i in range(10_000)) + " = }")
    run_everything("rule r { when " + "(" * 60 + "a" + " + 1)" * 60 + " > 1 }")
