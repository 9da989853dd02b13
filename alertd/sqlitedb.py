"""Every SQLite connection alertd opens, with one set of settings; and the lock on a state file.

The state database is shared by the engine's store, the outbox's reader and the dispatcher's
recorder. They must agree on how it is written, so all of them open it here:

- WAL journal: readers never block the writer, nor the writer its readers.
- `synchronous = FULL` by default: a commit that returned is on disk even if the machine loses
  power. `NORMAL` trades the last commits before a power cut (never before a process crash)
  for cheaper commits; the dispatcher's recorder uses it, its outcomes being journaled first
  (alertd.notify.journal).
- `busy_timeout`: how long a write waits for another connection's write to finish before it
  fails (the daemon then answers 503, see alertd.pipeline).
- The log is copied back into the database every ~40 MiB rather than every 4 MiB (the
  default): pages a busy daemon rewrites in every batch (its windows, the B-tree's upper
  levels) are copied once per checkpoint instead of ten times. Measured on the engine bench's
  storm: 20-35% less wall time per event. Every connection commits, so every one of them
  may run the checkpoint: each must carry the setting.

Connections are in autocommit mode (BEGIN and COMMIT are their owner's) and may be used from
any thread, one thread at a time.

Errors are sorted here too (`unavailable_reason`, `fail`): an error that says the database
cannot be used now (its disk is full, it is read-only, an I/O error, locked past the busy
timeout, damaged) becomes StateStoreError with its reason, which the daemon answers with 503
and reports on /readyz until a write succeeds again; any other (bad SQL, a constraint, a closed
connection) is a bug in alertd and is raised as it is.

`StateLock` keeps a second daemon off a state file that one is already using: two of them
would each keep their own windows in memory and page twice for the same key.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

from alertd.dialect import register
from alertd.engine.errors import WHY, StateReason, StateStoreError

if TYPE_CHECKING:
    from alertd.dialect import Connection

if sys.platform != "win32":  # Windows has no flock: the state is not locked there
    import fcntl

Synchronous = Literal["FULL", "NORMAL"]
_SYNCHRONOUS: dict[str, str] = {"FULL": "FULL", "NORMAL": "NORMAL"}  # never user text in SQL
DEFAULT_BUSY_TIMEOUT = 5.0  # seconds
WAL_AUTOCHECKPOINT = 10_000  # pages of 4 KiB
CACHE_KIB = 32 * 1024


def connect(
    path: str | Path,
    *,
    synchronous: Synchronous = "FULL",
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) the database at `path`.

    Raises StateStoreError naming the file when it cannot be opened or is not a database.
    """
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[synchronous]}")
            connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
        except BaseException:
            connection.close()
            raise
    except (OSError, sqlite3.Error) as exc:
        raise cannot_open(path, exc) from exc
    return connection


def cannot_open(path: str | Path, error: OSError | sqlite3.Error) -> StateStoreError:
    """The error for a database that cannot be opened, whatever the cause: the daemon cannot
    start on it, and says so with the file's name. An I/O error's reason is told by a write
    beside the file, as `fail` does (on a full disk, SQLite cannot grow the shared memory file
    of a database that is there, and says 'disk I/O error'), and then said in words."""
    reason = os_reason(error) if isinstance(error, OSError) else unavailable_reason(error)
    message = f"{path}: cannot open the state database: {error}"
    if reason == "io_error" and str(path) != ":memory:":
        told = io_reason(Path(path).parent)
        if told != "io_error":
            reason, message = told, f"{message}: {WHY[told]}"
    return StateStoreError(message, reason or "io_error")


