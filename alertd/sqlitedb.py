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
from typing import Literal

from alertd.engine.errors import StateStoreError

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
        raise StateStoreError(f"{path}: cannot open the state database: {exc}") from exc
    return connection


class StateInUse(StateStoreError):
    """Another process holds the state's lock; `pid` is its process id when it wrote one."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "a process that has not written its pid"
        super().__init__(
            f"{path}: the state is in use by another alertd ({holder}); stop it first, or give "
            "this one another [state] path"
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
            raise StateStoreError(f"{self.path}: cannot create the lock file: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _pid_in(fd)
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StateInUse(database, holder) from None
            raise StateStoreError(f"{self.path}: cannot lock the state: {exc}") from exc
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
