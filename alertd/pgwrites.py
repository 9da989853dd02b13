"""What a PostgreSQL transaction has written and not sent yet (alertd.pgdb).

A group of batches is one transaction, each batch a savepoint in it; each batch inserts its
alerts, their changes, their outbox rows and its windows. Sent as they are made, that is ~40
round trips a group, every row executed on its own (bench/README.md, issue 15). Held here
instead until a statement needs an answer (a read, an UPDATE whose count matters), the group's
inserts go with that statement in one round trip (before a COMMIT, in one of their own: see
`PgConnection.execute`), one statement per table and group:
`INSERT ... SELECT ... FROM jsonb_array_elements(?)` over the rows as one JSON text (`as_json`),
made by orjson in C: psycopg binds an array parameter element by element in Python, ~60 us
an event for the four tables' 54 values (bench/README.md).

BEGIN, SAVEPOINT, RELEASE and ROLLBACK TO wait here too. A savepoint released before anything
of it was sent is dropped, its rows becoming the enclosing block's, as RELEASE makes them; one
rolled back before anything of it was sent drops its rows, and the server never hears of it. A
savepoint sent keeps its own statements (its RELEASE or ROLLBACK TO is held, then sent).

Rows of the same statement are written as one in the order they came, so sequences (outbox
`seq`, alert change `seq`) number them as before; statements of other tables may move past
each other (alertd's tables have no foreign keys or triggers), never past one of the same
table. An upsert's rows of one key are kept last-wins, as the rows one by one would leave it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from alertd import jsonutil
from alertd.dialect import table_keys

_CONTROL = re.compile(
    r"^\s*(?:(?P<begin>BEGIN)|SAVEPOINT (?P<savepoint>\w+)"
    r"|RELEASE (?:SAVEPOINT )?(?P<release>\w+)|ROLLBACK TO (?:SAVEPOINT )?(?P<back>\w+))\s*$",
    re.IGNORECASE,
)

_VALUES = re.compile(
    r"^\s*INSERT(?: OR (?P<how>IGNORE|REPLACE))? INTO (?P<table>\w+)\s*"
    r"(?:\((?P<columns>[^)]*)\))?\s*VALUES\s*\((?P<marks>\s*\?(?:\s*,\s*\?)*)\s*\)\s*$",
    re.IGNORECASE,
)

Told = Callable[[list[Any]], None]
"""Given the RETURNING column of each row added, in their order (None: a row skipped)."""


@dataclass(frozen=True, slots=True)
class Insert:
    """An `INSERT [OR IGNORE|REPLACE] INTO table [(columns)] VALUES (?, ...)`, parsed."""

    sql: str  # as written (SQLite's dialect)
    how: str  # "", "IGNORE" or "REPLACE"
    table: str
    columns: tuple[str, ...] | None  # None: the table's first `width` columns
    width: int


def insert_of(sql: str) -> Insert | None:
    """`sql` as an Insert, when it is one whose values are all placeholders; else None."""
    match = _VALUES.match(sql)
    if match is None:
        return None
    columns = match["columns"]
    return Insert(
        sql,
        (match["how"] or "").upper(),
        match["table"],
        None if columns is None else tuple(c.strip() for c in columns.split(",")),
        match["marks"].count("?"),
    )


@dataclass(slots=True)
class Rows:
    """Rows of one insert held, and who is told what RETURNING gave for which of them."""

    insert: Insert
    returning: str | None
    rows: list[Sequence[Any]] = field(default_factory=list)
    told: list[tuple[int, int, Told]] = field(default_factory=list)  # rows [start, end)

    def add(self, rows: Sequence[Sequence[Any]], then: Told | None) -> None:
        start = len(self.rows)
        self.rows.extend(rows)
        if then is not None:
            self.told.append((start, len(self.rows), then))

    def absorb(self, other: Rows) -> None:
        """Take the rows of `other` (of the same insert) after these."""
        start = len(self.rows)
        self.rows.extend(other.rows)
        self.told += [(start + first, start + end, then) for first, end, then in other.told]

    def kept(self) -> list[Sequence[Any]]:
        """The rows to write: an upsert's last row of each key, in the order of their first."""
        if self.insert.how != "REPLACE":
            return self.rows
        key, every = table_keys(self.insert.table)
        columns = self.insert.columns or every[: self.insert.width]
        where = [columns.index(column) for column in key]
        last = {tuple(row[i] for i in where): row for row in self.rows}
        return list(last.values()) if len(last) < len(self.rows) else self.rows

    def tell(self, found: dict[Any, Any]) -> None:
        """Hand each caller the RETURNING value of its rows, `found` by their first column (a
        row whose first column came before is a duplicate skipped: None)."""
        values = [found.pop(row[0], None) for row in self.rows]
        for start, end, then in self.told:
            then(values[start:end])


