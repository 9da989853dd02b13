"""Matchers against alerts: rule, priority and event fields (paths too), equal or not, literal
or a whole-value RE2 pattern, and their text form for the command line."""

from __future__ import annotations

import pytest

from alertd.dsl.regex import PatternError
from alertd.oncall import Matcher
from alertd.silences.matchers import (
    compile_matcher,
    covers,
    format_matcher,
    matches_nothing_named,
    parse_matcher,
    value_of,
)
from tests.notify.conftest import make_alert

ALERT = make_alert(
    rule_id="critical_safety",
    priority="high",
    event={
        "vehicle_id": "v-9",
        "depot": "north",
        "speed": 92,
        "moving": True,
        "note": None,
        "location": {"city": "Utrecht"},
        "tags": ["a"],
    },
)


def holds(name: str, value: str, *, regex: bool = False, equal: bool = True) -> bool:
    return compile_matcher(Matcher(name, value, regex, equal))(ALERT)


def test_values_read_as_the_alert_filters_read_them() -> None:
    assert value_of(ALERT, "rule") == "critical_safety"
    assert value_of(ALERT, "priority") == "high"
    assert value_of(ALERT, "vehicle_id") == "v-9"
    assert value_of(ALERT, "location.city") == "Utrecht"
    assert [value_of(ALERT, n) for n in ("speed", "moving", "note")] == ["92", "true", "null"]
    # Missing, or not a single value: the empty text.
    assert [value_of(ALERT, n) for n in ("driver_id", "location", "tags", "vehicle_id.x")] == [
        "",
        "",
        "",
        "",
    ]


def test_literal_matchers_compare_the_whole_text() -> None:
    assert holds("vehicle_id", "v-9")
    assert not holds("vehicle_id", "v-90")
    assert not holds("vehicle_id", "v-")
    assert holds("vehicle_id", "v-8", equal=False)
    assert not holds("vehicle_id", "v-9", equal=False)
    assert holds("rule", "critical_safety") and not holds("rule", "speeding")
    assert holds("priority", "urgent", equal=False)
    assert holds("location.city", "Utrecht")
    assert holds("driver_id", "")  # missing reads as empty
    assert holds("driver_id", "d-1", equal=False)


def test_regex_matchers_must_match_the_whole_value() -> None:
    assert holds("vehicle_id", "v-9", regex=True)
    assert holds("vehicle_id", "v-9.*", regex=True)
    assert holds("vehicle_id", "v-[0-9]", regex=True)
    assert not holds("vehicle_id", "v", regex=True)  # a search would find it; a silence must not
    assert not holds("vehicle_id", "-9", regex=True)
    assert holds("depot", "north|east", regex=True)
    assert not holds("depot", "nor|east", regex=True)  # not `^nor|east$`: the whole alternation
    assert holds("depot", "north|east", regex=True, equal=False) is False
    assert holds("depot", "south.*", regex=True, equal=False)


def test_a_pattern_cannot_break_out_of_its_anchors() -> None:
    with pytest.raises(PatternError):
        compile_matcher(Matcher("depot", "x)|(.*", regex=True))


def test_every_matcher_must_hold() -> None:
    both = (Matcher("vehicle_id", "v-9"), Matcher("depot", "north"))
    assert covers(both, ALERT)
    assert not covers((*both, Matcher("rule", "speeding")), ALERT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vehicle_id=v-9", Matcher("vehicle_id", "v-9")),
        ('vehicle_id="v-9"', Matcher("vehicle_id", "v-9")),
        ("rule!=speeding", Matcher("rule", "speeding", equal=False)),
        ('vehicle_id=~"v-9.*"', Matcher("vehicle_id", "v-9.*", regex=True)),
        ("depot!~north|east", Matcher("depot", "north|east", regex=True, equal=False)),
        ("location.city=Den Haag", Matcher("location.city", "Den Haag")),
        ("note=", Matcher("note", "")),
        ("a=b=c", Matcher("a", "b=c")),
    ],
)
def test_the_text_form(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected
    assert parse_matcher(format_matcher(expected)) == expected


@pytest.mark.parametrize("text", ["vehicle_id", "=v-9", "vehicle id=v-9", "!v-9", ""])
def test_text_that_is_no_matcher(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX"):
        parse_matcher(text)


def test_a_bad_pattern_in_the_text_form() -> None:
    with pytest.raises(PatternError, match="missing \\)"):
        parse_matcher("vehicle_id=~(v-9")


def test_matchers_that_also_hold_for_nothing_named() -> None:
    assert matches_nothing_named([Matcher("vehicle_id", ".*", regex=True)])
    assert matches_nothing_named([Matcher("vehicle_id", "v-9", equal=False)])
    assert matches_nothing_named([Matcher("depot", "")])
    assert not matches_nothing_named([Matcher("depot", ""), Matcher("vehicle_id", "v-9")])
    assert not matches_nothing_named([Matcher("vehicle_id", "v-9.*", regex=True)])
