"""Differential test: compiled rules agree with a plain interpreter of the checked syntax tree.

Random expressions over random events: the compiled condition (constant-folded, generated
Python), the fused per-type matcher of RuleSet, and the key function must all give what the
reference interpreter (alertd.dsl.explain) gives, and count the same mismatches.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alertd.dsl import RuleErrors, ast, compile_text, mismatch_counts
from alertd.dsl.checker import check
from alertd.dsl.explain import Interpreter
from alertd.dsl.parser import parse
from alertd.engine.ruleset import RuleSet
from alertd.model import Rule
from tests.examples import examples

FIELDS = ["a", "b", "s", "n", "flag", "loc", "tags", "type"]
STRINGS = ["", "a", "b", "ab", "bc", "abc", "x", "safety_event", "location_update", "A"]
# Plain text, anchored or not, runs as a string method; the others in RE2 (alertd.dsl.regex).
PATTERNS = ['"^a"', '"b$"', '"a"', '"^ab$"', '"^$"', '"a|x"', '"(?i)A"', '"^[ab]+$"', '"."']
TYPES = ["safety_event", "location_update", "x"]
TIMESTAMPS = ["2026-03-01T23:30:00Z", "2026-03-02T08:15:00+02:00", 1772407800, "never", None]

numbers = st.one_of(
    st.integers(-5, 5),
    st.floats(-1000, 1000, allow_nan=False, allow_infinity=False).map(lambda f: round(f, 2)),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.sampled_from(STRINGS))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.fixed_dictionaries(
            {},
            optional={"latitude": numbers, "longitude": numbers, "x": inner, "a": inner},
        ),
    ),
    max_leaves=6,
)
events = st.fixed_dictionaries(
    {"timestamp": st.sampled_from(TIMESTAMPS)},
    optional={
        **{name: json_values for name in FIELDS if name != "type"},
        "type": st.one_of(st.sampled_from(TYPES), scalars),
    },
)


def literal_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value) if value >= 0 else f"({value})"


literals = st.one_of(scalars.map(literal_text), st.sampled_from(["5m", "90s", "1h30m", "500ms"]))
paths = st.one_of(
    st.sampled_from(FIELDS),
    st.builds(lambda f, k: f"{f}.{k}", st.sampled_from(FIELDS), st.sampled_from(["x", "a"])),
    st.builds(
        lambda f, i: f"{f}[{i}]", st.sampled_from(FIELDS), st.sampled_from(["0", "-1", '"x"'])
    ),
)


def values(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = ["lower", "upper", "len", "abs", "min", "max", "round"]
    return st.one_of(
        st.builds(lambda a, o, b: f"({a} {o} {b})", inner, st.sampled_from("+-*/%"), inner),
        st.builds(lambda v: f"-{v}", inner),
        st.builds(lambda f, v: f"{f}({v})", st.sampled_from(unary), inner),
        st.builds(
            lambda f, a, b: f"{f}({a}, {b})",
            st.sampled_from(["min", "max", "coalesce"]),
            inner,
            inner,
        ),
        st.builds(lambda v: f"round({v}, 1)", inner),
        st.builds(lambda v: f"geocell({v}, 2)", inner),
        st.builds(lambda v: f"distance_km({v}, 52.5, 13.4)", inner),
        st.sampled_from(["hour()", 'hour("Europe/Berlin")', 'weekday("Asia/Tokyo")']),
        st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
    )


value_exprs = st.recursive(st.one_of(paths, paths, literals), values, max_leaves=4)
list_literals = st.lists(scalars.map(literal_text), max_size=4).map(lambda xs: f"[{', '.join(xs)}]")


def conditions(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: f"({a} and {b})", inner, inner),
        st.builds(lambda a, b: f"({a} or {b})", inner, inner),
        st.builds(lambda a: f"not {a}", inner),
    )


comparisons = st.one_of(
    st.builds(
        lambda a, o, b: f"{a} {o} {b}",
        value_exprs,
        st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        value_exprs,
    ),
    st.builds(
        lambda a, o, b: f"{a} {o} {b}",
        value_exprs,
        st.sampled_from(["in", "not in"]),
        list_literals,
    ),
    st.builds(
        lambda a, o, b: f"{a} {o} {b}",
        value_exprs,
        st.sampled_from(["in", "not in"]),
        st.one_of(
            paths.filter(lambda p: p not in FIELDS), st.sampled_from(STRINGS).map(literal_text)
        ),
    ),
    st.builds(
        lambda a, o, b: f"{a} {o} {b}",
        value_exprs,
        st.sampled_from(["contains", "startswith", "endswith"]),
        value_exprs,
    ),
    st.builds(lambda a, p: f"{a} matches {p}", value_exprs, st.sampled_from(PATTERNS)),
    st.builds(lambda t: f'type == "{t}"', st.sampled_from(TYPES)),
    st.builds(
        lambda ts: f"type in [{', '.join(literal_text(t) for t in ts)}]",
        st.lists(st.sampled_from(TYPES), min_size=1, max_size=2),
    ),
    st.builds(lambda v: f"exists({v})", value_exprs),
    st.sampled_from(["true", "false"]),
)
condition_exprs = st.recursive(comparisons, conditions, max_leaves=5)


def as_key(value: Any) -> Any:
    """A `by` value as the compiled key functions give it: JSON text for lists and objects."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@settings(
    max_examples=examples(400),
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(condition=condition_exprs, key=value_exprs, batch=st.lists(events, min_size=1, max_size=4))
def test_compiled_rules_agree_with_the_reference_interpreter(
    condition: str, key: str, batch: list[dict[str, Any]]
) -> None:
    text = f"rule r {{ when {condition}\n suppress 1m by {key} }}"
    try:
        (rule,) = compile_text(text)
    except RuleErrors:
        assume(False)  # a clash the checker catches, such as "a" > 3
        raise
    rule_file, _ = parse(text, "<rules>")
    (checked,), _ = check([rule_file], channels=["email"])
    assert checked.suppress is not None
    ruleset = RuleSet([rule])

    for event in batch:
        assert_condition_agrees(text, rule, ruleset, checked.condition, event)

        key_reference = Interpreter(event)
        expected_key = as_key(key_reference.value(checked.suppress.keys[0]))
        before = mismatch_counts().get("r", 0)
        assert rule.suppress is not None
        (actual_key,) = rule.suppress.key(event)
        assert same(actual_key, expected_key), (text, event, actual_key, expected_key)
        assert mismatch_counts().get("r", 0) - before == len(key_reference.mismatches)


