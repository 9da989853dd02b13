"""SMS reply codes in a real state database (a SQLite file, a PostgreSQL schema): per number,
the lowest free, freed at resolve, kept across a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alertd.migrations import migrate
from alertd.pgdb import connect
from alertd.respond.codes import CodeEntry, CodeLookup, ReplyCodes

if TYPE_CHECKING:
    from alertd.dialect import Connection

ALICE, BOB = "+15550100101", "+15550100102"
Opener = Callable[[], tuple["Connection", ReplyCodes]]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_codes(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Open the state database (the same one each time) and its reply codes."""

    def opened() -> tuple[Connection, ReplyCodes]:
        connection: Connection
        if request.param == "sqlite":
            connection = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        else:
            connection = connect(request.getfixturevalue("postgres_url"))
        migrate(connection)
        return connection, ReplyCodes(connection)

    return opened


def test_each_number_gets_the_lowest_free_code_and_an_alert_keeps_its_own(
    open_codes: Opener,
) -> None:
    _, codes = open_codes()
    assert codes.give(ALICE, "A1", 0.0) == 1
    assert codes.give(ALICE, "A2", 0.0) == 2
    assert codes.give(BOB, "A2", 0.0) == 1  # per number
    assert codes.give(ALICE, "A1", 5.0) == 1  # paged again (an escalation step): the same code
    assert codes.give("+1 555 0100 101", "A3", 0.0) == 3  # the same number, written otherwise


def test_a_resolve_frees_the_codes_and_the_lowest_free_is_given_next(open_codes: Opener) -> None:
    _, codes = open_codes()
    for alert in ("A1", "A2", "A3"):
        codes.give(ALICE, alert, 0.0)
    assert codes.free("A2", 10.0) == 1
    assert codes.find(ALICE, 2) == CodeEntry("A2", 10.0)  # a late reply can be told
    assert codes.give(ALICE, "A4", 20.0) == 2
    assert codes.find(ALICE, 2) == CodeEntry("A4", None)
    assert codes.give(ALICE, "A5", 20.0) == 4


def test_a_code_another_number_holds_is_told_apart_from_an_unknown_one(open_codes: Opener) -> None:
    _, codes = open_codes()
    codes.give(ALICE, "A1", 0.0)
    assert codes.lookup(ALICE, 1) == CodeLookup(CodeEntry("A1", None))
    assert codes.lookup(BOB, 1) == CodeLookup(None, given_elsewhere=True)
    assert codes.lookup(BOB, 7) == CodeLookup(None, given_elsewhere=False)


def test_codes_are_durable_and_go_with_their_pruned_alerts(open_codes: Opener) -> None:
    connection, codes = open_codes()
    codes.give(ALICE, "A1", 0.0)
    connection.close()
    connection, codes = open_codes()  # a restart
    assert codes.lookup(ALICE, 1).entry == CodeEntry("A1", None)
    assert codes.prune() == 1  # no alert A1 is stored
    assert codes.find(ALICE, 1) is None
