"""The daemon's stack in-process: one transaction per batch, reload, retention."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alertd import metrics
from alertd import pipeline as pipeline_module
from alertd.clock import FakeClock
from alertd.config import ConfigError, Settings, load_settings
from alertd.core import RulesInvalid
from alertd.engine.errors import InvalidBatch, StateStoreError
from alertd.engine.eventtime import format_time
from alertd.engine.ruleset import RuleSet
from alertd.engine.state import AlertQuery
from alertd.pipeline import Pipeline
from tests.pipeline_home import REPO, write_home

RULE = """rule breakdown {
  name     "Vehicle Breakdown"
  when     type == "breakdown"
  priority high
  suppress 10m by vehicle_id
  notify   webhook
}
"""


def settings_in(
    home: Path, templates: Path = REPO / "templates", busy_timeout: str = "5s"
) -> Settings:
    config = write_home(
        home,
        RULE,
        state=f'retention = "1d"\nbusy_timeout = "{busy_timeout}"\n',
        channels='[channels.webhook]\nurl = "http://127.0.0.1:9/alerts?token=abc"\n',
        templates=templates,
    )
    return load_settings(config)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pipeline(tmp_path: Path, clock: FakeClock) -> Iterator[Pipeline]:
    opened = Pipeline(settings_in(tmp_path), clock)
    yield opened
    opened.close()


async def test_a_batch_records_its_alerts_and_their_notifications_together(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    events = [
        {"type": "breakdown", "vehicle_id": "v1"},
        {"type": "breakdown", "vehicle_id": "v1"},  # suppressed
        {"type": "breakdown", "vehicle_id": "v2"},
        {"type": "trip_update", "vehicle_id": "v3"},
    ]
    alert_ids = await pipeline.ingest(events, clock.now())
    assert len(alert_ids) == 2
    detail = await pipeline.alert(alert_ids[0])
    assert detail is not None
    assert detail.record.alert.key == ("v1",)
    (notification,) = detail.deliveries
    assert notification.state == "pending"
    assert notification.recipient == "http://127.0.0.1:9/alerts?token=abc"
    assert pipeline.outbox.pending_count() == 2


async def test_an_ack_that_names_no_one_shows_acked_by_null(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    first, second = await pipeline.ingest(
        [{"type": "breakdown", "vehicle_id": "v1"}, {"type": "breakdown", "vehicle_id": "v2"}],
        clock.now(),
    )
    anonymous = await pipeline.act(first, "ack", "", "api")
    named = await pipeline.act(second, "ack", "dispatcher-7", "cli")
    assert anonymous is not None and named is not None
    assert (anonymous.detail.record.status, anonymous.detail.record.acked_by) == ("acked", "")
    assert (named.detail.record.acked_by, named.detail.record.acked_via) == ("dispatcher-7", "cli")


async def test_an_invalid_event_rejects_the_batch_and_records_nothing(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    events = [{"type": "breakdown", "vehicle_id": "v1"}, {"type": "breakdown", "timestamp": "x"}]
    with pytest.raises(InvalidBatch) as invalid:
        await pipeline.ingest(events, clock.now())
    assert [index for index, _error in invalid.value.errors] == [1]
    assert (await pipeline.alerts(AlertQuery())).records == []
    assert pipeline.outbox.pending_count() == 0
    # The rejected batch did not open the suppression window either.
    assert len(await pipeline.ingest(events[:1], clock.now())) == 1


async def test_an_event_stamped_far_ahead_of_its_arrival_is_rejected(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """A device with a wrong clock must not hold its key's windows hostage ([engine] max_future)."""
    ahead = clock.now() + 2 * 3600
    events = [{"type": "breakdown", "vehicle_id": "v1", "timestamp": ahead}]
    with pytest.raises(InvalidBatch) as invalid:
        await pipeline.ingest(events, clock.now())
    assert "ahead of its arrival" in str(invalid.value.errors[0][1])
    assert len(await pipeline.ingest([{**events[0], "timestamp": clock.now()}], clock.now())) == 1


