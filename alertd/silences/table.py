"""The `silences` table of the state database (made by alertd.migrations), on the state store's
connection, inside the caller's transaction (as the outbox and the change feed are)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alertd import jsonutil
from alertd.oncall.model import Matcher
from alertd.silences.model import Silence

if TYPE_CHECKING:
    from alertd.dialect import Connection

_COLUMNS = (
    "id, matchers, starts_at, ends_at, created_by, created_via, comment, created_at, updated_at"
)


class SilenceTable:
    """Rows of silences; every call runs in the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, silence: Silence) -> None:
        self.connection.execute(
            f"INSERT INTO silences ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                jsonutil.dumps([_matcher_json(m) for m in silence.matchers]).decode(),
                silence.starts_at,
                silence.ends_at,
                silence.created_by,
                silence.created_via,
                silence.comment,
                silence.created_at,
                silence.updated_at,
            ),
        )

    def get(self, silence_id: str) -> Silence | None:
        row = self.connection.execute(
            f"SELECT {_COLUMNS} FROM silences WHERE id = ?", (silence_id,)
        ).fetchone()
        return None if row is None else _silence(row)

    def ending_after(self, moment: float) -> list[Silence]:
        """The silences that end after `moment` (pending or active then), oldest first."""
        rows = self.connection.execute(
            f"SELECT {_COLUMNS} FROM silences WHERE ends_at > ? ORDER BY id", (moment,)
        )
        return [_silence(row) for row in rows]

    def all(self) -> list[Silence]:
        rows = self.connection.execute(f"SELECT {_COLUMNS} FROM silences ORDER BY id")
        return [_silence(row) for row in rows]

    def end(self, silence_id: str, at: float) -> None:
        """Set the silence's end (and, for one that had not started, its start) to `at`."""
        self.connection.execute(
            "UPDATE silences SET ends_at = ?, starts_at = min(starts_at, ?), updated_at = ?"
            " WHERE id = ?",
            (at, at, at, silence_id),
        )

    def prune(self, ended_before: float) -> int:
        """Delete the silences that ended before this time (retention); return how many."""
        return self.connection.execute(
            "DELETE FROM silences WHERE ends_at < ?", (ended_before,)
        ).rowcount


def _matcher_json(matcher: Matcher) -> dict[str, Any]:
    return {
        "name": matcher.name,
        "value": matcher.value,
        "regex": matcher.regex,
        "equal": matcher.equal,
    }


def _silence(row: tuple[Any, ...]) -> Silence:
    matchers = tuple(
        Matcher(m["name"], m["value"], m["regex"], m["equal"]) for m in jsonutil.loads(row[1])
    )
    return Silence(
        id=row[0],
        matchers=matchers,
        starts_at=row[2],
        ends_at=row[3],
        created_by=row[4],
        created_via=row[5],
        comment=row[6],
        created_at=row[7],
        updated_at=row[8],
    )
