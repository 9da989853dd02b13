"""Absent rules in the daemon's stack, on a real SQLite file and a fake clock: a silent vehicle
pages once through the timer sweep, its next report resolves the alert with the resolved
notice, and a restart after an outage waits one more DURATION."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alertd.clock import FakeClock
from alertd.config import Settings, load_settings
from alertd.engine.state import AlertQuery
from alertd.pipeline import Pipeline
from tests.pipeline_home import WEBHOOK, run_to, write_home

RULE = """rule vehicle_silent {
  name     "Vehicle Silent"
  when     type == "location_update"
  absent   15m by vehicle_id
  priority high
  notify   webhook
}
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    channels = WEBHOOK + "send_resolved = true\n"
    return load_settings(write_home(tmp_path, RULE, channels=channels))


@pytest.fixture
def pipeline(settings: Settings, clock: FakeClock) -> Iterator[Pipeline]:
    opened = Pipeline(settings, clock)
    yield opened
    opened.close()


def location(clock: FakeClock, vehicle: str = "v1") -> dict[str, Any]:
    return {"type": "location_update", "vehicle_id": vehicle, "timestamp": clock.now()}


async def alerts(pipeline: Pipeline) -> list[Any]:
    return (await pipeline.alerts(AlertQuery(rule="vehicle_silent"))).records


async def test_a_silent_vehicle_pages_once(pipeline: Pipeline, clock: FakeClock) -> None:
    start = clock.now()
    assert await pipeline.ingest([location(clock)], clock.now()) == []
    await run_to(pipeline, clock, 899)
    assert await alerts(pipeline) == []
    await run_to(pipeline, clock, 1)
    (record,) = await alerts(pipeline)
    assert record.alert.fired_at == start + 900
    assert record.alert.key == ("v1",)
    detail = await pipeline.alert(record.alert.id)
    assert detail is not None
    assert [(d.notice, d.channel) for d in detail.deliveries] == [("fired", "webhook")]
    await run_to(pipeline, clock, 6 * 3600)
    assert len(await alerts(pipeline)) == 1


async def test_the_next_report_resolves_it_with_a_notice(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    await pipeline.ingest([location(clock)], clock.now())
    await run_to(pipeline, clock, 1000)
    (record,) = await alerts(pipeline)
    await pipeline.ingest([location(clock)], clock.now())
    detail = await pipeline.alert(record.alert.id)
    assert detail is not None
    assert detail.record.status == "resolved"
    assert (detail.record.resolved_by, detail.record.resolved_via) == ("vehicle_silent", "rule")
    assert [d.notice for d in detail.deliveries] == ["fired", "resolved"]


async def test_a_deadline_passed_during_an_outage_waits_one_more_duration(
    settings: Settings, clock: FakeClock
) -> None:
    before = Pipeline(settings, clock)
    await before.ingest([location(clock)], clock.now())
    before.close()
    clock.advance(3600)  # down for an hour: the deadline passed meanwhile
    after = Pipeline(settings, clock)
    try:
        restarted = clock.now()
        await run_to(after, clock, 899)
        assert await alerts(after) == []
        await run_to(after, clock, 1)
        (record,) = await alerts(after)
        assert record.alert.fired_at == restarted + 900
    finally:
        after.close()


async def test_a_vehicle_that_keeps_reporting_is_not_paged_when_the_wall_clock_steps_forward(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """Its reports carry the unit's own (right) time; the daemon's wall clock is stepped an
    hour forward. The vehicle never falls silent, so nothing may page: not every watched
    vehicle at once as its timer falls due and finds its newest report 'an hour old'."""
    true_time = clock.now()
    await pipeline.ingest([location(clock)], clock.now())
    clock.step_wall(3600)
    for minute in range(1, 31):  # a report a minute for half an hour, stamped by the unit
        await run_to(pipeline, clock, 60)
        report = {
            "type": "location_update",
            "vehicle_id": "v1",
            "timestamp": true_time + 60 * minute,
        }
        await pipeline.ingest([report], clock.now())
    assert await alerts(pipeline) == []


async def test_reports_stamped_on_arrival_across_a_step_back_keep_the_silence_on_time(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """The wall clock runs an hour fast, then NTP steps it back. A vehicle that sends no
    timestamp is stamped with its arrival time: its report during the fast hour is stamped an
    hour ahead, so after the step every report of it is late (it changes nothing) and its
    deadline stays an hour ahead: it keeps reporting and is still watched from the one report,
    and once it stops, its silence pages an hour late instead of 15 minutes after its last
    report."""
    clock.step_wall(3600)
    await run_to(pipeline, clock, 1)  # the daemon notices the step
    await pipeline.ingest([{"type": "location_update", "vehicle_id": "v1"}], clock.now())
    await run_to(pipeline, clock, 60)
    clock.step_wall(-3600)
    for _ in range(10):  # it goes on reporting, every minute, for 10 minutes, then stops
        await run_to(pipeline, clock, 60)
        await pipeline.ingest([{"type": "location_update", "vehicle_id": "v1"}], clock.now())
    await run_to(pipeline, clock, 16 * 60)  # 15 minutes after its last report, and a minute
    assert len(await alerts(pipeline)) == 1


async def test_after_a_step_of_days_reports_are_still_held_to_the_wall_clock_arrival(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """A VM restored from a snapshot two days old, then set right by NTP: the steady clock
    stays two days behind the wall clock. A report stamped by its unit (the right time) is
    held to `max_future` against its arrival on the wall clock, as before, and one without a
    timestamp (stamped on the steady clock) is not refused as two days old."""
    clock.step_wall(2 * 86_400)
    await run_to(pipeline, clock, 1)
    stamped = {"type": "location_update", "vehicle_id": "v1", "timestamp": clock.now()}
    unstamped = {"type": "location_update", "vehicle_id": "v2"}
    assert pipeline.invalid_events([stamped, unstamped], clock.now()) == ()
    assert await pipeline.ingest([stamped, unstamped], clock.now()) == []
    ahead = dict(stamped, timestamp=clock.now() + 2 * 3600)
    ((index, error),) = pipeline.invalid_events([ahead], clock.now())
    assert index == 0 and "max_future" in str(error)


async def test_explain_stamps_an_event_without_a_timestamp_as_ingest_would(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """After a step, /v1/explain answers for the time `ingest` would give the event: its
    arrival on the steady clock, not the wall clock's hour ahead."""
    before = clock.now()
    clock.step_wall(3600)
    await run_to(pipeline, clock, 1)
    asked = await pipeline.explain({"type": "location_update", "vehicle_id": "v1"}, clock.now())
    assert asked.event_time == before + 1 == pipeline.steady.now()
