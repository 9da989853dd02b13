"""A rule's `resolve` in the daemon's stack, on a real SQLite file and a fake clock: matches fold
into the open alert without a page, `resolve when` and `resolve after` resolve it through the
incident manager (resolved notices to whoever was paged, once), a person's resolve frees the
key, and all of it survives a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.config import load_settings
from alertd.incidents import ESCALATE
from alertd.incidents.resolving import RESOLVE_AFTER
from alertd.pipeline import Pipeline
from alertd.server.views import rule_view
from tests.pipeline_home import write_home

RULE = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  by       vehicle_id
  priority high
  resolve when type == "vehicle_status" and status == "operational"
  resolve after 1h
  notify   webhook(person:frank)
  escalate ops
}
"""
ONCALL = """
[people.frank]
webhook = "http://127.0.0.1:9/frank"
sms = "+15550100106"

[escalation.ops]
[[escalation.ops.steps]]
after = "0s"
notify = ["webhook"]
[[escalation.ops.steps]]
after = "10m"
notify = ["sms(person:frank)"]
"""


def breakdown(vehicle: str = "v1") -> dict[str, str]:
    return {"type": "breakdown", "vehicle_id": vehicle}


def operational(vehicle: str = "v1") -> dict[str, str]:
    return {"type": "vehicle_status", "vehicle_id": vehicle, "status": "operational"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_home(tmp_path, RULE, oncall=ONCALL)


@pytest.fixture
def pipeline(config: Path, clock: FakeClock) -> Iterator[Pipeline]:
    opened = Pipeline(load_settings(config), clock)
    yield opened
    opened.close()


async def notices(pipeline: Pipeline, alert_id: str) -> list[tuple[str, str, str]]:
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    return [(d.notice, d.channel, d.recipient) for d in detail.deliveries]


async def test_a_second_match_is_absorbed_and_the_operational_event_resolves_it(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([breakdown()], clock.now())
    clock.advance(60)
    assert await pipeline.ingest([breakdown()], clock.now()) == []  # absorbed: no new alert
    assert await notices(pipeline, alert_id) == [("fired", "webhook", "http://127.0.0.1:9/frank")]
    clock.advance(60)
    assert await pipeline.ingest([operational("v2"), operational()], clock.now()) == []

    detail = await pipeline.alert(alert_id)
    assert detail is not None
    record = detail.record
    assert (record.status, record.resolved_by, record.resolved_via) == (
        "resolved",
        "breakdown",
        "rule",
    )
    assert (record.match_count, record.last_event) == (2, breakdown())
    assert await notices(pipeline, alert_id) == [
        ("fired", "webhook", "http://127.0.0.1:9/frank"),
        ("resolved", "webhook", "http://127.0.0.1:9/frank"),  # once, to whoever was paged
    ]
    assert [entry.action for entry in pipeline.store.timeline(alert_id)] == [
        "escalated",  # the policy's first step, with the page
        "resolved",
    ]
    # Resolving stopped the escalation and the quiet timer.
    assert pipeline.timers.due(ESCALATE, alert_id) is None
    assert pipeline.timers.due(RESOLVE_AFTER, alert_id) is None
    clock.advance(3600)
    await pipeline.run_due_timers()
    assert len(await notices(pipeline, alert_id)) == 2

    (again,) = await pipeline.ingest([breakdown()], clock.now())  # a new breakdown: a new page
    assert again != alert_id


async def test_an_alert_fired_and_resolved_in_one_batch_is_paged_then_resolved(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([breakdown(), breakdown(), operational()], clock.now())
    assert [n for n, _c, _r in await notices(pipeline, alert_id)] == ["fired", "resolved"]


async def test_resolve_after_resolves_when_no_match_came_for_the_duration(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([breakdown()], clock.now())
    clock.advance(3000)
    await pipeline.ingest([breakdown()], clock.now())  # folded: the hour starts again
    clock.advance(3599)
    await pipeline.run_due_timers()
    detail = await pipeline.alert(alert_id)
    assert detail is not None and detail.record.status == "firing"
    clock.advance(1)
    await pipeline.run_due_timers()
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    assert (detail.record.status, detail.record.resolved_by, detail.record.resolved_via) == (
        "resolved",
        "breakdown",
        "timer",
    )
    await pipeline.run_due_timers()
    assert await notices(pipeline, alert_id) == [
        ("fired", "webhook", "http://127.0.0.1:9/frank"),
        ("escalated", "sms", "+15550100106"),  # step 2, ten minutes in: nobody answered
        ("resolved", "webhook", "http://127.0.0.1:9/frank"),  # everyone paged, once each
        ("resolved", "sms", "+15550100106"),
    ]


async def test_a_person_resolving_the_alert_frees_its_key(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([breakdown()], clock.now())
    acted = await pipeline.act(alert_id, "resolve", "alice", "api")
    assert acted is not None and acted.changed
    assert pipeline.timers.due(RESOLVE_AFTER, alert_id) is None
    (again,) = await pipeline.ingest([breakdown()], clock.now())
    assert again != alert_id
    # The operational event resolves the new alert only; the old one stays as alice left it.
    await pipeline.ingest([operational()], clock.now())
    old, new = await pipeline.alert(alert_id), await pipeline.alert(again)
    assert old is not None and new is not None
    assert (old.record.resolved_by, new.record.resolved_by) == ("alice", "breakdown")


async def test_the_open_alert_and_its_timer_survive_a_restart(
    config: Path, clock: FakeClock
) -> None:
    first = Pipeline(load_settings(config), clock)
    (alert_id,) = await first.ingest([breakdown()], clock.now())
    first.store.connection.close()  # as if killed: nothing more is written
    first.outbox.close()
    first._file_lock.release()

    clock.advance(600)
    second = Pipeline(load_settings(config), clock)
    try:
        assert await second.ingest([breakdown()], clock.now()) == []  # still absorbed
        clock.advance(3600)
        await second.run_due_timers()
        await second.run_due_timers()
        detail = await second.alert(alert_id)
        assert detail is not None and detail.record.resolved_via == "timer"
        assert [n for n, _c, _r in await notices(second, alert_id)] == [
            "fired",
            "escalated",  # its step fell due while the daemon was down: run once at start
            "resolved",
            "resolved",
        ]
    finally:
        second.close()


def test_the_rule_lists_its_key_resolve_and_policy(pipeline: Pipeline) -> None:
    (rule,) = pipeline.rules()
    view = rule_view(rule)
    assert (view["by"], view["resolve"], view["escalate"]) == (
        ["vehicle_id"],
        {"when": 'type == "vehicle_status" and status == "operational"', "after_seconds": 3600.0},
        "ops",
    )
