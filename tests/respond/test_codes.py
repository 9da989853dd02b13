"""SMS reply codes in a real state database: per number, the lowest free, freed at resolve,
kept across a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alertd.migrations import migrate
from alertd.respond.codes import CodeEntry, CodeLookup, ReplyCodes

ALICE, BOB = "+15550100101", "+15550100102"


def open_codes(path: Path) -> tuple[sqlite3.Connection, ReplyCodes]:
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection)
    return connection, ReplyCodes(connection)


def test_each_number_gets_the_lowest_free_code_and_an_alert_keeps_its_own(tmp_path: Path) -> None:
    _, codes = open_codes(tmp_path / "state.db")
    assert codes.give(ALICE, "A1", 0.0) == 1
    assert codes.give(ALICE, "A2", 0.0) == 2
    assert codes.give(BOB, "A2", 0.0) == 1  # per number
    assert codes.give(ALICE, "A1", 5.0) == 1  # paged again (an escalation step): the same code
    assert codes.give("+1 555 0100 101", "A3", 0.0) == 3  # the same number, written otherwise


def test_a_resolve_frees_the_codes_and_the_lowest_free_is_given_next(tmp_path: Path) -> None:
    _, codes = open_codes(tmp_path / "state.db")
    for alert in ("A1", "A2", "A3"):
        codes.give(ALICE, alert, 0.0)
    assert codes.free("A2", 10.0) == 1
    assert codes.find(ALICE, 2) == CodeEntry("A2", 10.0)  # a late reply can be told
    assert codes.give(ALICE, "A4", 20.0) == 2
    assert codes.find(ALICE, 2) == CodeEntry("A4", None)
    assert codes.give(ALICE, "A5", 20.0) == 4


def test_a_code_another_number_holds_is_told_apart_from_an_unknown_one(tmp_path: Path) -> None:
    _, codes = open_codes(tmp_path / "state.db")
    codes.give(ALICE, "A1", 0.0)
    assert codes.lookup(ALICE, 1) == CodeLookup(CodeEntry("A1", None))
    assert codes.lookup(BOB, 1) == CodeLookup(None, given_elsewhere=True)
    assert codes.lookup(BOB, 7) == CodeLookup(None, given_elsewhere=False)


def test_codes_are_durable_and_go_with_their_pruned_alerts(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    connection, codes = open_codes(path)
    codes.give(ALICE, "A1", 0.0)
    connection.close()
    connection, codes = open_codes(path)  # a restart
    assert codes.lookup(ALICE, 1).entry == CodeEntry("A1", None)
    assert codes.prune() == 1  # no alert A1 is stored
    assert codes.find(ALICE, 1) is None