def assert_condition_agrees(
    text: str, rule: Rule, ruleset: RuleSet, condition: ast.Expr, event: dict[str, Any]
) -> None:
    """The compiled condition and the fused matcher decide as the reference does, and the
    condition counts the mismatches the reference counts."""
    expected = Interpreter(event)
    holds = expected.value(condition)
    before = mismatch_counts().get(rule.id, 0)
    assert rule.condition(event) is holds, (text, event)
    assert mismatch_counts().get(rule.id, 0) - before == len(expected.mismatches), (text, event)
    assert (ruleset.match(event) == [rule]) is holds, (text, event)


SUBSTRINGS = ["", "a", "b", "ab", "bc", "abc", "ac", "safety", "y_ev", "safety_event"]


@settings(max_examples=examples(150))
@given(
    subject=st.sampled_from(["s", "type", "lower(s)", "a.x"]),
    op=st.sampled_from(["in", "not in", "contains"]),
    container=st.sampled_from(["abc", "ab", "safety_event", "x", ""]),
    typed=st.booleans(),
    batch=st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(TYPES)},
            optional={
                "s": st.one_of(st.sampled_from(SUBSTRINGS), scalars),
                "a": st.fixed_dictionaries({"x": st.sampled_from(SUBSTRINGS)}),
            },
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_membership_in_a_string_constant_is_substring_matching(
    subject: str, op: str, container: str, typed: bool, batch: list[dict[str, Any]]
) -> None:
    """`x in "abc"` asks for a substring, on every path: checked, fast, fused per type, folded
    (`type` is a constant inside the matcher of each type)."""
    test = (
        f'"{container}" contains {subject}' if op == "contains" else f'{subject} {op} "{container}"'
    )
    condition = f'type == "safety_event" and {test}' if typed else test
    text = f"rule r {{ when {condition} }}"
    (rule,) = compile_text(text)
    rule_file, _ = parse(text, "<rules>")
    (checked,), _ = check([rule_file], channels=["email"])
    ruleset = RuleSet([rule])
    for event in batch:
        assert_condition_agrees(text, rule, ruleset, checked.condition, event)
