"""Escalation on a fake clock: steps in order, repeat, ack stops it, unack resumes it,
escalate-now jumps a step, open alerts keep their policy across a reload, and a wall clock that
jumps neither fires a step early nor holds it back.

The policy `ops` (tests/incidents/conftest.py): step 1 at once, SMS to whoever is on call (bob);
step 2 fifteen minutes later, SMS to frank and the webhook; one repeat.
"""

from __future__ import annotations

import pytest

from alertd.engine.state import Escalation, EscalationStep
from alertd.incidents import ESCALATE, ActionRefused
from alertd.incidents.escalation import delay_before_next, describe_next
from alertd.model import NotifyTarget

from .conftest import MINUTE, ONCALL, World

STEP_1 = [("escalated", "sms", "+15550100102")]
STEP_2 = [("escalated", "sms", "+15550100106"), ("escalated", "webhook", "http://127.0.0.1:9/hook")]


def sent_since(world: World, before: int) -> list[tuple[str, str, str]]:
    return [(notice, channel, to) for _n, notice, channel, to in world.outbox.sent()[before:]]


def steps_at(world: World, minutes: list[float]) -> list[tuple[float, list[tuple[str, str, str]]]]:
    """Advance to each of these minutes after now, run the timers; what each run sent."""
    start = world.clock.now()
    runs = []
    for minute in minutes:
        world.clock.advance(start + minute * MINUTE - world.clock.now())
        before = len(world.outbox.rows)
        world.run_timers()
        runs.append((minute, sent_since(world, before)))
    return runs


def test_the_first_step_pages_with_the_alert_and_the_rest_follow_on_time(world: World) -> None:
    alert = world.fire()
    assert world.outbox.sent(alert.id) == [
        ("1", "fired", "slack", "#fleet"),  # the rule's notify
        ("2", "fired", "sms", "+15550100102"),  # step 1, at once: bob is on call
    ]
    assert steps_at(world, [14.99, 15, 29.99, 30, 45, 120]) == [
        (14.99, []),
        (15, STEP_2),
        (29.99, []),
        (30, STEP_1),  # the second round: step 2 lasts its 15m again, then step 1
        (45, STEP_2),
        (120, []),  # every step ran: over
    ]
    record = world.record(alert)
    assert record.escalation is not None and record.escalation.ran == 4
    assert world.timers.due(ESCALATE, alert.id) is None
    assert [(e.action, e.via, dict(e.detail)) for e in world.store.timeline(alert.id)] == [
        ("escalated", "rule", {"policy": "ops", "step": 1, "steps": 2, "round": 1}),
        ("escalated", "timer", {"policy": "ops", "step": 2, "steps": 2, "round": 1}),
        ("escalated", "timer", {"policy": "ops", "step": 1, "steps": 2, "round": 2}),
        ("escalated", "timer", {"policy": "ops", "step": 2, "steps": 2, "round": 2}),
    ]
    assert record.notifications == 7


def test_a_first_step_with_a_delay_waits_for_it(world: World) -> None:
    alert = world.fire(policy="later")
    assert world.outbox.sent(alert.id) == [("1", "fired", "slack", "#fleet")]
    runs = steps_at(world, [9.99, 10, 60])
    assert runs == [(9.99, []), (10, [("fired", "sms", "+15550100102")]), (60, [])]


def test_an_ack_stops_the_escalation(world: World) -> None:
    alert = world.fire()
    world.clock.advance(5 * MINUTE)
    world.incidents.act(alert.id, "ack", "bob", "api")
    assert world.timers.due(ESCALATE, alert.id) is None
    assert steps_at(world, [60, 600]) == [(60, []), (600, [])]


def test_a_resolve_stops_the_escalation(world: World) -> None:
    alert = world.fire()
    world.incidents.act(alert.id, "resolve", "bob", "api")
    before = len(world.outbox.rows)
    assert steps_at(world, [60]) == [(60, [])]
    assert len(world.outbox.rows) == before


def test_an_unack_resumes_with_the_next_steps_delay_counted_from_it(world: World) -> None:
    alert = world.fire()
    world.clock.advance(5 * MINUTE)
    world.incidents.act(alert.id, "ack", "bob", "api")
    world.clock.advance(15 * MINUTE)  # 20m: step 2 would have run at 15m
    done = world.incidents.act(alert.id, "unack", "bob", "api")
    assert done is not None
    assert done.message == "unacknowledged by bob; next: step 2 of 2, round 1 of 2 in 15m"
    assert steps_at(world, [14.99, 15]) == [(14.99, []), (15, STEP_2)]


