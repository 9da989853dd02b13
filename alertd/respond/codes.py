"""SMS reply codes: the short number a phone replies with to act on an alert (`12a`).

Codes are per phone number: the first alert paging a number gets 1, the next one 2, and a code
comes free again when its alert resolves (the lowest free one is given next), so the codes a
person sees stay short. One alert keeps one code per number, whichever step paged it again.

The rows live in the state database (`reply_codes`, alertd.migrations) and are written through
the state store's connection, inside its transaction: a code is given in the same commit as
the SMS that carries it, and freed in the same commit as the resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alertd.oncall.model import same_address

if TYPE_CHECKING:
    from alertd.dialect import Connection


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """What a number's code stands for: its alert, and when the code was freed (None while
    the alert is open)."""

    alert_id: str
    freed_at: float | None


@dataclass(frozen=True, slots=True)
class CodeLookup:
    """A reply code as a number used it: what it stands for there (None: it was never given
    to that number), and whether another number holds it."""

    entry: CodeEntry | None
    given_elsewhere: bool = False


class ReplyCodes:
    """The reply codes table, through a connection whose transaction the caller owns."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def give(self, number: str, alert_id: str, now: float) -> int:
        """The alert's code for this number: the one it has, else the lowest free one."""
        number = same_address(number)
        rows = self.connection.execute(
            "SELECT code, alert_id FROM reply_codes WHERE number = ? AND freed_at IS NULL"
            " ORDER BY code",
            (number,),
        ).fetchall()
        taken = set()
        for code, holder in rows:
            if holder == alert_id:
                return int(code)
            taken.add(int(code))
        code = next(candidate for candidate in range(1, len(taken) + 2) if candidate not in taken)
        self.connection.execute(
            "INSERT OR REPLACE INTO reply_codes (number, code, alert_id, given_at, freed_at)"
            " VALUES (?, ?, ?, ?, NULL)",
            (number, code, alert_id, now),
        )
        return code

    def find(self, number: str, code: int) -> CodeEntry | None:
        """What `code` stands for on this number; None when it was never given to it (or the
        row is gone with its alert)."""
        number = same_address(number)
        row = self.connection.execute(
            "SELECT alert_id, freed_at FROM reply_codes WHERE number = ? AND code = ?",
            (number, code),
        ).fetchone()
        return None if row is None else CodeEntry(row[0], row[1])

    def lookup(self, number: str, code: int) -> CodeLookup:
        """`find`, and whether another number holds the code (a reply naming it from this
        number is then one that was not sent here, rather than a code nobody has)."""
        entry = self.find(number, code)
        if entry is not None:
            return CodeLookup(entry)
        row = self.connection.execute(
            "SELECT 1 FROM reply_codes WHERE code = ? LIMIT 1", (code,)
        ).fetchone()
        return CodeLookup(None, given_elsewhere=row is not None)

    def free(self, alert_id: str, now: float) -> int:
        """Free the alert's codes (it resolved); returns how many."""
        cursor = self.connection.execute(
            "UPDATE reply_codes SET freed_at = ? WHERE alert_id = ? AND freed_at IS NULL",
            (now, alert_id),
        )
        return cursor.rowcount

    def prune(self) -> int:
        """Drop the codes of alerts that are no longer stored (past retention)."""
        cursor = self.connection.execute(
            "DELETE FROM reply_codes WHERE alert_id NOT IN (SELECT id FROM alerts)"
        )
        return cursor.rowcount
