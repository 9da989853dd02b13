"""The dispatcher while the database refuses its outcomes: it goes on sending, keeps each
outcome until the database takes it, sends nothing twice, and says so once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from alertd.clock import SYSTEM_CLOCK
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.journal import Journal
from alertd.notify.outbox import AttemptResult, Outbox
from alertd.state_health import StateHealth
from tests.filesystems import fill, small_tmpfs
from tests.notify.conftest import HttpServer, enqueue_alert, make_alert, make_settings
from tests.waiting import until

OUTAGE_BEGAN = "the state store cannot be written; events are refused until it can"
OUTAGE_ENDED = "the state store can be written again"


async def test_outcomes_the_database_refuses_are_kept_and_written_once_it_takes_them(
    tmp_path: Path, http_server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, channels={"webhook": {"url": f"{http_server.url}/hook"}})
    outbox = Outbox(tmp_path / "alertd.db")
    alerts = [make_alert(id=f"01KDREFUSED{n}") for n in range(3)]
    for alert in alerts:
        enqueue_alert(outbox, settings, alert, SYSTEM_CLOCK.now())
    outbox._recorder.execute("PRAGMA query_only = 1")  # its writes are refused: read-only
    health = StateHealth(SYSTEM_CLOCK)
    dispatcher = Dispatcher(settings, outbox, health=health)

    def states() -> list[tuple[str, int]]:
        return [(s.state, s.attempts) for a in alerts for s in outbox.states(a.id)]

    with caplog.at_level(logging.INFO, logger="alertd.state"):
        running = asyncio.create_task(dispatcher.run())
        await until(lambda: len(http_server.requests) == 3, "every notification to go out")
        await until(lambda: dispatcher._refusals >= 3, "the recorder to try a few times")
        assert health.problem is not None and health.problem.reason == "read_only"
        assert states() == [("pending", 0)] * 3  # the table has not heard yet
        assert dispatcher.depth == 0  # but the dispatcher knows: nothing goes out again

        outbox._recorder.execute("PRAGMA query_only = 0")  # writable again
        await until(lambda: health.problem is None, "the kept outcomes to be written")
        assert states() == [("sent", 1)] * 3
        await dispatcher.drain(grace=5)
        await running
    assert len(http_server.requests) == 3  # none sent twice
    assert len([r for r in caplog.records if r.getMessage() == OUTAGE_BEGAN]) == 1
    assert len([r for r in caplog.records if r.getMessage() == OUTAGE_ENDED]) == 1
    outbox.close()


def outcome(seq: int) -> AttemptResult:
    return AttemptResult(seq, "sent", 1, 1_767_225_600.0, receipt=f"HTTP 200 ({'x' * 200})")


def test_an_outcome_cut_short_by_a_full_disk_spoils_no_other(tmp_path: Path) -> None:
    """A write that finds the disk full part way writes part of a line: the journal ends that
    line before the next, so only the cut one is lost (its notification may go out again
    after a crash; it is still in memory to be recorded)."""
    with small_tmpfs(tmp_path / "small", size="64k") as folder:
        journal = Journal(folder / "alertd.db")
        journal.clear()
        journal.append(outcome(1))
        filler = fill(folder)
        seq = 2
        while True:  # the file's last page has room for a few lines, then one is cut
            try:
                journal.append(outcome(seq))
            except OSError:
                break
            seq += 1
        cut = seq
        filler.unlink()
        journal.append(outcome(cut + 1))
        journal.close()
        assert [o.seq for o in Journal(folder / "alertd.db").left_over()] == [
            *range(1, cut),
            cut + 1,
        ]
