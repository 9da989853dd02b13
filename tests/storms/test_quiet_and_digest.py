"""Quiet hours and digests on a fake clock: held in a daily wall-clock window (DST-correct) until
it ends; gathered into one message per recipient per period; both durable across a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alertd.storms.policy import parse_quiet_hours
from alertd.storms.quiet import quiet_until

from .conftest import MINUTE, Storm

HOUR = 60 * MINUTE
QUIET = {"window": "22:00-07:00", "time_zone": "Europe/Amsterdam", "below": "high"}


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2026-06-01T12:00:00+00:00", None),  # 14:00 in Amsterdam
        ("2026-06-01T19:59:59+00:00", None),  # 21:59:59
        ("2026-06-01T20:00:00+00:00", "2026-06-02T05:00:00+00:00"),  # 22:00 CEST -> 07:00
        ("2026-06-02T04:59:59+00:00", "2026-06-02T05:00:00+00:00"),
        ("2026-06-02T05:00:00+00:00", None),  # the end is not in the window
        # The night clocks go forward (29 March 2026, 02:00 -> 03:00): 07:00 CEST is 05:00 UTC.
        ("2026-03-28T21:30:00+00:00", "2026-03-29T05:00:00+00:00"),
        # The night clocks go back (25 October 2026, 03:00 -> 02:00): 07:00 CET is 06:00 UTC.
        ("2026-10-24T21:00:00+00:00", "2026-10-25T06:00:00+00:00"),
        ("2026-10-25T05:30:00+00:00", "2026-10-25T06:00:00+00:00"),
    ],
)
def test_quiet_hours_end_at_the_local_time_every_day(now: str, until: str | None) -> None:
    quiet = parse_quiet_hours(QUIET)
    assert iso(quiet_until(quiet, at(now))) == until


def test_a_window_within_one_day_and_the_hour_that_happens_twice() -> None:
    quiet = parse_quiet_hours({"window": "01:00-02:30", "time_zone": "Europe/Amsterdam"})
    assert iso(quiet_until(quiet, at("2026-06-01T23:30:00+00:00"))) == "2026-06-02T00:30:00+00:00"
    assert quiet_until(quiet, at("2026-06-01T12:00:00+00:00")) is None
    # 25 October: 02:00-03:00 local happens twice; at 02:10 the second time (01:10 UTC) the
    # window ends at the second 02:30 (01:30 UTC), not the first one, already past.
    assert iso(quiet_until(quiet, at("2026-10-25T01:10:00+00:00"))) == "2026-10-25T01:30:00+00:00"


def test_pages_below_the_threshold_wait_for_the_end_of_quiet_hours(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"quiet_hours": QUIET, "max_per_recipient": "off"})
    storm.clock.advance(at("2026-06-01T21:00:00+00:00") - storm.clock.now())  # 23:00 local
    medium = storm.fire(priority="medium")
    high = storm.fire(priority="high")
    assert [row.alert_id for row in storm.sendable()] == [high.id]
    (held,) = storm.rows(state="held")
    assert (held.alert_id, iso(held.next_attempt_at)) == (medium.id, "2026-06-02T05:00:00+00:00")
    storm.reopen()  # a restart in the night changes nothing
    assert storm.advance(at("2026-06-02T04:59:00+00:00") - storm.clock.now()) == []
    assert [n.alert_id for n in storm.advance(MINUTE)] == [medium.id]


def test_several_held_pages_go_out_as_one_message_when_quiet_hours_end(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"quiet_hours": QUIET})
    storm.clock.advance(at("2026-06-01T21:00:00+00:00") - storm.clock.now())
    for _ in range(8):
        storm.fire(priority="low")
        storm.clock.advance(10 * MINUTE)
    assert storm.sendable() == []
    storm.advance(at("2026-06-02T05:00:00+00:00") - storm.clock.now())
    (message,) = storm.sendable()
    assert len(message.alerts) == 8
    assert message.text.startswith("8 alerts during quiet hours: Harsh braking v-1; ")


def test_a_digest_is_one_message_per_recipient_per_period(make_storm: Any) -> None:
    storm: Storm = make_storm(
        email={"digest": {"every": "1h", "priorities": ["low"]}, "to": ["a@x.test", "b@x.test"]}
    )
    first = storm.fire(channel="email", priority="low")
    storm.clock.advance(20 * MINUTE)
    medium = storm.fire(channel="email", priority="medium")  # not a digest priority: now
    storm.fire(channel="email", priority="low")
    storm.reopen()  # durable: the period goes on after a restart
    storm.fire(channel="email", priority="low")
    assert {row.alert_id for row in storm.sendable()} == {medium.id}
    assert storm.advance(40 * MINUTE - 1) == []
    released = storm.advance(1)  # an hour after the period's first
    assert sorted(n.recipient for n in released) == ["a@x.test", "b@x.test"]
    assert all(len(n.alerts) == 3 and n.alerts[0] == first.id for n in released)
    assert released[0].content["subject"] == "[LOW] Digest: 3 alerts"
    later = storm.fire(channel="email", priority="low")  # a new period starts with it
    assert [n.alert_id for n in storm.advance(HOUR)] == [later.id, later.id]


def test_urgent_pages_are_not_held_by_quiet_hours_below_urgent(make_storm: Any) -> None:
    all_day = {"window": "00:00-23:59", "time_zone": "UTC"}
    storm: Storm = make_storm(sms={"quiet_hours": all_day, "max_per_recipient": "off"})
    urgent = storm.fire(priority="urgent")
    storm.fire(priority="high")
    assert [row.alert_id for row in storm.sendable()] == [urgent.id]
