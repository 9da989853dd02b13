"""The pipeline when its state cannot be written: which errors are an outage (a 503, /readyz,
one log line at each end) and which are bugs; nothing refused is kept; it ends by itself.

The database is made full with SQLite's `max_page_count` (the file may not grow), which works
anywhere; tests/e2e/test_full_disk.py fills a real file system under a real `alertd run`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from alertd import metrics
from alertd.clock import FakeClock
from alertd.engine.errors import StateStoreError
from alertd.engine.state import AlertQuery
from alertd.pipeline import Pipeline
from alertd.state_health import QUIET
from tests.test_pipeline import settings_in

OUTAGE_BEGAN = "the state store cannot be written; events are refused until it can"
OUTAGE_ENDED = "the state store can be written again"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pipeline(tmp_path: Any, clock: FakeClock) -> Iterator[Pipeline]:
    opened = Pipeline(settings_in(tmp_path), clock)
    yield opened
    opened.close()


def breakdown(vehicle: str, pad: int = 0) -> dict[str, Any]:
    return {"type": "breakdown", "vehicle_id": vehicle, "pad": "x" * pad}


def let_it_grow_no_more(pipeline: Pipeline) -> int:
    """The database may not grow (as on a full disk); returns a pad that needs it to."""
    connection = pipeline.store.connection
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    (free,) = connection.execute("PRAGMA freelist_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")
    return 4096 * (free + 8)


def let_it_grow(pipeline: Pipeline) -> None:
    pipeline.store.connection.execute("PRAGMA max_page_count = 4294967294")


def records(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage() == message]


async def keys(pipeline: Pipeline) -> set[tuple[object, ...]]:
    return {record.alert.key for record in (await pipeline.alerts(AlertQuery())).records}


async def test_a_full_database_refuses_each_batch_keeps_none_and_is_one_outage(
    pipeline: Pipeline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await pipeline.ingest([breakdown("before")], clock.now())
    outages = metrics.STATE_OUTAGES.labels("full")
    outages_before = outages._value.get()
    pad = let_it_grow_no_more(pipeline)
    with caplog.at_level(logging.INFO, logger="alertd.state"):
        for n in range(3):
            with pytest.raises(StateStoreError) as refused:
                await pipeline.ingest([breakdown(f"refused-{n}", pad)], clock.now())
            assert refused.value.reason == "full"
        problem = pipeline.state_problem()
        assert problem is not None
        assert (problem.reason, problem.since) == ("full", clock.now())
        assert "database or disk is full" in problem.error
        assert metrics.STATE_UNAVAILABLE._value.get() == 1
        assert outages._value.get() == outages_before + 1  # one outage, not three
        assert await keys(pipeline) == {("before",)}  # nothing refused was kept
        assert pipeline.outbox.pending_count() == 1

        let_it_grow(pipeline)
        clock.advance(42)
        # The refused batch left no suppression window behind: it fires now, once.
        assert len(await pipeline.ingest([breakdown("refused-0")], clock.now())) == 1
        assert pipeline.state_problem() is None
        assert metrics.STATE_UNAVAILABLE._value.get() == 0

    (began,) = records(caplog, OUTAGE_BEGAN)
    assert (began.levelname, began.reason) == ("ERROR", "full")  # type: ignore[attr-defined]
    (ended,) = records(caplog, OUTAGE_ENDED)
    assert ended.refused_requests == 3  # type: ignore[attr-defined]
    assert ended.seconds == 42  # type: ignore[attr-defined]
    assert await keys(pipeline) == {("before",), ("refused-0",)}


async def test_a_batch_that_fills_the_database_takes_its_whole_group_down(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    """SQLite rolls the whole transaction back when a statement finds the disk full. The
    batches of the group after the one that filled it must not then commit on their own:
    they would be answered 503, be sent again, and page twice."""
    pad = let_it_grow_no_more(pipeline)
    big = pipeline.ingest([breakdown("big", pad)], clock.now())
    small = pipeline.ingest([breakdown("small")], clock.now())  # the same group: one commit
    results = await asyncio.gather(big, small, return_exceptions=True)
    assert [type(result) for result in results] == [StateStoreError, StateStoreError]
    assert "the transaction was rolled back: database or disk is full" in str(results[1])
    assert await keys(pipeline) == set()
    assert pipeline.outbox.pending_count() == 0
    assert not pipeline.store.connection.in_transaction

    let_it_grow(pipeline)
    assert len(await pipeline.ingest([breakdown("small")], clock.now())) == 1  # no window kept
    assert await keys(pipeline) == {("small",)}


async def test_a_commit_that_wrote_nothing_does_not_end_an_outage_and_the_check_does(
    pipeline: Pipeline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pad = let_it_grow_no_more(pipeline)
    with caplog.at_level(logging.INFO, logger="alertd.state"):
        with pytest.raises(StateStoreError):
            await pipeline.ingest([breakdown("v1", pad)], clock.now())
        # No rule matches: nothing to record, so it is taken, and proves nothing.
        assert await pipeline.ingest([{"type": "trip_update"}], clock.now()) == []
        assert pipeline.state_problem() is not None
        with pytest.raises(StateStoreError):
            await pipeline.check_state()  # what the daemon tries every second meanwhile
        assert pipeline.state_problem() is not None

        let_it_grow(pipeline)
        clock.advance(QUIET)  # no batch refused for a while: the probe proves enough
        await pipeline.check_state()
        assert pipeline.state_problem() is None
    assert len(records(caplog, OUTAGE_BEGAN)) == 1
    (ended,) = records(caplog, OUTAGE_ENDED)
    assert ended.refused_requests == 1  # type: ignore[attr-defined]


async def test_a_probe_that_fits_where_a_batch_did_not_goes_on_with_the_same_outage(
    pipeline: Pipeline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Room for the probe's row, not for the batch: the probe does not end the outage while
    batches are being refused (each retry would begin a new one, /readyz flapping); it does
    once none has been refused for QUIET, and a batch that commits ends it at once."""
    outages = metrics.STATE_OUTAGES.labels("full")
    outages_before = outages._value.get()
    with caplog.at_level(logging.INFO, logger="alertd.state"):
        for n in range(3):
            pad = let_it_grow_no_more(pipeline)
            with pytest.raises(StateStoreError):
                await pipeline.ingest([breakdown(f"big-{n}", pad)], clock.now())
            clock.advance(QUIET / 2)
            let_it_grow(pipeline)  # the probe's row fits
            await pipeline.check_state()
            assert pipeline.state_problem() is not None
        assert outages._value.get() == outages_before + 1
        assert records(caplog, OUTAGE_ENDED) == []

        let_it_grow(pipeline)
        clock.advance(QUIET / 2)
        await pipeline.check_state()  # QUIET since the last refusal: the probe ends it
        assert pipeline.state_problem() is None

        pad = let_it_grow_no_more(pipeline)
        with pytest.raises(StateStoreError):
            await pipeline.ingest([breakdown("big-3", pad)], clock.now())
        let_it_grow(pipeline)
        assert len(await pipeline.ingest([breakdown("small")], clock.now())) == 1
        assert pipeline.state_problem() is None  # a batch that commits ends it at once
    assert len(records(caplog, OUTAGE_BEGAN)) == 2
    assert [record.refused_requests for record in records(caplog, OUTAGE_ENDED)] == [3, 1]  # type: ignore[attr-defined]


