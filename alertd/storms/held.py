"""Held notifications and what each capped recipient was sent, in the state database.

A held notification is an outbox row in state `held`: `hold` names what holds it (`<timer
kind>:<timer ref>`, the durable timer that releases it), `next_attempt_at` when. Released alone,
the row is moved to the end of the outbox (deleted and inserted again with a new `seq`, same
id), so the dispatcher takes it as it takes every new row; released with others, it becomes
`bundled` and names the row of the message that lists them all.

Every method writes through the caller's connection, inside its transaction, never committing:
a release, its message and the removal of its timer commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alertd import jsonutil
from alertd.notify.notification import Notification
from alertd.notify.outbox import enqueue

if TYPE_CHECKING:
    from alertd.dialect import Connection

_COLUMNS = (
    "seq, id, alert_id, rule_id, channel, kind, recipient, priority, content, created_at,"
    " attempts, next_attempt_at, notice, hold, alerts"
)


class HeldLog:
    """Held rows and the sends log, through the state store's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def held(self, hold: str) -> list[Notification]:
        """The rows `hold` holds, in the order they were held."""
        rows = self.connection.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'held' AND hold = ? ORDER BY seq",
            (hold,),
        ).fetchall()
        return [_notification(row) for row in rows]

    def holds(self, kind: str) -> list[str]:
        """The holds of this kind (`<kind>:<ref>`) that hold rows now."""
        rows = self.connection.execute(
            "SELECT DISTINCT hold FROM outbox WHERE state = 'held' AND hold LIKE ?",
            (f"{kind}:%",),
        )
        return [hold for (hold,) in rows]

    def move(self, hold: str, by: float) -> None:
        """Move the release time of the rows `hold` holds `by` seconds (its timer moved)."""
        self.connection.execute(
            "UPDATE outbox SET next_attempt_at = next_attempt_at + ? WHERE state = 'held'"
            " AND hold = ?",
            (by, hold),
        )

    def release(self, notification: Notification, was: str) -> None:
        """Write a held row as it is now (pending, or held by something else), as the newest
        row of the outbox: its `seq` changes, its id does not. Going out now, it keeps the
        name of what held it (`was`), for the API to show."""
        self.connection.execute("DELETE FROM outbox WHERE id = ?", (notification.id,))
        enqueue(self.connection, [notification])
        if not notification.hold:
            self.connection.execute(
                "UPDATE outbox SET hold = ? WHERE id = ?", (was, notification.id)
            )

    def add(self, notification: Notification) -> None:
        """Add a new row (a message that lists several alerts), pending or held."""
        enqueue(self.connection, [notification])

    def bundled(self, members: Sequence[Notification], into: str, now: float) -> None:
        """Mark held rows `bundled` into the message with the id `into`."""
        self.connection.executemany(
            "UPDATE outbox SET state = 'bundled', bundle = ?, updated_at = ? WHERE id = ?",
            [(into, now, member.id) for member in members],
        )

    def sends_since(self, channel: str, recipient: str, since: float) -> list[float]:
        """When the recipient was sent messages on the channel after `since`, oldest first;
        older ones are forgotten (they count against no cap any more)."""
        self.connection.execute(
            "DELETE FROM sends WHERE channel = ? AND recipient = ? AND at <= ?",
            (channel, recipient, since),
        )
        rows = self.connection.execute(
            "SELECT at FROM sends WHERE channel = ? AND recipient = ? ORDER BY at",
            (channel, recipient),
        )
        return [at for (at,) in rows]

    def sent(self, channel: str, recipient: str, at: float) -> None:
        """The recipient is sent a message on a capped channel at `at`."""
        self.connection.execute(
            "INSERT INTO sends (channel, recipient, at) VALUES (?, ?, ?)", (channel, recipient, at)
        )

    def prune_sends(self, before: float) -> int:
        """Forget sends before this time (the daemon's sweep)."""
        return self.connection.execute("DELETE FROM sends WHERE at < ?", (before,)).rowcount


def _notification(row: Any) -> Notification:
    alerts = row[14]
    return Notification(
        seq=row[0],
        id=row[1],
        alert_id=row[2],
        rule_id=row[3],
        channel=row[4],
        kind=row[5],
        recipient=row[6],
        priority=row[7],
        content=jsonutil.loads(row[8]),
        created_at=row[9],
        attempts=row[10],
        next_attempt_at=row[11],
        notice=row[12],
        hold=row[13] or "",
        alerts=tuple(jsonutil.loads(alerts)) if alerts else (),
    )
