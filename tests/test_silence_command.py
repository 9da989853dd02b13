"""`alertd silence add` turns its command line into the API's request: matchers, --for from now
or from --from, --until in local time or with an offset, and says what it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from alertd.cli import build_parser
from alertd.commands.silence import UsageError, row, silence_request

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def request(*argv: str) -> dict[str, Any]:
    args = build_parser().parse_args(["silence", "add", *argv])
    return silence_request(args, NOW)


def test_matchers_and_a_duration() -> None:
    assert request(
        "vehicle_id=v-9", "rule!=low_fuel", 'depot=~"north|east"', "--for", "2h",
        "--comment", "in the workshop", "--by", "ana",
    ) == {
        "matchers": [
            {"name": "vehicle_id", "value": "v-9", "regex": False, "equal": True},
            {"name": "rule", "value": "low_fuel", "regex": False, "equal": False},
            {"name": "depot", "value": "north|east", "regex": True, "equal": True},
        ],
        "ends_at": "2026-12-03T11:00:00Z",
        "created_by": "ana",
        "comment": "in the workshop",
        "via": "cli",
    }  # fmt: skip


def test_a_start_and_an_end() -> None:
    later = request(
        "vehicle_id=v-9", "--from", "2026-12-04T08:00Z", "--for", "90m", "--comment", "x"
    )
    assert (later["starts_at"], later["ends_at"]) == (
        "2026-12-04T08:00:00Z",
        "2026-12-04T09:30:00Z",
    )
    until = request("vehicle_id=v-9", "--until", "2026-12-03T18:00+01:00", "--comment", "x")
    assert until["ends_at"] == "2026-12-03T17:00:00Z"
    local = request("vehicle_id=v-9", "--until", "2026-12-03T18:00", "--comment", "x")
    offset = datetime(2026, 12, 3, 18, 0).astimezone().utcoffset() or timedelta()
    expected = datetime(2026, 12, 3, 18, 0, tzinfo=timezone(offset)).astimezone(UTC)
    assert local["ends_at"] == expected.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["vehicle_id", "--for", "2h"], "matcher 'vehicle_id': expected NAME=VALUE, NAME!=VALUE"),
        (["vehicle_id=~(v", "--for", "2h"], "matcher 'vehicle_id=~(v': invalid regular expression"),
        (["vehicle_id=v-9", "--for", "soon"], "--for: invalid duration 'soon'"),
        (["vehicle_id=v-9", "--for", "0s"], "--for: the silence must last a while, such as 2h"),
        (["vehicle_id=v-9", "--until", "tonight"], "--until: 'tonight' is not an ISO time such as"),
    ],
)  # fmt: skip
def test_what_it_cannot_read(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        request(*argv, "--comment", "x")
    assert str(refused.value).startswith(message)


def test_for_or_until_and_a_comment_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["v=1", "--comment", "x"], ["v=1", "--for", "1h"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["silence", "add", *argv])
    err = capsys.readouterr().err
    assert "one of the arguments --for --until is required" in err
    assert "the following arguments are required: --comment" in err


def test_a_listed_row() -> None:
    silence = {
        "id": "maintenance:north",
        "state": "pending",
        "matchers": [{"name": "depot", "value": "north", "regex": False, "equal": True}],
        "starts_at": "2026-12-06T01:00:00.000Z",
        "ends_at": "2026-12-06T05:00:00.000Z",
        "created_by": "oncall.toml",
        "comment": "weekly service",
        "recurs": "sun 02:00-06:00 Europe/Amsterdam",
    }
    assert row(silence) == (
        "maintenance:north",
        "pending",
        "2026-12-06T01:00Z",
        "2026-12-06T05:00Z",
        "oncall.toml",
        'depot="north"',
        "weekly service (sun 02:00-06:00 Europe/Amsterdam)",
    )