@dataclass(frozen=True, slots=True)
class Control:
    """BEGIN, SAVEPOINT, RELEASE or ROLLBACK TO, held."""

    sql: str
    savepoint: str | None  # the savepoint a SAVEPOINT opens


_BEGIN = Control("BEGIN", None)

Held = Rows | Control


class Later:
    """The held statements of one session, in order."""

    def __init__(self) -> None:
        self.items: list[Held] = []

    @property
    def begun(self) -> bool:
        """A BEGIN is held: a transaction is open as far as the caller knows, not yet on the
        server (nothing of it was sent)."""
        return bool(self.items) and self.items[0] == _BEGIN

    def control(self, sql: str, *, in_transaction: bool) -> bool:
        """Hold this statement if it is one of transaction control held here (BEGIN outside
        a transaction, the others inside one); False if not."""
        match = _CONTROL.match(sql)
        if match is None or in_transaction == bool(match["begin"]):
            return False
        if match["begin"]:
            self.items.append(_BEGIN)
        elif match["savepoint"]:
            self.items.append(Control(sql, match["savepoint"]))
        elif match["release"]:
            at = self._opened(match["release"])
            if at is None:
                self.items.append(Control(sql, None))
            else:  # nothing of it was sent: its rows are the enclosing block's
                del self.items[at]
        else:
            at = self._opened(match["back"])
            if at is None:  # it was sent: what is held is all after it
                self.items = [Control(sql, None)]
            else:
                del self.items[at + 1 :]
        return True

    def add(
        self,
        insert: Insert,
        rows: Sequence[Sequence[Any]],
        returning: str | None = None,
        then: Told | None = None,
    ) -> None:
        """Hold rows of an insert."""
        held = Rows(insert, returning)
        held.add(rows, then)
        self.items.append(held)

    @property
    def writes(self) -> bool:
        """Whether anything held would change the database."""
        return any(isinstance(item, Rows) for item in self.items)

    def take(self) -> list[Held]:
        """Everything held, in order, to send now: between two statements of transaction
        control, the rows of one insert as one, unless another insert of its table came
        between."""
        items, self.items = self.items, []
        taken: list[Held] = []
        into: dict[tuple[str, str | None], Rows] = {}
        for item in items:
            if isinstance(item, Control):
                into.clear()
                taken.append(item)
                continue
            same = into.get((item.insert.sql, item.returning))
            if same is not None:
                same.absorb(item)
                continue
            for key in [
                key for key, rows in into.items() if rows.insert.table == item.insert.table
            ]:
                del into[key]  # rows after this one stay after it
            into[item.insert.sql, item.returning] = item
            taken.append(item)
        return taken

    def clear(self) -> None:
        self.items = []

    def _opened(self, savepoint: str) -> int | None:
        for at in range(len(self.items) - 1, -1, -1):
            item = self.items[at]
            if isinstance(item, Control) and item.savepoint == savepoint:
                return at
        return None


_NUMBERS = ("bigint", "integer", "smallint")
_FLOATS = ("double precision", "real")


def selected(kinds: Sequence[str]) -> str:
    """The select list that takes each column of a row `e` (a JSON array, `as_json`) as its
    type: a text as it is; an integer through numeric, which takes 2.0 as SQLite does."""
    return ", ".join(
        f"e ->> {i}"
        if kind == "text"
        else f"(e ->> {i})::numeric::{kind}"
        if kind in _NUMBERS
        else f"(e ->> {i})::{kind}"
        for i, kind in enumerate(kinds)
    )


def as_json(rows: Sequence[Sequence[Any]], kinds: Sequence[str]) -> str:
    """Rows as one JSON array of arrays, for `selected`: bytes as bytea's hex text; a float
    that is not finite as its text, which JSON has no number for (orjson would write null)."""
    broken = [
        i
        for i, kind in enumerate(kinds)
        if kind in _FLOATS and not _finite(map(itemgetter(i), rows))
    ]
    if broken:
        rows = [tuple(_spelt(v) if i in broken else v for i, v in enumerate(row)) for row in rows]
    return jsonutil.dumps(rows, default=_hex).decode()


def _finite(values: Any) -> bool:
    try:
        return math.isfinite(math.fsum(filter(None, values)))
    except (OverflowError, ValueError):  # infinities of both signs, or a sum past floats
        return False


def _spelt(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value).replace("inf", "Infinity").replace("nan", "NaN")
    return value


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not a column value")
