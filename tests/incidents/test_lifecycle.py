"""The alert state machine: the transition table, and `act` doing every move on a stored alert."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertd.engine.eventtime import format_time
from alertd.engine.state import ALERT_STATUSES, AlertStatus, TimelineEntry
from alertd.incidents import ACTIONS, Action, ActionRefused, Move, transition
from alertd.incidents.manager import STATUS
from alertd.model import NotifyTarget

from .conftest import MINUTE, World

EXPECTED: dict[tuple[AlertStatus, Action], Move] = {
    ("firing", "ack"): Move("changed", "acked"),
    ("firing", "unack"): Move("repeat", "firing"),
    ("firing", "resolve"): Move("changed", "resolved"),
    ("firing", "escalate"): Move("changed", "firing"),
    ("acked", "ack"): Move("repeat", "acked"),
    ("acked", "unack"): Move("changed", "firing"),
    ("acked", "resolve"): Move("changed", "resolved"),
    ("acked", "escalate"): Move("changed", "firing"),
    ("resolved", "ack"): Move("refused", "resolved"),
    ("resolved", "unack"): Move("refused", "resolved"),
    ("resolved", "resolve"): Move("repeat", "resolved"),
    ("resolved", "escalate"): Move("refused", "resolved"),
    ("silenced", "ack"): Move("refused", "silenced"),
    ("silenced", "unack"): Move("refused", "silenced"),
    ("silenced", "resolve"): Move("changed", "resolved"),
    ("silenced", "escalate"): Move("refused", "silenced"),
}
"""DESIGN.md's lifecycle, written out move by move."""