def test_escalate_runs_the_next_step_now_and_counts_the_one_after_from_it(world: World) -> None:
    alert = world.fire()
    world.clock.advance(2 * MINUTE)
    done = world.incidents.act(alert.id, "escalate", "bob", "api")
    assert done is not None
    assert [(n.notice, n.channel, n.recipient) for n in done.notifications] == STEP_2
    assert done.message == (
        "escalated to step 2 of 2, round 1 of 2 of policy 'ops' by bob; "
        "next: step 1 of 2, round 2 of 2 in 15m"
    )
    assert world.store.timeline(alert.id)[-1].by == "bob"
    assert steps_at(world, [14.99, 15]) == [(14.99, []), (15, STEP_1)]


def test_escalating_an_acked_alert_hands_it_on(world: World) -> None:
    alert = world.fire()
    world.incidents.act(alert.id, "ack", "bob", "api")
    done = world.incidents.act(alert.id, "escalate", "bob", "slack")
    assert done is not None and done.changed
    record = world.record(alert)
    assert (record.status, record.acked_by) == ("firing", None)
    assert [(n.channel, n.recipient) for n in done.notifications] == [
        ("sms", "+15550100106"),
        ("webhook", "http://127.0.0.1:9/hook"),
    ]
    assert world.timers.due(ESCALATE, alert.id) is not None  # it escalates on from here


def test_escalate_after_the_last_step_is_refused(world: World) -> None:
    alert = world.fire()
    for _ in range(3):
        world.incidents.act(alert.id, "escalate", "bob", "api")
    with pytest.raises(ActionRefused, match="'ops' has run all 4 of its steps"):
        world.incidents.act(alert.id, "escalate", "bob", "api")


def test_open_alerts_keep_the_policy_they_fired_with_across_a_reload(world: World) -> None:
    before = world.fire()
    world.reload(
        ONCALL.replace("repeat = 1", "repeat = 0").replace(
            'after = "15m"\nnotify = ["sms(person:frank)", "webhook"]',
            'after = "5m"\nnotify = ["sms(person:alice)"]',
        )
    )
    after = world.fire()
    runs = steps_at(world, [5, 15])
    assert runs == [(5, [("escalated", "sms", "+15550100101")]), (15, STEP_2)]
    first = world.record(before).escalation
    assert first is not None and first.steps[1].after == 15 * MINUTE
    assert [n.alert_id for n in world.outbox.rows[-3:]] == [after.id, before.id, before.id]


def test_a_policy_gone_from_the_on_call_file_leaves_the_alert_without_escalation(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    alert = world.fire(policy="vanished")
    assert world.record(alert).escalation is None
    assert world.outbox.sent(alert.id) == [("1", "fired", "slack", "#fleet")]
    assert "escalation policy 'vanished' is not in the on-call file" in caplog.text


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["forward", "back"])
def test_a_wall_clock_that_jumps_neither_fires_a_step_early_nor_holds_it(
    world: World, jump: float
) -> None:
    alert = world.fire()
    world.clock.advance(MINUTE)
    world.clock.step_wall(jump)
    assert world.run_timers() == []  # forward: not every timer at once
    world.clock.advance(14 * MINUTE - 1)
    assert world.run_timers() == []
    world.clock.advance(1)  # back: not an hour late
    assert [(n.channel, n.recipient) for n in world.run_timers()] == [
        ("sms", "+15550100106"),
        ("webhook", "http://127.0.0.1:9/hook"),
    ]
    assert world.outbox.rows[-1].alert_id == alert.id


def test_a_step_after_a_wall_clock_jump_pages_whoever_the_wall_clock_says_is_on_call(
    world: World,
) -> None:
    alert = world.fire()  # 2026-01-01: bob is on call (alice had 2025-12-31, has 2026-01-02)
    assert ("sms", "+15550100102") in [row[2:] for row in world.outbox.sent(alert.id)]
    world.clock.step_wall(86_400)  # the wall clock jumps a day; the delays do not
    world.clock.advance(15 * MINUTE)
    step_2 = [(n.channel, n.recipient) for n in world.run_timers()]
    assert ("sms", "+15550100106") in step_2  # frank
    world.clock.advance(15 * MINUTE)
    (again,) = world.run_timers()  # round 2, step 1, half an hour after the alert ...
    assert (again.channel, again.recipient) == ("sms", "+15550100101")  # ... on 2026-01-02


def test_the_delays_of_a_policy_with_its_rounds() -> None:
    steps = (EscalationStep(0.0, (NotifyTarget("sms"),)), EscalationStep(900.0, ()))
    escalation = Escalation("ops", (*steps, EscalationStep(300.0, ())), repeat=1)
    delays = []
    for ran in range(6):
        current = Escalation("ops", escalation.steps, 1, ran)
        delays.append((delay_before_next(current), describe_next(current)))
    assert delays == [
        (0.0, "step 1 of 3, round 1 of 2"),
        (900.0, "step 2 of 3, round 1 of 2"),
        (300.0, "step 3 of 3, round 1 of 2"),
        (300.0, "step 1 of 3, round 2 of 2"),  # the last step's 5m again, then step 1's 0s
        (900.0, "step 2 of 3, round 2 of 2"),
        (300.0, "step 3 of 3, round 2 of 2"),
    ]
