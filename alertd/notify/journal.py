"""The outcome journal: what a provider answered, kept the moment it answered.

The outbox table learns a send's outcome from the recorder, which writes in batches and must
wait for the database's write lock; a group commit holds that lock while it evaluates a batch
of events and syncs it, tens of milliseconds in a storm. A kill -9 in that gap would send every
notification whose outcome was still waiting again after the restart: a second page. So the
dispatcher first appends each outcome to this journal, a plain file beside the database, one
line per outcome in one write(2) and no sync: once the call returns, the outcome survives a
crash of the process (the kernel holds it), though not of the machine (a power cut can cost
the last outcomes, and those notifications go out again: delivery stays at least once). Only
the sends in flight at a kill are sent twice.

Files: `<database>.outcomes`, appended to, and `<database>.outcomes.old`, its predecessor, kept
until the recorder has written all it holds into the table. At start the dispatcher applies
what a previous process left (`left_over`, then `clear`) before it reads the pending rows.

One process at a time: the daemon's state lock (alertd.sqlitedb.StateLock) sees to it.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from alertd import jsonutil
from alertd.notify.outbox import AttemptResult

log = logging.getLogger("alertd.notify")

ROTATE_BYTES = 1 << 20  # start a new file past this size, once the older one is recorded


class Journal:
    """Appends outcomes in the order they happen; `recorded(n)` says the first `n` are in the
    table, so a file holding only those can go. Used from the event loop only."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".outcomes")
        self.old = database.with_name(database.name + ".outcomes.old")
        self._fd: int | None = None
        self._size = 0  # bytes in the current file
        self._appended = 0  # outcomes appended since `open`
        self._old_holds = 0  # the `.old` file holds outcomes up to this count; 0: none
        self._torn = False  # the last line was cut short (a full disk): end it before the next

    def left_over(self) -> list[AttemptResult]:
        """The outcomes a previous process appended, oldest first (apply them in this order:
        a later outcome of a notification supersedes an earlier one)."""
        outcomes: list[AttemptResult] = []
        for path in (self.old, self.path):
            try:
                lines = path.read_bytes().splitlines()
            except FileNotFoundError:
                continue
            except OSError as unreadable:  # its outcomes' notifications may go out again
                log.error("cannot read the outcome journal %s: %s", path, unreadable)
                continue
            for number, line in enumerate(lines, start=1):
                try:
                    seq, state, attempts, at, error, next_attempt_at, receipt = jsonutil.loads(line)
                    outcomes.append(
                        AttemptResult(seq, state, attempts, at, error, next_attempt_at, receipt)
                    )
                except (ValueError, TypeError):  # a line cut short by a crash of the machine
                    log.warning("%s:%d: not an outcome, skipped: %r", path, number, line[:80])
        return outcomes

    def clear(self) -> None:
        """Forget every file (their outcomes are in the table); `append` starts a new one.
        Raises OSError, having forgotten what it could."""
        self.close()
        self._size = self._appended = self._old_holds = 0
        self._torn = False
        for path in (self.old, self.path):
            path.unlink(missing_ok=True)

    def append(self, outcome: AttemptResult) -> None:
        """Keep one outcome; once this returns, a kill -9 cannot lose it. Raises OSError."""
        self._appended += 1  # counted even if the write fails: it is queued to be recorded
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        line = jsonutil.dumps(
            (
                outcome.seq,
                outcome.state,
                outcome.attempts,
                outcome.at,
                outcome.error,
                outcome.next_attempt_at,
                outcome.receipt,
            )
        )
        data = (b"\n" if self._torn else b"") + line + b"\n"
        written = os.write(self._fd, data)  # raises only when it wrote nothing
        self._size += written
        self._torn = written < len(data)
        if self._torn:  # the part written is not an outcome; `left_over` skips it
            raise OSError(errno.ENOSPC, "the outcome was cut short; is the disk full?")
        if self._size > ROTATE_BYTES and not self._old_holds:
            self.close()
            self.path.replace(self.old)  # the next append starts a new file
            self._size, self._old_holds = 0, self._appended

    def recorded(self, count: int) -> None:
        """The first `count` outcomes appended since `clear` are in the table."""
        if self._old_holds and count >= self._old_holds:
            self.old.unlink(missing_ok=True)
            self._old_holds = 0

    def close(self, *, all_recorded: bool = False) -> None:
        """Close the file; with `all_recorded`, remove the files too (a clean stop)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if all_recorded:
            for path in (self.old, self.path):
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:  # replayed at the next start: harmless, in order
                    log.error("cannot remove the outcome journal %s: %s", path, error)
