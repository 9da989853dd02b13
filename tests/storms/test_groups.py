"""Grouping on a fake clock: the alerts of a rule with equal group keys, fired within the wait of
the group's first, go out as one message per channel and recipient; a group is durable; the
next alert after the wait starts a new group; escalations and status updates stay per alert."""

from __future__ import annotations

from typing import Any

import orjson

from .conftest import MINUTE, Storm


def test_twenty_alerts_of_one_fleet_are_one_webhook_call(make_storm: Any) -> None:
    storm: Storm = make_storm()
    fired = []
    for _ in range(20):
        fired.append(storm.fire(channel="webhook", group=("depot-7",), wait=2 * MINUTE))
        storm.clock.advance(5)
    assert storm.sendable() == []
    assert {row.hold for row in storm.rows(state="held")} == {'group:["fleet","depot-7"]'}
    assert storm.advance(2 * MINUTE - 100 - 1) == []
    (message,) = storm.advance(1)  # the wait of the group's first
    body = orjson.loads(message.content["body"])
    assert body["group"] == {"key": ["depot-7"], "count": 20}
    assert [a["alert_id"] for a in body["alerts"]] == [alert.id for alert in fired]
    assert message.id.startswith("group-") and message.alerts == tuple(a.id for a in fired)


def test_groups_are_per_key_and_a_late_alert_starts_the_next(make_storm: Any) -> None:
    storm: Storm = make_storm()
    storm.fire(channel="webhook", group=("depot-7",))
    storm.fire(channel="webhook", group=("depot-9",))
    storm.fire(channel="webhook", group=("depot-7",))
    released = storm.advance(5 * MINUTE)
    assert sorted(len(n.alerts) for n in released) == [0, 2]  # depot-9 alone: as it was
    late = storm.fire(channel="webhook", group=("depot-7",))
    assert storm.rows(id=f"{late.id}.1")[0].state == "held"  # a new group, a new wait
    assert [n.id for n in storm.advance(5 * MINUTE)] == [f"{late.id}.1"]


def test_one_message_per_channel_and_recipient(make_storm: Any) -> None:
    storm: Storm = make_storm(email={"to": ["a@x.test", "b@x.test"]})
    for _ in range(3):
        storm.fire(channel="email", group=("depot-7",))
    released = storm.advance(5 * MINUTE)
    assert sorted(n.recipient for n in released) == ["a@x.test", "b@x.test"]
    assert all(
        n.content["subject"] == "[MEDIUM] 3 alerts: Harsh braking (depot-7)" for n in released
    )


def test_a_group_survives_a_restart_and_goes_once(make_storm: Any) -> None:
    storm: Storm = make_storm()
    for _ in range(4):
        storm.fire(channel="webhook", group=("depot-7",))
    storm.reopen()
    storm.fire(channel="webhook", group=("depot-7",))  # joins the group it left held
    storm.reopen()
    (message,) = storm.advance(5 * MINUTE)
    assert len(message.alerts) == 5
    assert storm.advance(5 * MINUTE) == []
    assert [len(row.alerts) for row in storm.sendable()] == [5]


def test_a_group_then_meets_the_cap(make_storm: Any) -> None:
    storm: Storm = make_storm(sms={"max_per_recipient": "1/10m"})
    storm.fire()  # an ungrouped page takes the only slot
    for _ in range(3):
        storm.fire(group=("depot-7",))
    storm.advance(5 * MINUTE)  # the group is released, and the cap holds it
    (held,) = storm.rows(state="held")
    assert held.id.startswith("group-")
    assert held.hold == 'cap:["sms","+15550100001"]'
    (message,) = storm.advance(5 * MINUTE)
    assert message.id == held.id  # the group's message itself, once the cap allows
    assert message.content["text"].startswith("3 alerts: Harsh braking (depot-7): ")


def test_status_updates_stay_per_alert(make_storm: Any) -> None:
    storm: Storm = make_storm()
    first = storm.fire(channel="webhook", group=("depot-7",))
    storm.fire(channel="webhook", group=("depot-7",))
    storm.advance(5 * MINUTE)
    with storm.store.transaction():
        done = storm.incidents.act(first.id, "resolve", "alice", "api")
    assert done is not None
    (notice,) = done.notifications
    assert (notice.alert_id, notice.notice, notice.hold, notice.alerts) == (
        first.id,
        "resolved",
        "",
        (),
    )