async def test_a_database_that_turned_read_only_is_an_outage_with_that_reason(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    pipeline.store.connection.execute("PRAGMA query_only = 1")
    with pytest.raises(StateStoreError) as refused:
        await pipeline.ingest([breakdown("v1")], clock.now())
    assert refused.value.reason == "read_only"
    assert "attempt to write a readonly database" in str(refused.value)
    problem = pipeline.state_problem()
    assert problem is not None and problem.reason == "read_only"

    pipeline.store.connection.execute("PRAGMA query_only = 0")
    assert len(await pipeline.ingest([breakdown("v1")], clock.now())) == 1
    assert pipeline.state_problem() is None


async def test_a_lock_held_past_the_busy_timeout_is_an_outage_until_a_write_succeeds(
    tmp_path: Any, clock: FakeClock
) -> None:
    pipeline = Pipeline(settings_in(tmp_path, busy_timeout="50ms"), clock)
    other = sqlite3.connect(pipeline.store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a backup tool, say
    with pytest.raises(StateStoreError) as refused:
        await pipeline.ingest([breakdown("v1")], clock.now())
    assert refused.value.reason == "busy"
    assert pipeline.state_problem() is not None
    other.execute("ROLLBACK")
    await pipeline.ingest([breakdown("v1")], clock.now())
    assert pipeline.state_problem() is None
    other.close()
    pipeline.close()


async def test_a_bug_in_recording_is_raised_as_it_is_and_is_no_outage(
    pipeline: Pipeline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A schema alertd does not expect (here: its outbox table gone) is not the disk's fault:
    retrying cannot help, so it is not a 503 and not an outage; its traceback is logged."""
    other = sqlite3.connect(pipeline.store.path, isolation_level=None)
    other.execute("DROP TABLE outbox")
    other.close()
    with caplog.at_level(logging.ERROR), pytest.raises(sqlite3.OperationalError) as bug:
        await pipeline.ingest([breakdown("v1")], clock.now())
    assert not isinstance(bug.value, StateStoreError)
    assert "no such table: outbox" in str(bug.value)
    assert pipeline.state_problem() is None
    (logged,) = [r for r in caplog.records if r.getMessage() == "cannot evaluate a batch"]
    assert logged.exc_info is not None
    assert records(caplog, OUTAGE_BEGAN) == []
    assert await keys(pipeline) == set()


async def test_a_batch_committed_before_the_database_went_away_is_accepted(
    pipeline: Pipeline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection can drop right after a COMMIT succeeded (a database restarted): the
    change feed's read of what was committed then fails. The batch is recorded, so it is
    accepted and its notifications are sent; a 503 would have its sender retry into the window
    it wrote (a 202 with no alert) and its notifications wait for no one."""
    refresh = pipeline.feed.refresh

    def cut_once() -> bool:
        monkeypatch.setattr(pipeline.feed, "refresh", refresh)
        raise StateStoreError("the connection to the database dropped", "unreachable")

    submitted: list[str] = []
    submit = pipeline.dispatcher.submit

    def noting(notifications: Any) -> None:
        notifications = list(notifications)
        submitted.extend(n.alert_id for n in notifications)
        submit(notifications)

    monkeypatch.setattr(pipeline.dispatcher, "submit", noting)
    monkeypatch.setattr(pipeline.feed, "refresh", cut_once)
    (fired,) = await pipeline.ingest([breakdown("v1")], clock.now())
    assert pipeline.feed.refresh is refresh  # the cut happened, after the commit
    assert await keys(pipeline) == {("v1",)}
    assert submitted == [fired]
    assert pipeline.state_problem() is None


async def test_a_sweep_that_cannot_write_is_part_of_the_outage(
    pipeline: Pipeline, clock: FakeClock
) -> None:
    await pipeline.ingest([breakdown("old")], clock.now())
    clock.advance(2 * 86_400)  # past the retention of a day: the sweep deletes it
    pipeline.store.connection.execute("PRAGMA query_only = 1")
    with pytest.raises(StateStoreError):
        await pipeline.sweep()
    problem = pipeline.state_problem()
    assert problem is not None and problem.reason == "read_only"
    assert await keys(pipeline) == {("old",)}
    pipeline.store.connection.execute("PRAGMA query_only = 0")
    await pipeline.sweep()
    assert await keys(pipeline) == set()
    assert pipeline.state_problem() is None


async def test_a_reload_the_state_refuses_keeps_the_old_rules_running(
    pipeline: Pipeline, clock: FakeClock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload whose commit the state refuses (503) is not half done: the engine does not go
    on with the new rules while the templates, the on-call file and the stored state are the
    old ones; nothing of it is kept, as for a refused batch."""
    before = [rule.id for rule in pipeline.rules()]
    (tmp_path / "rules" / "trips.rules").write_text('rule trips { when type == "trip_update" }\n')

    def refused() -> None:
        raise StateStoreError(f"{tmp_path}/var/alertd.db: database or disk is full", "full")

    monkeypatch.setattr(pipeline.store, "commit", refused)
    with pytest.raises(StateStoreError):
        await pipeline.reload_rules()
    assert [rule.id for rule in pipeline.rules()] == before
    monkeypatch.undo()
    trip = {"type": "trip_update", "vehicle_id": "v1"}
    assert await pipeline.ingest([trip], clock.now()) == []  # the old rules: none for trips
    assert await pipeline.reload_rules() == len(before) + 1
    assert "trips" in [rule.id for rule in pipeline.rules()]
