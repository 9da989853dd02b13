"""Incidents in the daemon's stack, on a real SQLite file and a fake clock: escalation timers
run through the pipeline's transaction (a step and the removal of its timer commit together),
and the on-call file is loaded and reloaded with the rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.clock import FakeClock
from alertd.config import load_settings
from alertd.core import RulesInvalid
from alertd.engine.errors import StateStoreError
from alertd.incidents import ESCALATE
from alertd.pipeline import Pipeline
from tests.pipeline_home import write_home

RULE = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  suppress 10m by vehicle_id
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
BREAKDOWN = {"type": "breakdown", "vehicle_id": "v1"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The daemon's folder: its config, rules and on-call file."""
    write_home(tmp_path, RULE, oncall=ONCALL)
    return tmp_path


@pytest.fixture
def pipeline(home: Path, clock: FakeClock) -> Iterator[Pipeline]:
    opened = open_pipeline(home, clock)
    yield opened
    opened.close()


def open_pipeline(home: Path, clock: FakeClock) -> Pipeline:
    """The daemon's stack in `home` (again, after a close: a restart)."""
    return Pipeline(load_settings(home / "alertd.toml"), clock)


async def notices(pipeline: Pipeline, alert_id: str) -> list[tuple[str, str, str]]:
    detail = await pipeline.alert(alert_id)
    assert detail is not None
    return [(d.notice, d.channel, d.recipient) for d in detail.deliveries]


async def test_a_rule_pages_a_person_and_escalates_on_the_timer(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())
    assert await notices(pipeline, alert_id) == [
        ("fired", "webhook", "http://127.0.0.1:9/frank"),  # notify and step 1, merged
    ]
    detail = await pipeline.alert(alert_id)
    assert detail is not None and detail.next_step_due == pipeline.steady.now() + 600
    clock.advance(599)
    await pipeline.run_due_timers()
    assert len(await notices(pipeline, alert_id)) == 1
    clock.advance(1)
    await pipeline.run_due_timers()
    assert (await notices(pipeline, alert_id))[1:] == [("escalated", "sms", "+15550100106")]
    assert pipeline.outbox.pending_count() == 2


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["forward", "back"])
async def test_a_step_keeps_its_delay_across_a_wall_clock_step_and_a_restart(
    home: Path, clock: FakeClock, jump: float, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = open_pipeline(home, clock)
    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())  # step 2 due in 10 minutes
    clock.advance(60)
    clock.step_wall(jump)
    assert await pipeline.next_timer_due() == pipeline.steady.now() + 540
    assert "the wall clock was stepped" in caplog.text  # once the timer loop woke
    detail = await pipeline.alert(alert_id)  # people are shown the wall clock's time
    assert detail is not None and detail.next_step_due == clock.now() + 540
    pipeline.close()

    again = open_pipeline(home, clock)  # a restart, the wall clock as it is now
    try:
        clock.advance(539)
        await again.run_due_timers()
        assert len(await notices(again, alert_id)) == 1  # forward: not due at once
        clock.advance(1)
        await again.run_due_timers()  # back: not an hour late
        assert [n for n, _c, _r in await notices(again, alert_id)] == ["fired", "escalated"]
    finally:
        again.close()


async def test_a_step_whose_commit_fails_runs_again_once(
    pipeline: Pipeline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())
    clock.advance(600)
    commit = pipeline.store.commit

    def failing() -> None:
        pipeline.store.rollback()
        raise StateStoreError("disk I/O error")

    monkeypatch.setattr(pipeline.store, "commit", failing)
    with pytest.raises(StateStoreError):
        await pipeline.run_due_timers()
    monkeypatch.setattr(pipeline.store, "commit", commit)
    assert len(await notices(pipeline, alert_id)) == 1  # the step's rows were rolled back
    assert pipeline.timers.due(ESCALATE, alert_id) is not None  # ... and its timer kept
    await pipeline.run_due_timers()
    await pipeline.run_due_timers()
    assert [n for n, _c, _r in await notices(pipeline, alert_id)] == ["fired", "escalated"]


async def test_a_broken_on_call_file_is_refused_on_reload_and_the_old_one_kept(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    assert pipeline.settings.oncall.path is not None
    pipeline.settings.oncall.path.write_text(ONCALL.replace('after = "10m"', 'after = "soon"'))
    with pytest.raises(RulesInvalid) as refused:
        await pipeline.reload_rules()
    assert any("after" in problem.message for problem in refused.value.problems)
    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())
    assert await notices(pipeline, alert_id) == [("fired", "webhook", "http://127.0.0.1:9/frank")]
    detail = await pipeline.alert(alert_id)
    assert detail is not None and detail.record.escalation is not None
    assert detail.record.escalation.steps[1].after == 600.0  # the old file's policy


async def test_a_rule_naming_a_person_the_on_call_file_lacks_is_refused(
    pipeline: Pipeline,
) -> None:
    assert pipeline.settings.oncall.path is not None
    pipeline.settings.oncall.path.write_text(ONCALL.replace("[people.frank]", "[people.fred]"))
    with pytest.raises(RulesInvalid) as refused:
        await pipeline.reload_rules()
    messages = [problem.message for problem in refused.value.problems]
    assert "unknown person 'frank'" in messages  # the rule's webhook(person:frank)


async def test_a_rule_escalating_by_a_policy_the_on_call_file_lacks_is_refused(
    pipeline: Pipeline,
) -> None:
    rules = Path(pipeline.settings.rules.paths[0]) / "vehicle.rules"
    rules.write_text(RULE.replace("escalate ops", "escalate opz"))
    with pytest.raises(RulesInvalid) as refused:
        await pipeline.reload_rules()
    (problem,) = refused.value.problems
    assert (problem.line, problem.column) == (7, 12)
    assert (problem.message, problem.hint) == (
        "unknown escalation policy 'opz'",
        "did you mean 'ops'?",
    )
