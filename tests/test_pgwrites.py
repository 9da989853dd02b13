"""alertd.pgwrites: what a transaction holds until its next statement, and how it is sent (no
server needed: what `take` hands over is what alertd.pgdb sends)."""

from __future__ import annotations

from typing import Any

from alertd.pgwrites import Control, Insert, Later, Rows, insert_of

ALERT = insert_of("INSERT INTO alerts (id, rule_id) VALUES (?, ?)")
CHANGE = insert_of("INSERT INTO alert_changes (alert_id, change, at) VALUES (?, ?, ?)")
WINDOW = insert_of("INSERT OR REPLACE INTO suppression VALUES (?, ?, ?, ?, ?, ?)")


def insert(held: Any) -> Insert:
    assert held is not None
    return held  # type: ignore[no-any-return]


def sent(later: Later) -> list[Any]:
    """What would go to the server now: SQL of control statements, (table, rows) of inserts."""
    return [
        item.sql if isinstance(item, Control) else (item.insert.table, item.kept())
        for item in later.take()
    ]


def batch(later: Later, n: int, *, fails: bool = False) -> None:
    """A batch as the store writes it: a savepoint around its alert and its change."""
    later.control("SAVEPOINT alertd_1", in_transaction=True)
    later.add(insert(ALERT), [(f"a{n}", "r")])
    later.add(insert(CHANGE), [(f"a{n}", "fired", float(n))])
    if fails:
        later.control("ROLLBACK TO alertd_1", in_transaction=True)
    later.control("RELEASE alertd_1", in_transaction=True)


def test_only_inserts_of_placeholders_are_held() -> None:
    assert insert(WINDOW).how == "REPLACE" and insert(WINDOW).columns is None
    assert insert(WINDOW).width == 6
    assert insert(ALERT).columns == ("id", "rule_id")
    assert insert_of("INSERT INTO alerts (id) VALUES ('x')") is None
    assert insert_of("INSERT INTO alerts (id) SELECT id FROM other") is None
    assert insert_of("UPDATE alerts SET status = ? WHERE id = ?") is None


def test_a_group_of_batches_is_one_insert_per_table_and_no_savepoint() -> None:
    later = Later()
    assert later.control("BEGIN", in_transaction=False)
    for n in range(3):
        batch(later, n)
    assert later.begun and later.writes
    assert sent(later) == [
        "BEGIN",
        ("alerts", [("a0", "r"), ("a1", "r"), ("a2", "r")]),
        ("alert_changes", [("a0", "fired", 0.0), ("a1", "fired", 1.0), ("a2", "fired", 2.0)]),
    ]
    assert not later.begun and later.items == []


def test_a_batch_rolled_back_before_anything_was_sent_leaves_nothing() -> None:
    later = Later()
    later.control("BEGIN", in_transaction=False)
    batch(later, 0)
    batch(later, 1, fails=True)
    batch(later, 2)
    assert sent(later) == [
        "BEGIN",
        ("alerts", [("a0", "r"), ("a2", "r")]),
        ("alert_changes", [("a0", "fired", 0.0), ("a2", "fired", 2.0)]),
    ]


def test_a_savepoint_sent_keeps_its_release_and_its_rollback() -> None:
    later = Later()
    later.control("SAVEPOINT alertd_1", in_transaction=True)
    assert sent(later) == ["SAVEPOINT alertd_1"]  # a read inside the batch sent it
    later.add(insert(ALERT), [("a0", "r")])
    later.control("ROLLBACK TO alertd_1", in_transaction=True)
    later.control("RELEASE alertd_1", in_transaction=True)
    assert sent(later) == ["ROLLBACK TO alertd_1", "RELEASE alertd_1"]


def test_rows_do_not_pass_another_insert_of_their_table_or_a_savepoint() -> None:
    other = insert(insert_of("INSERT OR IGNORE INTO alerts (id, rule_id) VALUES (?, ?)"))
    later = Later()
    later.add(insert(ALERT), [("a0", "r")])
    later.add(other, [("a1", "r")])
    later.add(insert(ALERT), [("a2", "r")])
    later.add(insert(CHANGE), [("a2", "fired", 2.0)])
    later.control("SAVEPOINT alertd_2", in_transaction=True)
    later.add(insert(CHANGE), [("a3", "fired", 3.0)])
    assert sent(later) == [
        ("alerts", [("a0", "r")]),
        ("alerts", [("a1", "r")]),
        ("alerts", [("a2", "r")]),
        ("alert_changes", [("a2", "fired", 2.0)]),
        "SAVEPOINT alertd_2",
        ("alert_changes", [("a3", "fired", 3.0)]),
    ]


def test_an_upsert_keeps_each_keys_last_row_and_duplicates_are_told_none() -> None:
    later = Later()
    later.add(insert(WINDOW), [("r", "k1", 1, 2, 0, 3), ("r", "k2", 1, 2, 0, 3)])
    later.add(insert(WINDOW), [("r", "k1", 5, 6, 1, 7)])
    assert sent(later) == [("suppression", [("r", "k1", 5, 6, 1, 7), ("r", "k2", 1, 2, 0, 3)])]

    told: list[list[Any]] = []
    outbox = insert(insert_of("INSERT OR IGNORE INTO outbox (id, alert_id) VALUES (?, ?)"))
    later.add(outbox, [("a.1", "a"), ("a.2", "a")], "seq", told.append)
    later.add(outbox, [("a.1", "a"), ("b.1", "b")], "seq", told.append)
    (rows,) = later.take()
    assert isinstance(rows, Rows)
    rows.tell({"a.1": 10, "a.2": 11, "b.1": 12})  # what RETURNING gave: id, seq
    assert told == [[10, 11], [None, 12]]  # a.1 again: skipped, as the rows one by one
