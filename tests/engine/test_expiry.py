"""The windows' expiry kept in memory, for the SQLite store's sweep (alertd.engine.expiry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alertd.engine.expiry import SPAN, Expiry
from alertd.model import Key


@dataclass(eq=False)
class Table:
    kind: str = "plain"
    rule_id: str = "r"
    entries: dict[Key, Any] = field(default_factory=dict)


def expiry() -> Expiry[Table]:
    return Expiry({"plain": lambda at: at})  # an entry is its expiry time


def always(table: Table) -> bool:
    return True


def test_a_sweep_takes_what_expired_oldest_first_up_to_its_limit() -> None:
    table, notes = Table(), expiry()
    for n, at in enumerate((5.0, 1.0, 3.0, 2.5 * SPAN, 9 * SPAN)):
        table.entries[(n,)] = at
        notes.note(table, (n,), at)
    assert notes.take(3 * SPAN, 2, always) == [(table, (1,)), (table, (2,))]
    assert notes.take(3 * SPAN, None, always) == [(table, (0,)), (table, (3,))]
    assert notes.take(3 * SPAN, None, always) == []  # taken: their notes are gone
    assert notes.take(9 * SPAN, None, always) == [(table, (4,))]
    assert len(notes) == 0


def test_a_note_gone_stale_is_dropped_and_the_entry_is_taken_once_when_it_expires() -> None:
    table, notes = Table(), expiry()
    table.entries[("moved",)] = 10.0
    notes.note(table, ("moved",), 10.0)
    table.entries[("moved",)] = 5 * SPAN  # written again: it expires later now
    notes.note(table, ("moved",), 5 * SPAN)
    table.entries[("gone",)] = 20.0
    notes.note(table, ("gone",), 20.0)
    del table.entries[("gone",)]
    table.entries[("twice",)] = 30.0
    notes.note(table, ("twice",), 30.0)
    notes.note(table, ("twice",), 30.0)  # written whole twice, the same expiry
    assert notes.take(SPAN, None, always) == [(table, ("twice",))]
    assert len(notes) == 1  # the moved entry's later note only
    assert notes.take(10 * SPAN, None, always) == [(table, ("moved",))]


def test_an_entry_not_yet_expired_in_the_horizons_minute_stays_noted() -> None:
    table, notes = Table(), expiry()
    for key, at in ((("early",), SPAN + 1), (("late",), SPAN + 50)):
        table.entries[key] = at
        notes.note(table, key, at)
    assert notes.take(SPAN + 10, None, always) == [(table, ("early",))]
    assert notes.take(SPAN + 50, None, always) == [(table, ("late",))]


def test_a_table_no_longer_the_stores_is_passed_by_and_note_all_starts_afresh() -> None:
    dropped, kept, notes = Table(rule_id="gone"), Table(), expiry()
    for table in (dropped, kept):
        table.entries[("k",)] = 1.0
        notes.note(table, ("k",), 1.0)
    assert notes.take(SPAN, None, lambda table: table is kept) == [(kept, ("k",))]
    kept.entries[("j",)] = 2.0
    notes.note_all([kept])  # the windows were read again
    assert len(notes) == 2
    assert notes.take(SPAN, None, always) == [(kept, ("k",)), (kept, ("j",))]
