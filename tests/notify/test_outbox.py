"""The durable outbox on a real SQLite file: enqueue in the caller's transaction, states."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alertd.notify.notification import Notification
from alertd.notify.outbox import AttemptResult, Outbox, enqueue, purge

NOW = 1_767_225_600.0


def notification(alert_id: str = "01KDALERT", n: int = 1, **fields: object) -> Notification:
    values: dict[str, object] = {
        "id": f"{alert_id}.{n}",
        "alert_id": alert_id,
        "rule_id": "r",
        "channel": "webhook",
        "kind": "webhook",
        "recipient": "http://127.0.0.1:9/hook",
        "priority": "high",
        "content": {"body": '{"a": 1}'},
        "created_at": NOW,
        "next_attempt_at": NOW,
    }
    values.update(fields)
    return Notification(**values)  # type: ignore[arg-type]


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "var" / "alertd.db")


def test_enqueue_joins_the_callers_transaction(outbox: Outbox) -> None:
    engine = sqlite3.connect(outbox.path)  # the engine's own connection to the same file
    engine.execute("CREATE TABLE engine_rows (id TEXT)")
    engine.commit()
    engine.execute("INSERT INTO engine_rows VALUES ('01KDALERT')")
    before = engine.total_changes
    enqueue(engine, [notification(n=1), notification(n=2)])
    assert engine.total_changes - before == 2
    assert outbox.pending_after(0) == []  # not committed: invisible to the dispatcher
    engine.rollback()
    assert outbox.pending_after(0) == []  # rolled back with the alert: nothing was promised
    enqueue(engine, [notification(n=1)])
    engine.commit()
    (row,) = outbox.pending_after(0)
    assert row.id == "01KDALERT.1"
    assert row.content == {"body": '{"a": 1}'}
    assert row.attempts == 0


def test_enqueue_numbers_each_notification_with_its_rows_seq(outbox: Outbox) -> None:
    outbox.add([notification(n=1)])
    batch = [notification(n=2), notification(n=3)]
    outbox.add(batch)
    assert [n.seq for n in batch] == [n.seq for n in outbox.pending_after(0)][1:]
    assert batch[0].seq + 1 == batch[1].seq


def test_a_batch_with_a_duplicate_gets_no_seqs_so_the_dispatcher_reads_the_rows(
    outbox: Outbox,
) -> None:
    outbox.add([notification(n=1)])
    batch = [notification(n=1), notification(n=2)]
    assert outbox.add(batch) == 1
    assert [n.seq for n in batch] == [0, 0]


def test_enqueueing_the_same_notification_twice_keeps_one_row(outbox: Outbox) -> None:
    assert outbox.add([notification()]) == 1
    assert outbox.add([notification()]) == 0
    assert outbox.pending_count() == 1


def test_pending_rows_are_read_in_order_after_a_mark(outbox: Outbox) -> None:
    outbox.add([notification(n=i) for i in range(1, 6)])
    first = outbox.pending_after(0, limit=2)
    assert [n.id for n in first] == ["01KDALERT.1", "01KDALERT.2"]
    rest = outbox.pending_after(first[-1].seq)
    assert [n.id for n in rest] == ["01KDALERT.3", "01KDALERT.4", "01KDALERT.5"]


def test_outcomes_are_recorded_and_queryable_per_alert(outbox: Outbox) -> None:
    outbox.add([notification(n=i) for i in (1, 2, 3)] + [notification("01KDOTHER")])
    one, two, three = outbox.pending_after(0, limit=3)
    outbox.record(
        [
            AttemptResult(one.seq, "sent", 2, NOW + 5, receipt="HTTP 200"),
            AttemptResult(two.seq, "pending", 1, NOW + 1, "HTTP 503", next_attempt_at=NOW + 3),
            AttemptResult(three.seq, "dead", 8, NOW + 9, "HTTP 500"),
        ]
    )
    states = outbox.states("01KDALERT")
    assert [(s.id, s.state, s.attempts, s.last_error) for s in states] == [
        ("01KDALERT.1", "sent", 2, None),
        ("01KDALERT.2", "pending", 1, "HTTP 503"),
        ("01KDALERT.3", "dead", 8, "HTTP 500"),
    ]
    assert states[0].sent_at == NOW + 5 and states[0].receipt == "HTTP 200"
    assert states[1].next_attempt_at == NOW + 3 and states[1].sent_at is None
    assert outbox.pending_count() == 2  # .2 and the other alert's
    assert [n.id for n in outbox.pending_after(0)] == ["01KDALERT.2", "01KDOTHER.1"]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_rows_last_outcome_in_a_batch_is_the_one_recorded(
    tmp_path: Path, request: pytest.FixtureRequest, store: str
) -> None:
    """A failed attempt and its retry in one batch (or a journal replayed after a kill): the
    row ends as its last outcome says. The database alone would apply an arbitrary one, and a
    row left pending was sent again after a restart."""
    url = request.getfixturevalue("postgres_url") if store == "postgresql" else None
    outbox = Outbox(tmp_path / "var" / "alertd.db", url=url)
    try:
        outbox.add([notification(n=i) for i in range(1, 41)])
        rows = outbox.pending_after(0, limit=40)
        failed = [AttemptResult(r.seq, "pending", 1, NOW + 1, "HTTP 500", NOW + 2) for r in rows]
        retried = [AttemptResult(r.seq, "sent", 2, NOW + 3, receipt="HTTP 200") for r in rows]
        outbox.record([o for pair in zip(failed, retried, strict=True) for o in pair])
        states = outbox.states("01KDALERT")
        assert {(s.state, s.attempts) for s in states} == {("sent", 2)}
        assert outbox.pending_count() == 0
    finally:
        outbox.close()


def test_states_of_an_alert_do_not_include_alerts_sharing_a_prefix(outbox: Outbox) -> None:
    outbox.add([notification("01KDA"), notification("01KDAB"), notification("01KDA", 10)])
    assert [s.id for s in outbox.states("01KDA")] == ["01KDA.1", "01KDA.10"]


def test_purge_deletes_only_finished_rows(outbox: Outbox) -> None:
    outbox.add([notification(n=1), notification(n=2)])
    one, _two = outbox.pending_after(0)
    outbox.record([AttemptResult(one.seq, "sent", 1, NOW)])
    assert purge(outbox.connection, finished_before=NOW + 1) == 1
    assert [s.id for s in outbox.states("01KDALERT")] == ["01KDALERT.2"]


def test_purge_takes_the_oldest_finished_first_through_its_index(outbox: Outbox) -> None:
    """A flood leaves many rows sent and none old enough: the purge must then cost nothing,
    not a scan of the whole outbox (bench/README.md, "A flood of keys")."""
    outbox.add([notification(n=n) for n in (1, 2, 3)])
    first, second, third = outbox.pending_after(0)
    outbox.record([AttemptResult(first.seq, "sent", 1, NOW + 9)])  # finished last
    outbox.record([AttemptResult(second.seq, "dead", 8, NOW + 1)])
    outbox.record([AttemptResult(third.seq, "sent", 1, NOW + 5)])
    assert purge(outbox.connection, finished_before=NOW + 10, limit=2) == 2
    assert [s.id for s in outbox.states("01KDALERT")] == ["01KDALERT.1"]
    plan = outbox.connection.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE state NOT IN ('pending', 'held')"
        " AND updated_at < ? ORDER BY updated_at LIMIT ?",
        (NOW, 10),
    ).fetchall()
    assert any("USING INDEX outbox_finished" in row[-1] for row in plan), plan


def test_rows_survive_reopening_the_file(outbox: Outbox) -> None:
    outbox.add([notification()])
    outbox.close()
    again = Outbox(outbox.path)
    assert [n.id for n in again.pending_after(0)] == ["01KDALERT.1"]
