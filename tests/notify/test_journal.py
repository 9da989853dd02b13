"""The outcome journal: outcomes kept in order beside the database, rotated once recorded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from alertd.notify import journal as journal_module
from alertd.notify.journal import Journal
from alertd.notify.outbox import AttemptResult


def outcome(seq: int, state: str = "sent") -> AttemptResult:
    if state == "pending":
        return AttemptResult(seq, "pending", 1, 100.0 + seq, "HTTP 503", next_attempt_at=160.0)
    return AttemptResult(seq, "sent", 1, 100.0 + seq, receipt="HTTP 200")


def test_outcomes_left_by_a_process_come_back_in_the_order_they_happened(tmp_path: Path) -> None:
    database = tmp_path / "alertd.db"
    first = Journal(database)
    first.clear()
    kept = [outcome(1, "pending"), outcome(2), outcome(1)]
    for result in kept:
        first.append(result)
    # no close: as if killed

    assert Journal(database).left_over() == kept
    assert (tmp_path / "alertd.db.outcomes").exists()


def test_clear_starts_empty_and_a_clean_close_leaves_no_file(tmp_path: Path) -> None:
    database = tmp_path / "alertd.db"
    journal = Journal(database)
    journal.clear()
    journal.append(outcome(1))
    journal.clear()
    assert Journal(database).left_over() == []
    journal.append(outcome(2))
    journal.close(all_recorded=True)
    assert list(tmp_path.iterdir()) == []


def test_a_full_file_is_set_aside_and_removed_once_all_it_holds_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "ROTATE_BYTES", 50)
    database = tmp_path / "alertd.db"
    journal = Journal(database)
    journal.clear()
    for seq in (1, 2):  # about 40 bytes a line: the second passes 50
        journal.append(outcome(seq))
    journal.append(outcome(3))
    assert (tmp_path / "alertd.db.outcomes.old").exists()
    assert Journal(database).left_over() == [outcome(1), outcome(2), outcome(3)]

    journal.recorded(1)  # the second outcome, in the old file, is not in the table yet
    assert (tmp_path / "alertd.db.outcomes.old").exists()
    journal.recorded(2)
    assert not (tmp_path / "alertd.db.outcomes.old").exists()
    assert Journal(database).left_over() == [outcome(3)]


def test_a_line_cut_short_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "alertd.db"
    journal = Journal(database)
    journal.clear()
    journal.append(outcome(1))
    journal.close()
    with (tmp_path / "alertd.db.outcomes").open("ab") as file:
        file.write(b'[2,"sent",1,10')  # a power cut in the middle of a write
    with caplog.at_level(logging.WARNING, logger="alertd.notify"):
        assert Journal(database).left_over() == [outcome(1)]
    assert f"{tmp_path / 'alertd.db.outcomes'}:2: not an outcome, skipped" in caplog.text