async def test_an_event_stamped_long_before_its_arrival_is_rejected(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """`"timestamp": 0` must not page now "Fired at 1970-01-01" ([engine] max_past, 1d)."""
    for stamp in (0, clock.now() - 30 * 86_400):
        events = [{"type": "breakdown", "vehicle_id": "v1", "timestamp": stamp}]
        with pytest.raises(InvalidBatch) as invalid:
            await pipeline.ingest(events, clock.now())
        assert "before its arrival" in str(invalid.value.errors[0][1])
    assert (await pipeline.alerts(AlertQuery())).records == []
    day_old = [{"type": "breakdown", "vehicle_id": "v1", "timestamp": clock.now() - 86_400}]
    assert len(await pipeline.ingest(day_old, clock.now())) == 1


async def test_invalid_events_names_what_ingest_would_refuse_and_records_nothing(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """Asked by the API about the rest of a batch that had undecodable items."""
    events = [
        {"type": "breakdown", "timestamp": "yesterday"},
        {"type": "breakdown", "vehicle_id": "v1"},
        {"type": "breakdown", "timestamp": clock.now() + 2 * 3600},
    ]
    details = pipeline.invalid_events(events, clock.now())
    assert [index for index, _error in details] == [0, 2]
    assert "yesterday" in str(details[0][1])
    assert "ahead of its arrival" in str(details[1][1])
    assert (await pipeline.alerts(AlertQuery())).records == []


def test_broken_templates_are_reported_like_broken_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # paths in errors are shown relative to the working folder
    templates = tmp_path / "templates" / "webhook"
    templates.mkdir(parents=True)
    (templates / "body.json").write_text('{"alert": {{ alert.id }')
    with pytest.raises(RulesInvalid) as invalid:
        Pipeline(settings_in(tmp_path, templates=tmp_path / "templates"), FakeClock())
    (error,) = invalid.value.problems
    assert error.text.startswith("templates/webhook/body.json:1:1: error: ")


def test_a_template_error_without_a_line_still_names_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Jinja gives no line for a file it cannot read: the error is put on line 1, not lost.
    monkeypatch.chdir(tmp_path)
    templates = tmp_path / "templates" / "webhook"
    templates.mkdir(parents=True)
    (templates / "body.json").write_bytes(b'\xff{"alert": 1}')
    with pytest.raises(RulesInvalid) as invalid:
        Pipeline(settings_in(tmp_path, templates=tmp_path / "templates"), FakeClock())
    (error,) = invalid.value.problems
    assert (error.path, error.line) == ("templates/webhook/body.json", 1)
    assert error.text.startswith("templates/webhook/body.json:1:1: error: cannot read template")


def test_a_rule_naming_a_template_folder_that_does_not_exist_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `alertd check` refuses, starting or reloading refuses too."""
    monkeypatch.chdir(tmp_path)
    settings = settings_in(tmp_path)
    rules = tmp_path / "rules" / "vehicle.rules"
    rules.write_text(RULE.replace("  notify", '  template "no_such_folder"\n  notify'))
    with pytest.raises(RulesInvalid) as invalid:
        Pipeline(settings, FakeClock())
    (error,) = invalid.value.problems
    assert (error.path, error.line) == ("rules/vehicle.rules", 6)
    assert "no_such_folder" in error.message


async def test_a_reload_swaps_rules_and_keeps_surviving_windows(
    pipeline: Pipeline, tmp_path: Path, clock: FakeClock
) -> None:
    assert len(await pipeline.ingest([{"type": "breakdown", "vehicle_id": "v1"}], clock.now())) == 1
    other = RULE.replace("breakdown {", "other {").replace("Vehicle Breakdown", "Other")
    (tmp_path / "rules" / "more.rules").write_text(other)
    assert await pipeline.reload_rules() == 2
    fired = await pipeline.ingest([{"type": "breakdown", "vehicle_id": "v1"}], clock.now())
    assert len(fired) == 1  # only the new rule: `breakdown` is still suppressed for v1
    detail = await pipeline.alert(fired[0])
    assert detail is not None and detail.record.alert.rule_id == "other"

    (tmp_path / "rules" / "more.rules").write_text("rule broken {")
    with pytest.raises(RulesInvalid):
        await pipeline.reload_rules()
    assert [rule.id for rule in pipeline.rules()] == ["other", "breakdown"]


async def test_sweeping_deletes_alerts_past_retention_but_not_pending_notifications(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    (alert_id,) = await pipeline.ingest([{"type": "breakdown", "vehicle_id": "v1"}], clock.now())
    await pipeline.sweep()
    assert await pipeline.alert(alert_id) is not None
    clock.advance(2 * 86_400)
    await pipeline.sweep()
    assert await pipeline.alert(alert_id) is None
    assert pipeline.outbox.pending_count() == 1  # still to be delivered (or to die of age)


async def test_a_sweep_goes_in_slices_and_a_batch_waiting_gets_in_between(
    pipeline: Pipeline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "SWEEP_BATCH", 2)
    events = [{"type": "breakdown", "vehicle_id": f"v{n}"} for n in range(5)]
    await pipeline.ingest(events, clock.now())  # five suppression windows, of 10 minutes
    clock.advance(3 * 86_400)  # past them, and past the alerts' retention
    await pipeline.ingest([{"type": "other"}], clock.now())  # the engine sees the time
    order: list[str] = []  # each transaction, by what it did
    sweep, process = pipeline.engine.sweep, pipeline.engine.record_valid

    def sweeping(*args: Any, **kwargs: Any) -> int:
        order.append("slice")
        return sweep(*args, **kwargs)

    def processing(*args: Any, **kwargs: Any) -> Any:
        order.append("batch")
        return process(*args, **kwargs)

    monkeypatch.setattr(pipeline.engine, "sweep", sweeping)
    monkeypatch.setattr(pipeline.engine, "record_valid", processing)
    swept = asyncio.create_task(pipeline.sweep())
    await asyncio.sleep(0)  # the first slice holds the store
    await pipeline.ingest([{**events[0], "vehicle_id": "new"}], clock.now())
    await swept
    assert order == ["slice", "batch", "slice", "slice"]  # 2 + 2 + 1 windows (and alerts)
    size = pipeline.store.size()
    assert (size.suppressions, size.alerts) == (1, 1)  # the new alert's


async def test_batches_that_arrive_together_commit_together_and_fail_alone(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    good = [{"type": "breakdown", "vehicle_id": "v1"}]
    bad = [{"type": "breakdown", "vehicle_id": "v2", "timestamp": "never"}]
    other = [{"type": "breakdown", "vehicle_id": "v3"}]
    results = await asyncio.gather(
        pipeline.ingest(good, clock.now()),
        pipeline.ingest(bad, clock.now()),
        pipeline.ingest(other, clock.now()),
        return_exceptions=True,
    )
    assert isinstance(results[1], InvalidBatch)
    assert [len(r) for r in (results[0], results[2])] == [1, 1]  # type: ignore[arg-type]
    keys = [r.alert.key for r in (await pipeline.alerts(AlertQuery())).records]
    assert sorted(keys) == [("v1",), ("v3",)]


async def test_a_rule_that_raises_is_counted_in_the_metrics(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    def broken(event: object) -> bool:
        raise ZeroDivisionError("a bug the compiler let through")

    (rule,) = pipeline.engine.rules.rules
    pipeline.engine.replace_rules(RuleSet([replace(rule, condition=broken)]))
    errors = metrics.RULE_ERRORS.labels("breakdown")
    before = errors._value.get()
    events = [{"type": "breakdown", "vehicle_id": "v1"}, {"type": "breakdown", "vehicle_id": "v2"}]
    assert await pipeline.ingest(events, clock.now()) == []  # no match, nothing lost otherwise
    assert errors._value.get() == before + 2
    await pipeline.ingest(events[:1], clock.now())
    assert errors._value.get() == before + 3
    exposed = metrics.exposition().decode()
    assert f'alertd_rule_evaluation_errors_total{{rule="breakdown"}} {before + 3}' in exposed


async def test_reload_errors_keep_their_hint(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules" / "vehicle.rules").write_text(RULE.replace("webhook", "webhok"))
    with pytest.raises(RulesInvalid) as invalid:
        await pipeline.reload_rules()
    (error,) = invalid.value.problems
    assert error.message == "unknown channel 'webhok'"
    assert error.text == (
        "rules/vehicle.rules:6:12: error: unknown channel 'webhok'\nhint: did you mean 'webhook'?"
    )


BREAKDOWN = {"type": "breakdown", "vehicle_id": "v1"}


async def test_a_group_that_cannot_get_the_write_lock_is_refused_and_the_next_is_taken(
    tmp_path: Path, clock: FakeClock
) -> None:
    pipeline = Pipeline(settings_in(tmp_path, busy_timeout="100ms"), clock)
    writer = sqlite3.connect(pipeline.store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing, or a disk that stalls
    waiting = [pipeline.ingest([{**BREAKDOWN, "vehicle_id": f"v{n}"}], clock.now()) for n in (1, 2)]
    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 30)
    assert [type(result) for result in results] == [StateStoreError, StateStoreError]
    assert "database is locked" in str(results[0])
    writer.execute("ROLLBACK")
    assert len(await asyncio.wait_for(pipeline.ingest([BREAKDOWN], clock.now()), 30)) == 1
    assert [r.alert.key for r in (await pipeline.alerts(AlertQuery())).records] == [("v1",)]
    assert pipeline.outbox.pending_count() == 1  # nothing of the refused group was kept
    writer.close()
    pipeline.close()


async def test_an_error_after_the_commit_still_answers_every_batch(
    pipeline: Pipeline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches are on disk: they are accepted (a 503 would have them sent, and paged,
    twice), and their notifications are read back from the outbox."""

    def broken_submit(notifications: object) -> None:
        raise RuntimeError("a bug in handing over")

    monkeypatch.setattr(pipeline.dispatcher, "submit", broken_submit)
    batches = [[{**BREAKDOWN, "vehicle_id": f"v{n}"}] for n in range(3)]
    results = await asyncio.wait_for(
        asyncio.gather(*(pipeline.ingest(b, clock.now()) for b in batches)), 30
    )
    assert [len(alert_ids) for alert_ids in results] == [1, 1, 1]
    assert pipeline.outbox.pending_count() == 3
    monkeypatch.undo()
    assert len(await asyncio.wait_for(pipeline.ingest(batches[0], clock.now()), 30)) == 0


async def test_writes_begin_and_commit_off_the_event_loop_and_only_on_the_store(
    pipeline: Pipeline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN waits for the write lock and COMMIT for the disk: neither may hold up the loop.
    The outbox's purge is part of the sweep's transaction, on the store's connection."""
    calls: list[tuple[str, bool]] = []

    def watched(name: str, call: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            calls.append((name, threading.current_thread() is threading.main_thread()))
            call()

        return run

    for name in ("begin", "commit"):
        monkeypatch.setattr(pipeline.store, name, watched(name, getattr(pipeline.store, name)))
    outbox_statements: list[str] = []
    pipeline.outbox.connection.set_trace_callback(outbox_statements.append)

    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())
    await pipeline.act(alert_id, "ack", "ops", "api")
    await pipeline.reload_rules()
    clock.advance(2 * 86_400)
    await pipeline.sweep()

    assert calls == [("begin", False), ("commit", False)] * 4
    assert [s for s in outbox_statements if not s.startswith("SELECT")] == []


async def test_an_invalid_batch_is_refused_before_it_touches_the_state(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """No savepoint to roll back, no window read again: refusing a bad batch costs the same
    whatever the store holds."""
    await pipeline.ingest([BREAKDOWN], clock.now())
    statements: list[str] = []
    pipeline.store.connection.set_trace_callback(statements.append)
    with pytest.raises(InvalidBatch):
        await pipeline.ingest([BREAKDOWN, {**BREAKDOWN, "timestamp": "soon"}], clock.now())
    assert statements == []


async def test_a_second_ack_says_who_acked_first_and_changes_nothing(
    pipeline: Pipeline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    (alert_id,) = await pipeline.ingest([BREAKDOWN], clock.now())
    with caplog.at_level(logging.INFO, logger="alertd.daemon"):
        first = await pipeline.act(alert_id, "ack", "ana", "api")
        clock.advance(60)
        again = await pipeline.act(alert_id, "ack", "bob", "cli")
    assert first is not None and again is not None
    assert (first.changed, again.changed) == (True, False)
    acked_at = first.detail.record.acked_at
    assert again.detail.record.acked_at == acked_at
    assert again.message == (
        f"already acknowledged by ana at {format_time(clock.now() - 60)} via api; nothing changed"
    )
    logged = ("alert acknowledged", "alert unchanged")
    acks = [r for r in caplog.records if r.getMessage() in logged]
    assert [r.getMessage() for r in acks] == ["alert acknowledged", "alert unchanged"]
    assert (acks[1].by, acks[1].via, acks[1].detail) == ("bob", "cli", again.message)


def test_a_second_pipeline_on_the_same_state_is_refused_until_the_first_closes(
    tmp_path: Path, clock: FakeClock
) -> None:
    first = Pipeline(settings_in(tmp_path), clock)
    with pytest.raises(ConfigError) as refused:
        Pipeline(settings_in(tmp_path), clock)
    assert str(refused.value).startswith(f"{tmp_path / 'var' / 'alertd.db'}: the state is in use")
    assert f"(pid {os.getpid()})" in str(refused.value)
    first.close()
    Pipeline(settings_in(tmp_path), clock).close()
