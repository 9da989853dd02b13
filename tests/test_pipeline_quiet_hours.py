"""Quiet hours in the daemon's stack, on a real SQLite file and a fake clock whose wall clock is
stepped: quiet hours end at 07:00 on the wall clock, whatever the wall clock did in the night,
while delays (escalation steps, group waits) keep counting on the steady clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.config import load_settings
from alertd.pipeline import Pipeline
from tests.pipeline_home import WEBHOOK, run_to, write_home

RULE = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority medium
  notify   webhook
}
"""
QUIET = 'quiet_hours = {window = "22:00-07:00", time_zone = "Europe/Amsterdam"}\n'
NIGHT = datetime(2026, 6, 1, 21, 0, tzinfo=UTC).timestamp()  # 23:00 in Amsterdam
MORNING = datetime(2026, 6, 2, 5, 0, tzinfo=UTC).timestamp()  # 07:00 in Amsterdam


async def state_and_release(pipeline: Pipeline, alert_id: str) -> tuple[str, float | None]:
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    (page,) = detail.deliveries
    return page.state, page.next_attempt_at


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["forward", "back"])
async def test_quiet_hours_end_at_07_00_on_the_wall_clock_after_it_is_stepped(
    tmp_path: Path, jump: float
) -> None:
    clock = FakeClock(NIGHT)
    config = write_home(tmp_path, RULE, channels=WEBHOOK + QUIET)
    pipeline = Pipeline(load_settings(config), clock)
    try:
        (alert_id,) = await pipeline.ingest([{"type": "breakdown"}], clock.now())
        assert await state_and_release(pipeline, alert_id) == ("held", MORNING)
        await run_to(pipeline, clock, 60)
        clock.step_wall(jump)  # NTP steps the wall clock an hour in the night
        await run_to(pipeline, clock, MORNING - 60 - clock.now())  # 06:59 on the wall clock
        assert await state_and_release(pipeline, alert_id) == ("held", MORNING)
        await run_to(pipeline, clock, 60)  # 07:00: neither an hour early nor an hour late
        state, _ = await state_and_release(pipeline, alert_id)
        assert state == "pending"
    finally:
        pipeline.close()