# SQLite's primary result codes that say the database cannot be used now, not that alertd used
# it wrongly. What is left out is a bug: SQLITE_ERROR (bad SQL, no such table), CONSTRAINT,
# MISMATCH, MISUSE, RANGE, TOOBIG, ABORT, INTERRUPT, SCHEMA, INTERNAL, and Python's own errors
# (a closed connection), which carry no code at all.
_UNAVAILABLE: dict[int, StateReason] = {
    sqlite3.SQLITE_FULL: "full",  # the disk, or the quota, or max_page_count
    sqlite3.SQLITE_READONLY: "read_only",
    sqlite3.SQLITE_PERM: "read_only",  # the file system refused the access
    sqlite3.SQLITE_CANTOPEN: "io_error",  # the database, its WAL or its shared memory
    sqlite3.SQLITE_IOERR: "io_error",  # every SQLITE_IOERR_*: a write, a sync, a read ...
    sqlite3.SQLITE_NOMEM: "io_error",  # out of memory: nothing to do with the data either
    sqlite3.SQLITE_NOLFS: "io_error",
    sqlite3.SQLITE_BUSY: "busy",  # another connection held the lock past the busy timeout
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_PROTOCOL: "busy",  # the WAL's locks kept changing under it
    sqlite3.SQLITE_CORRUPT: "corrupt",
    sqlite3.SQLITE_NOTADB: "corrupt",
}


def unavailable_reason(error: sqlite3.Error) -> StateReason | None:
    """Why `error` says the database cannot be used now, or None when it says alertd used it
    wrongly (a bug, which retrying cannot mend)."""
    code = getattr(error, "sqlite_errorcode", None)  # None: an error of Python's module
    if code is None:
        return None
    return _UNAVAILABLE.get(code & 0xFF)  # the primary code of an extended one


def fail(error: sqlite3.Error, what: str, database: Path | None = None) -> NoReturn:
    """Raise `error` translated: StateStoreError(`what: error`) with its reason when it says the
    database cannot be used now, else the error itself (a bug). Call it in an except block.

    SQLite reports a write to a file system turned read-only, or a sync that found the disk
    full, as an I/O error; given the `database` file, an I/O error's reason is told by a write
    beside it (`io_reason`).
    """
    reason = unavailable_reason(error)
    if reason is None:
        raise error
    if reason == "io_error" and database is not None:
        reason = io_reason(database.parent)
    raise StateStoreError(f"{what}: {error}", reason) from error


def io_reason(folder: Path) -> StateReason:
    """Why writes in `folder` fail, found by writing a byte to a file of its own there: "full",
    "read_only", or "io_error" when it is neither (or the byte was written)."""
    probe = folder / f".alertd-write-check-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        return os_reason(exc)
    try:
        os.write(fd, b"x")
        os.fsync(fd)
    except OSError as exc:
        return os_reason(exc)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()
    return "io_error"


def os_reason(error: OSError) -> StateReason:
    """Why an operating system error on the state's files means the state cannot be used."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "full"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "read_only"
    return "io_error"


PROBE_SCHEMA = "CREATE TABLE IF NOT EXISTS state_probe (only INTEGER PRIMARY KEY, at REAL NOT NULL)"
register(PROBE_SCHEMA, "SELECT 1")  # PostgreSQL's migrations make the table (alertd.migrations)


def write_probe(connection: Connection, at: float) -> None:
    """Write one row (through the caller's transaction): whether the database takes a write now.

    A transaction that changes nothing writes nothing to the disk, so its commit proves nothing;
    this one always changes a row.
    """
    try:
        connection.execute(PROBE_SCHEMA)
        connection.execute("INSERT OR REPLACE INTO state_probe VALUES (0, ?)", (at,))
    except sqlite3.Error as exc:
        fail(exc, "cannot write the state")


class StateInUse(StateStoreError):
    """Another process holds the state's lock; `pid` is its process id when it wrote one."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "a process that has not written its pid"
        super().__init__(
            f"{path}: the state is in use by another alertd ({holder}); stop it first, or give "
            "this one another [state] path",
            "busy",
        )
        self.pid = pid


class StateLock:
    """An exclusive lock on a state database, held until `release` or the process ends.

    The lock is `flock` on `<database>.lock` beside the database, which holds the pid of the
    process that has it: the kernel drops the lock when that process exits, even on kill -9,
    so a stale file never keeps the next start out.
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None
        if sys.platform == "win32":
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateStoreError(
                f"{self.path}: cannot create the lock file: {exc}", os_reason(exc)
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _pid_in(fd)
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StateInUse(database, holder) from None
            raise StateStoreError(
                f"{self.path}: cannot lock the state: {exc}", os_reason(exc)
            ) from exc
        with contextlib.suppress(OSError):  # the pid is for messages: a full disk may refuse it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let another process have the state (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _pid_in(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
