"""The alert change feed (alertd.feed) on a real SQLite file: ordered, durable, written with the
caller's transaction, and waking readers only when a commit added changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alertd.feed import ChangeFeed
from alertd.migrations import migrate
from alertd.pgdb import connect as connect_postgres
from alertd.sqlitedb import connect

if TYPE_CHECKING:
    from alertd.dialect import Connection

Opener = Callable[[], tuple[ChangeFeed, "Connection"]]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_feed(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Open the state database (the same one each time): the feed and its connection, on
    which the test plays the state store."""

    def opened() -> tuple[ChangeFeed, Connection]:
        connection: Connection
        if request.param == "sqlite":
            connection = connect(tmp_path / "state.db")
        else:
            connection = connect_postgres(request.getfixturevalue("postgres_url"))
            migrate(connection)  # the store makes its tables first
        return ChangeFeed(connection), connection

    return opened


def commit(feed: ChangeFeed, connection: Connection, *changes: tuple[str, str, float]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    for alert_id, change, at in changes:
        feed.record(alert_id, change, at)
    connection.execute("COMMIT")
    feed.committed()
    final(feed)


def final(feed: ChangeFeed) -> None:
    """Wait until every change committed is final: on PostgreSQL, until the transactions older
    than the last one have ended (the server's other sessions')."""
    deadline = time.monotonic() + 30
    while feed.pending:
        assert time.monotonic() < deadline, "changes committed are not final after 30 s"
        time.sleep(0.01)
        feed.refresh()


def test_changes_come_back_in_order_past_a_cursor(open_feed: Opener) -> None:
    feed, connection = open_feed()
    assert feed.latest == 0
    commit(feed, connection, ("a", "fired", 1.0), ("b", "fired", 2.0))
    commit(feed, connection, ("a", "acked", 3.0))
    assert [(c.cursor, c.alert_id, c.change) for c in feed.after(0, 10)] == [
        (1, "a", "fired"),
        (2, "b", "fired"),
        (3, "a", "acked"),
    ]
    assert [c.cursor for c in feed.after(1, 1)] == [2]
    assert feed.after(3, 10) == []


def test_a_rolled_back_change_is_not_in_the_feed_and_wakes_no_one(open_feed: Opener) -> None:
    feed, connection = open_feed()
    connection.execute("BEGIN IMMEDIATE")
    feed.record("a", "fired", 1.0)
    connection.execute("ROLLBACK")
    feed.rolled_back()
    feed.committed()  # a later commit that recorded nothing
    assert feed.latest == 0
    assert feed.after(0, 10) == []


def test_a_change_taken_back_by_a_savepoint_leaves_the_latest_cursor_true(
    open_feed: Opener,
) -> None:
    feed, connection = open_feed()
    connection.execute("BEGIN IMMEDIATE")
    feed.record("a", "fired", 1.0)
    connection.execute("SAVEPOINT batch")
    feed.record("b", "fired", 2.0)
    connection.execute("ROLLBACK TO batch")
    connection.execute("RELEASE batch")
    connection.execute("COMMIT")
    feed.committed()
    final(feed)
    assert feed.latest == 1
    assert [c.alert_id for c in feed.after(0, 10)] == ["a"]


async def test_a_reader_waits_for_a_commit_and_is_woken_by_it(open_feed: Opener) -> None:
    feed, connection = open_feed()
    waiting = asyncio.create_task(feed.wait_past(0))
    await asyncio.sleep(0)
    connection.execute("BEGIN IMMEDIATE")
    feed.record("a", "fired", 1.0)
    await asyncio.sleep(0)
    assert not waiting.done()  # recorded, not committed: nothing to read yet
    connection.execute("COMMIT")
    feed.committed()
    final(feed)
    await asyncio.wait_for(waiting, 5)
    await asyncio.wait_for(feed.wait_past(0), 5)  # a change past 0 exists: no wait at all


def test_cursors_survive_a_restart_and_are_never_used_twice(open_feed: Opener) -> None:
    feed, connection = open_feed()
    commit(feed, connection, ("a", "fired", 1.0), ("b", "fired", 2.0))
    assert feed.prune(before=10.0) == 2  # every change pruned
    connection.close()
    again, connection = open_feed()
    commit(again, connection, ("c", "fired", 11.0))
    assert [(c.cursor, c.alert_id) for c in again.after(0, 10)] == [(3, "c")]
    assert [c.alert_id for c in again.after(2, 10)] == ["c"]  # a reader from before the restart


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [(None, (4, True)), (1, (1, True)), (0, (0, False)), (4, (4, True)), (99, (4, False))],
)
def test_a_position_says_whether_changes_past_the_cursor_were_pruned(
    open_feed: Opener, cursor: int | None, expected: tuple[int, bool]
) -> None:
    feed, connection = open_feed()
    commit(feed, connection, ("a", "fired", 1.0), ("b", "fired", 2.0), ("c", "fired", 3.0))
    commit(feed, connection, ("d", "fired", 4.0))
    feed.prune(before=1.5)  # cursor 1 is gone: a reader at 0 missed it
    position = feed.position(cursor)
    assert (position.cursor, position.complete) == expected


def test_a_change_committed_after_a_later_numbered_one_is_not_skipped(postgres_url: str) -> None:
    """Several daemons on PostgreSQL: `a` is numbered first but commits last. A reader must
    not pass `b` before `a` is final, or it would never read `a`."""
    reader = connect_postgres(postgres_url)
    migrate(reader)
    first, second = connect_postgres(postgres_url), connect_postgres(postgres_url)
    feed = ChangeFeed(reader)
    first.execute("BEGIN")
    ChangeFeed(first).record("a", "fired", 1.0)  # in a transaction still open
    first.execute("SELECT 1")  # the insert goes with the next statement: cursor 1
    second.execute("BEGIN")
    ChangeFeed(second).record("b", "fired", 2.0)  # cursor 2
    second.execute("COMMIT")
    assert feed.refresh()  # b is committed, not final: an older transaction is open
    assert feed.after(0, 10) == []
    first.execute("COMMIT")
    feed.refresh()
    final(feed)
    assert [(c.cursor, c.alert_id) for c in feed.after(0, 10)] == [(1, "a"), (2, "b")]
    for connection in (reader, first, second):
        connection.close()