@pytest.mark.parametrize("status", ALERT_STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_status_and_action_has_the_designed_move(status: AlertStatus, action: Action) -> None:
    assert transition(status, action) == EXPECTED[status, action]


def test_a_repeat_or_a_refusal_never_changes_the_status() -> None:
    for (status, _action), move in EXPECTED.items():
        if move.outcome != "changed":
            assert move.status == status


def test_an_ack_is_recorded_with_who_when_and_through_what(world: World) -> None:
    alert = world.fire(policy=None)
    world.clock.advance(90)
    done = world.incidents.act(alert.id, "ack", "ana", "cli")
    assert done is not None
    assert (done.changed, done.message) == (True, "acknowledged by ana")
    record = world.record(alert)
    assert (record.status, record.acked_by, record.acked_via) == ("acked", "ana", "cli")
    assert record.acked_at == world.clock.now()
    assert world.store.timeline(alert.id) == [
        TimelineEntry(world.clock.now(), "acked", "ana", "cli")
    ]


def test_a_second_ack_changes_nothing_and_names_the_first(world: World) -> None:
    alert = world.fire(policy=None)
    world.incidents.act(alert.id, "ack", "ana", "api")
    first = world.record(alert)
    world.clock.advance(60)
    again = world.incidents.act(alert.id, "ack", "bob", "cli")
    assert again is not None and not again.changed
    assert again.message == (
        f"already acknowledged by ana at {format_time(world.clock.now() - 60)} via api; "
        "nothing changed"
    )
    assert world.record(alert) == first
    assert len(world.store.timeline(alert.id)) == 1


def test_unack_returns_to_firing_and_an_unack_of_a_firing_alert_is_a_repeat(
    world: World,
) -> None:
    alert = world.fire(policy=None)
    repeat = world.incidents.act(alert.id, "unack", "ana", "api")
    assert repeat is not None and not repeat.changed
    assert repeat.message == "not acknowledged (it is firing); nothing changed"
    world.incidents.act(alert.id, "ack", "ana", "api")
    done = world.incidents.act(alert.id, "unack", "ana", "web")
    assert done is not None and done.changed
    record = world.record(alert)
    assert (record.status, record.acked_at, record.acked_by) == ("firing", None, None)
    assert [e.action for e in world.store.timeline(alert.id)] == ["acked", "unacked"]


@pytest.mark.parametrize("start", ["firing", "acked", "silenced"])
def test_resolve_ends_an_alert_from_any_open_status_once(world: World, start: str) -> None:
    alert = world.fire(policy=None)
    if start == "acked":
        world.incidents.act(alert.id, "ack", "ana", "api")
    if start == "silenced":
        world.store.save_alert(replace(world.record(alert), status="silenced"))
    world.clock.advance(5 * MINUTE)
    done = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert done is not None and done.changed
    record = world.record(alert)
    assert (record.status, record.resolved_by, record.resolved_via) == ("resolved", "bob", "api")
    again = world.incidents.act(alert.id, "resolve", "carol", "cli")
    assert again is not None and not again.changed
    assert again.message.startswith("already resolved by bob at ")
    assert world.record(alert) == record


@pytest.mark.parametrize("action", ["ack", "unack", "escalate"])
def test_a_resolved_alert_cannot_be_acked_unacked_or_escalated(
    world: World, action: Action
) -> None:
    alert = world.fire()
    world.incidents.act(alert.id, "resolve", "bob", "api")
    before = world.record(alert)
    with pytest.raises(ActionRefused) as refused:
        world.incidents.act(alert.id, action, "ana", "api")
    assert refused.value.message.startswith("it is resolved by bob at ")
    assert refused.value.message.endswith(" via api: it cannot be " + {
        "ack": "acknowledged", "unack": "unacknowledged", "escalate": "escalated"
    }[action])  # fmt: skip
    assert world.record(alert) == before


def test_a_silenced_alert_cannot_be_acked(world: World) -> None:
    alert = world.fire(policy=None)
    world.store.save_alert(replace(world.record(alert), status="silenced"))
    with pytest.raises(ActionRefused, match="it is silenced: it cannot be acknowledged"):
        world.incidents.act(alert.id, "ack", "ana", "api")


def test_an_unknown_alert_is_none(world: World) -> None:
    assert world.incidents.act("01KDNOSUCHALERT00000000000", "ack", "ana", "api") is None


def test_escalating_an_alert_without_a_policy_is_refused(world: World) -> None:
    alert = world.fire(policy=None)
    with pytest.raises(ActionRefused, match="it has no escalation policy"):
        world.incidents.act(alert.id, "escalate", "ana", "api")


def test_a_resolve_tells_every_address_paged_once_on_its_channel(world: World) -> None:
    """Paged: Slack (the rule's notify), bob by SMS (step 1), frank by SMS and the webhook
    (step 2). The resolved notice goes to each of them, once, numbered on."""
    alert = world.fire()
    world.clock.advance(15 * MINUTE)
    world.run_timers()
    done = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert done is not None
    assert world.outbox.sent(alert.id)[4:] == [
        ("5", "resolved", "slack", "#fleet"),
        ("6", "resolved", "sms", "+15550100102"),
        ("7", "resolved", "sms", "+15550100106"),
        ("8", "resolved", "webhook", "http://127.0.0.1:9/hook"),
    ]
    assert world.record(alert).notifications == 8
    assert world.outbox.sent(alert.id)[:4] == [
        ("1", "fired", "slack", "#fleet"),
        ("2", "fired", "sms", "+15550100102"),
        ("3", "escalated", "sms", "+15550100106"),
        ("4", "escalated", "webhook", "http://127.0.0.1:9/hook"),
    ]
    sms = done.notifications[1].content["text"]
    assert sms.startswith("RESOLVED") and "by bob" in sms
    again = world.incidents.act(alert.id, "resolve", "ana", "api")
    assert again is not None and again.notifications == ()


def test_an_ack_tells_everyone_paged_who_has_it(world: World) -> None:
    alert = world.fire()
    world.clock.advance(15 * MINUTE)
    world.run_timers()
    done = world.incidents.act(alert.id, "ack", "bob", "sms")
    assert done is not None
    assert world.outbox.sent(alert.id)[4:] == [
        ("5", "acked", "slack", "#fleet"),
        ("6", "acked", "sms", "+15550100102"),
        ("7", "acked", "sms", "+15550100106"),
        ("8", "acked", "webhook", "http://127.0.0.1:9/hook"),
    ]
    assert (
        done.notifications[1]
        .content["text"]
        .startswith("ACKED Critical Safety Event: V-17, D-4 by bob (sms) at 00:15 UTC")
    )


def test_at_most_one_status_update_a_minute_per_address_the_latest_state_told(
    world: World,
) -> None:
    """Ack, then resolve ten seconds later: Slack (its page is edited in place) and the
    webhook hear both at once; the phones hear the ack, and the resolve once their minute
    is over, from the status timer, in the same transaction as its row's removal."""
    alert = world.fire()
    world.clock.advance(15 * MINUTE)
    world.run_timers()
    world.incidents.act(alert.id, "ack", "bob", "api")
    world.clock.advance(10)
    done = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert done is not None
    assert [(n.notice, n.channel) for n in done.notifications] == [
        ("resolved", "slack"),
        ("resolved", "webhook"),
    ]
    assert world.incidents.timers.due(STATUS, alert.id) == pytest.approx(world.timers.now() + 50)
    world.clock.advance(49)
    assert world.run_timers() == []
    world.clock.advance(1)
    held = world.run_timers()
    assert [(n.id.rpartition(".")[2], n.notice, n.recipient) for n in held] == [
        ("11", "resolved", "+15550100102"),
        ("12", "resolved", "+15550100106"),
    ]
    assert world.record(alert).notifications == 12
    world.clock.advance(MINUTE)
    assert world.run_timers() == []  # told once


def test_a_change_taken_back_within_the_minute_is_not_told(world: World) -> None:
    """Ack, unack, ack: the phones were told of the first ack; the second tells them nothing
    new, and an unack is not a status update."""
    alert = world.fire(policy=None, notify=(NotifyTarget("sms"),))
    world.incidents.act(alert.id, "ack", "bob", "api")
    unacked = world.incidents.act(alert.id, "unack", "bob", "api")
    again = world.incidents.act(alert.id, "ack", "ana", "api")
    assert unacked is not None and again is not None
    assert unacked.notifications == again.notifications == ()
    world.clock.advance(2 * MINUTE)
    assert world.run_timers() == []
    assert [notice for _, notice, _, _ in world.outbox.sent(alert.id)] == ["fired", "acked"]


def test_status_updates_false_keeps_a_channel_to_pages_and_the_resolve(world: World) -> None:
    channels = {**world.settings.channels, "sms": {**world.settings.channels["sms"]}}
    channels["sms"]["status_updates"] = False
    settings = replace(world.settings, channels=channels)
    world.incidents.setup = replace(world.incidents.setup, settings=settings)
    alert = world.fire()
    acked = world.incidents.act(alert.id, "ack", "bob", "api")
    assert acked is not None
    assert [(n.channel, n.recipient) for n in acked.notifications] == [("slack", "#fleet")]
    world.clock.advance(MINUTE)
    resolved = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert resolved is not None
    assert [n.channel for n in resolved.notifications] == ["slack", "sms"]


def test_send_resolved_false_keeps_a_channel_out_of_the_resolve(world: World) -> None:
    channels = {**world.settings.channels, "sms": {**world.settings.channels["sms"]}}
    channels["sms"]["send_resolved"] = False
    settings = replace(world.settings, channels=channels)
    world.incidents.setup = replace(world.incidents.setup, settings=settings)
    alert = world.fire()
    done = world.incidents.act(alert.id, "resolve", "bob", "api")
    assert done is not None
    assert [(n.channel, n.recipient) for n in done.notifications] == [("slack", "#fleet")]
