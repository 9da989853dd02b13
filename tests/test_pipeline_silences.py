"""Silences in the daemon's stack, on a real SQLite file and a fake clock: a silenced vehicle's
alert is recorded and sends nothing while another's pages; an expired silence lets the vehicle
page again; a silence made during an escalation stops its next step; silences outlive a
restart; maintenance windows of the on-call file silence while open; the metric counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alertd import metrics
from alertd.clock import FakeClock
from alertd.config import Settings, load_settings
from alertd.engine.ruleset import RuleSet
from alertd.pipeline import Pipeline
from alertd.silences import InvalidSilence, SilenceRefused
from tests.pipeline_home import write_home

RULE = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  notify   webhook
}
"""
ONCALL = """
[escalation.ops]
[[escalation.ops.steps]]
after = "0s"
notify = ["webhook"]
[[escalation.ops.steps]]
after = "10m"
notify = ["sms"]

[maintenance.north_depot]
time_zone = "UTC"
days = ["sun"]
window = "02:00-06:00"
matchers = [{name = "depot", value = "north"}]
comment = "weekly service"
"""
START = datetime(2026, 3, 14, 12, 0, tzinfo=UTC).timestamp()  # a Saturday, noon


def breakdown(vehicle: str, depot: str = "south") -> dict[str, Any]:
    return {"type": "breakdown", "vehicle_id": vehicle, "depot": depot}


def workshop(minutes: int = 60, vehicle: str = "v-9") -> dict[str, Any]:
    ends = datetime.fromtimestamp(START + minutes * 60, UTC).isoformat()
    return {
        "matchers": [{"name": "vehicle_id", "value": vehicle}],
        "ends_at": ends,
        "created_by": "alice",
        "comment": f"{vehicle} is in the workshop",
    }


def silenced_count() -> float:
    found = metrics.REGISTRY.get_sample_value("alertd_alerts_silenced_total", {"rule": "breakdown"})
    return found or 0.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(write_home(tmp_path, RULE, oncall=ONCALL, state='retention = "1d"\n'))


@pytest.fixture
def pipeline(settings: Settings, clock: FakeClock) -> Iterator[Pipeline]:
    opened = Pipeline(settings, clock)
    yield opened
    opened.close()


async def pages(pipeline: Pipeline, alert_id: str) -> list[tuple[str, str]]:
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    return [(d.notice, d.channel) for d in detail.deliveries]


async def status(pipeline: Pipeline, alert_id: str) -> tuple[str, str | None]:
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    return detail.record.status, detail.record.silenced_by


async def test_a_silenced_vehicle_is_recorded_and_sends_nothing(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    before = silenced_count()
    silence = await pipeline.add_silence(workshop(), via="web")
    assert silence.state == "active"
    silenced, paged = await pipeline.ingest([breakdown("v-9"), breakdown("v-10")], clock.now())
    assert await status(pipeline, silenced) == ("silenced", silence.silence.id)
    assert await pages(pipeline, silenced) == []
    assert await status(pipeline, paged) == ("firing", None)
    assert await pages(pipeline, paged) == [("fired", "webhook")]
    assert pipeline.outbox.pending_count() == 1
    assert silenced_count() == before + 1
    detail = await pipeline.alert(silenced)
    assert detail is not None
    assert [(e.action, e.by, e.via) for e in detail.timeline] == [
        ("fired", "breakdown", "rule"),
        ("silenced", "alice", "web"),
    ]


async def test_after_the_silence_ends_the_vehicle_pages_again(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    await pipeline.add_silence(workshop(minutes=30))
    (first,) = await pipeline.ingest([breakdown("v-9")], clock.now())
    clock.advance(30 * 60)
    (second,) = await pipeline.ingest([breakdown("v-9")], clock.now())
    assert (await status(pipeline, first))[0] == "silenced"
    assert (await status(pipeline, second))[0] == "firing"
    assert await pages(pipeline, second) == [("fired", "webhook")]


async def test_an_expired_silence_silences_no_more(pipeline: Pipeline, clock: FakeClock) -> None:
    made = await pipeline.add_silence(workshop())
    clock.advance(60)
    expired = await pipeline.expire_silence(made.silence.id)
    assert expired is not None and expired.changed and expired.listed.state == "expired"
    assert expired.listed.silence.ends_at == clock.now()
    again = await pipeline.expire_silence(made.silence.id)
    assert again is not None and not again.changed
    assert await pipeline.expire_silence("01KNOSUCHSILENCE0000000000") is None
    (alert_id,) = await pipeline.ingest([breakdown("v-9")], clock.now())
    assert (await status(pipeline, alert_id))[0] == "firing"


async def test_a_silence_made_during_an_escalation_stops_its_next_step(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    rules = [replace(rule, escalate="ops") for rule in pipeline.engine.rules.rules]
    pipeline.engine.replace_rules(RuleSet(rules))
    (alert_id,) = await pipeline.ingest([breakdown("v-9")], clock.now())
    assert await pages(pipeline, alert_id) == [("fired", "webhook")]  # notify and step 1
    clock.advance(5 * 60)
    before = silenced_count()
    await pipeline.add_silence(workshop())
    clock.advance(5 * 60)
    await pipeline.run_due_timers()
    assert await pages(pipeline, alert_id) == [("fired", "webhook")]  # no SMS: step 2 held
    assert (await status(pipeline, alert_id))[0] == "silenced"
    assert silenced_count() == before + 1
    detail = await pipeline.alert(alert_id)
    assert detail is not None and detail.next_step_due is None


async def test_silences_outlive_a_restart(settings: Settings, clock: FakeClock) -> None:
    first = Pipeline(settings, clock)
    try:
        made = await first.add_silence(workshop())
    finally:
        first.close()
    clock.advance(60)
    second = Pipeline(settings, clock)
    try:
        (alert_id,) = await second.ingest([breakdown("v-9")], clock.now())
        assert await status(second, alert_id) == ("silenced", made.silence.id)
        assert [item.silence.id for item in await second.silences_listed("active")] == [
            made.silence.id
        ]
    finally:
        second.close()


async def test_a_refused_silence_stores_nothing(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidSilence):
        await pipeline.add_silence({**workshop(), "ends_at": "yesterday"})
    assert [item.silence.kind for item in await pipeline.silences_listed()] == ["maintenance"]


async def test_a_maintenance_window_silences_while_open(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    clock.advance(14.5 * 3600)  # Sunday 02:30 UTC
    north, south = await pipeline.ingest(
        [breakdown("v-1", "north"), breakdown("v-2", "south")], clock.now()
    )
    assert await status(pipeline, north) == ("silenced", "maintenance:north_depot")
    assert await status(pipeline, south) == ("firing", None)
    window = await pipeline.silence("maintenance:north_depot")
    assert window is not None and window.state == "active"
    with pytest.raises(SilenceRefused):
        await pipeline.expire_silence("maintenance:north_depot")
    clock.advance(3.5 * 3600)  # 06:00: closed
    (later,) = await pipeline.ingest([breakdown("v-1", "north")], clock.now())
    assert await status(pipeline, later) == ("firing", None)


async def test_expired_silences_are_listed_until_retention(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    made = await pipeline.add_silence(workshop(minutes=10))
    clock.advance(24 * 3600)  # it ended 23h50m ago; retention is 1d
    await pipeline.sweep()
    listed = await pipeline.silences_listed("expired")
    assert [item.silence.id for item in listed] == [made.silence.id]
    clock.advance(11 * 60)
    await pipeline.sweep()
    assert await pipeline.silences_listed("expired") == []
    assert await pipeline.silence(made.silence.id) is None
