"""A silence as asked for: checked whole, every problem named by its field."""

from __future__ import annotations

from typing import Any

import pytest

from alertd.oncall import Matcher
from alertd.silences import InvalidSilence, Problem, read_draft

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
GOOD: dict[str, Any] = {
    "matchers": [{"name": "vehicle_id", "value": "v-9"}],
    "ends_at": "2026-01-01T02:00:00Z",
    "created_by": "alice",
    "comment": "v-9 is in the workshop",
}


def problems(**changes: Any) -> list[Problem]:
    data = {**GOOD, **changes}
    for name in [name for name, value in changes.items() if value is ...]:
        del data[name]
    with pytest.raises(InvalidSilence) as refused:
        read_draft(data, NOW, "S1")
    return list(refused.value.problems)


def test_a_good_request() -> None:
    silence = read_draft(GOOD, NOW, "S1")
    assert silence.id == "S1"
    assert silence.matchers == (Matcher("vehicle_id", "v-9", regex=False, equal=True),)
    assert (silence.starts_at, silence.ends_at) == (NOW, NOW + 7200)
    assert (silence.created_by, silence.comment, silence.created_via) == (
        "alice",
        "v-9 is in the workshop",
        "api",
    )
    assert (silence.created_at, silence.updated_at) == (NOW, NOW)
    assert silence.state(NOW) == "active"
    assert silence.state(NOW + 7200) == "expired"


def test_a_start_in_the_future_is_pending_and_one_in_the_past_means_now() -> None:
    later = read_draft({**GOOD, "starts_at": "2026-01-01T01:00:00+01:00"}, NOW, "S1")
    assert later.starts_at == NOW and later.state(NOW) == "active"  # 01:00+01:00 is now
    later = read_draft({**GOOD, "starts_at": "2026-01-01T01:00:00Z"}, NOW, "S1")
    assert later.starts_at == NOW + 3600 and later.state(NOW) == "pending"
    earlier = read_draft({**GOOD, "starts_at": "2025-12-31T00:00:00Z"}, NOW, "S1")
    assert earlier.starts_at == NOW


def test_the_command_line_and_the_console_say_through_what() -> None:
    assert read_draft({**GOOD, "via": "cli"}, NOW, "S1").created_via == "cli"
    assert read_draft(GOOD, NOW, "S1", via="web").created_via == "web"
    assert problems(via="web") == [Problem("via", "expected api or cli, got 'web'")]


def test_every_problem_at_once() -> None:
    assert problems(matchers=..., ends_at="tomorrow", created_by=" ", comment=..., until=1) == [
        Problem("until", "unknown field"),
        Problem("matchers", "is required: what to silence"),
        Problem(
            "ends_at",
            "'tomorrow' is not an ISO-8601 time with seconds and a zone, such as "
            "2026-12-01T18:00:00Z",
        ),
        Problem("created_by", "is required: a non-empty string saying who makes the silence"),
        Problem("comment", "is required: a non-empty string saying why, for whoever reads it"),
    ]


def test_a_misspelt_field_gets_a_suggestion() -> None:
    assert problems(comments="x", comment=...)[0] == Problem(
        "comments", "unknown field (did you mean 'comment'?)"
    )


def test_matchers_each_at_their_place() -> None:
    found = problems(
        matchers=[
            {"name": "vehicle_id", "value": "v-9"},
            {"name": "", "value": 3},
            {"name": "depot", "value": "(north", "regex": True},
            {"name": "depot", "value": "x", "equal": "no", "regexp": True},
            "vehicle_id=v-9",
        ]
    )
    assert found == [
        Problem(
            "matchers[1].name",
            "expected rule, priority or an event field (a path such as location.city)",
        ),
        Problem("matchers[1].value", "expected a string"),
        Problem("matchers[2].value", "invalid regular expression: missing ): (north"),
        Problem("matchers[3].regexp", "unknown field (did you mean 'regex'?)"),
        Problem("matchers[3].equal", "expected true or false"),
        Problem("matchers[4]", 'expected {"name": ..., "value": ...}'),
    ]
    assert problems(matchers=[]) == [Problem("matchers", "expected a list of at least one matcher")]
    assert problems(matchers=[{"name": "a..b", "value": "x"}])[0].field == "matchers[0].name"


def test_matchers_that_would_silence_nearly_everything_are_refused() -> None:
    (problem,) = problems(matchers=[{"name": "vehicle_id", "value": ".*", "regex": True}])
    assert problem.field == "matchers"
    assert problem.error.startswith("every matcher also holds for an alert without these fields")


def test_times() -> None:
    assert problems(ends_at="2026-01-01T02:00:00") == [
        Problem(
            "ends_at",
            "'2026-01-01T02:00:00' has no time zone; add Z for UTC or an offset such as +01:00",
        )
    ]
    assert problems(ends_at="2026-01-01T02:00Z")[0].error.startswith(
        "'2026-01-01T02:00Z' is not an ISO-8601 time with seconds and a zone"
    )
    assert problems(ends_at="2026-02-30T02:00:00Z") == [
        Problem("ends_at", "'2026-02-30T02:00:00Z' is not a time that exists")
    ]
    later = read_draft({**GOOD, "ends_at": "2026-01-01t02:00:00.5z"}, NOW, "S1")
    assert later.ends_at == NOW + 7200.5
    assert problems(ends_at="2025-12-31T23:00:00Z") == [
        Problem("ends_at", "is not in the future: the silence would be over")
    ]
    assert problems(starts_at="2026-01-01T03:00:00Z") == [
        Problem("ends_at", "is not after starts_at")
    ]
    assert problems(ends_at=1767229200) == [
        Problem("ends_at", "expected an ISO-8601 time such as 2026-12-01T18:00:00Z")
    ]
    assert problems(ends_at=...) == [
        Problem("ends_at", "is required: when the silence ends (ISO-8601)")
    ]
