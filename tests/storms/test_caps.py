"""Per-recipient caps on a fake clock: past N messages in the window, pages wait and go out as
one summary when the cap allows; urgent pages count against the cap but never wait."""

from __future__ import annotations

from typing import Any

from alertd.storms.holds import HOLDS

from .conftest import MINUTE, PHONE, Storm


def test_ten_alerts_to_one_phone_with_a_cap_of_three_make_four_messages(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "3/10m"})
    start = storm.clock.now()
    for _ in range(10):
        storm.fire()
        storm.clock.advance(5)
    assert len(storm.sendable()) == 3
    held = storm.rows(state="held")
    assert [row.alert_id for row in held] == [f"01KDSTORM{n:017d}" for n in range(4, 11)]
    assert {row.hold for row in held} == {f'cap:["sms","{PHONE}"]'}
    # The cap allows one more once the first of the three leaves the window: 10m after it.
    assert {row.next_attempt_at for row in held} == {start + 10 * MINUTE}

    assert storm.advance(10 * MINUTE - 51) == []  # one second before: nothing yet
    released = storm.advance(1)
    assert len(released) == 1
    summary = storm.sendable()[-1]
    assert summary.alerts == [row.alert_id for row in held]
    assert summary.text.startswith("+7 more alerts: ")
    for n in range(4, 11):
        assert f"v-{n}" in summary.text
    assert "https://alertd.test/ui/alerts?status=firing&rule=fleet" in summary.text
    assert len(storm.sendable()) == 4
    assert {storm.rows(id=row.id)[0].state for row in held} == {"bundled"}
    assert {row.bundle for row in held for row in storm.rows(id=row.id)} == {summary.id}


def test_the_summary_counts_against_the_cap(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "2/10m"})
    for _ in range(4):
        storm.fire()  # two go, two wait
    storm.advance(10 * MINUTE)  # the summary of two takes one slot ...
    storm.fire()  # ... so this one goes: two sent in the last 10 minutes
    storm.fire()  # full again: waits
    assert [len(row.alerts) for row in storm.sendable()] == [0, 0, 2, 0]
    assert len(storm.rows(state="held")) == 1


def test_an_urgent_page_is_never_held_but_counts(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "2/10m"})
    storm.fire()
    storm.clock.advance(MINUTE)
    storm.fire()
    storm.clock.advance(MINUTE)
    third = storm.fire()  # held: two in the last 10 minutes
    storm.clock.advance(MINUTE)
    urgent = storm.fire(priority="urgent")
    assert storm.sendable()[-1].alert_id == urgent.id  # at once, past the cap
    # At 10m the first send leaves the window, but the urgent page took a slot: the second
    # and the urgent one fill the cap, so the held page waits for the second to leave (11m).
    assert storm.advance(7 * MINUTE) == []
    assert storm.rows(state="held")[0].next_attempt_at == storm.clock.now() + MINUTE
    assert [n.alert_id for n in storm.advance(MINUTE)] == [third.id]


def test_a_held_page_goes_alone_when_it_is_the_only_one(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "1/1m"})
    storm.fire()
    second = storm.fire()
    storm.advance(MINUTE)
    last = storm.sendable()[-1]
    assert (last.alert_id, last.id, last.alerts) == (second.id, f"{second.id}.1", [])
    assert "+" not in last.text.split(":")[0]  # its own message, not a summary


def test_sms_has_a_cap_by_default_and_other_channels_none(make_storm: Any) -> None:
    storm: Storm = make_storm()
    for _ in range(7):
        storm.fire()
        storm.fire(channel="webhook")
    assert len([row for row in storm.sendable() if row.channel == "sms"]) == 5  # 5/15m
    assert len([row for row in storm.sendable() if row.channel == "webhook"]) == 7


def test_off_lifts_the_sms_default(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "off"})
    for _ in range(7):
        storm.fire()
    assert len(storm.sendable()) == 7


def test_held_pages_survive_a_restart_and_go_once(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "1/5m"})
    for _ in range(3):
        storm.fire()
    storm.reopen()
    storm.advance(5 * MINUTE)
    storm.advance(5 * MINUTE)
    assert [len(row.alerts) for row in storm.sendable()] == [0, 2]


def test_every_hold_has_a_timer_kind() -> None:
    assert HOLDS == ("group", "digest", "quiet", "cap")
