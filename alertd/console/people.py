"""The on-call file as the console reads it: people (who may sign in) and schedules.

Loaded at start and read again whenever the file changes on disk (a stat per use, no watcher),
so a `password_hash` pasted in works at once; a file with errors keeps the last good one, as a
reload of the rules does, and logs why. (When the daemon itself loads the on-call file, for
escalation, the console should take it from there: this class is the one place to change.)
"""

from __future__ import annotations

import logging

from alertd.config import Settings
from alertd.oncall import OnCall, load_oncall

log = logging.getLogger("alertd.console")


class OnCallFile:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file read last
        self._oncall: OnCall | None = None

    def current(self) -> OnCall | None:
        """What the file says now (None: no on-call file configured or readable yet)."""
        path = self.settings.oncall.path
        if path is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return self._oncall
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._seen = seen
            oncall, errors = load_oncall(self.settings)
            if errors or oncall is None:
                log.error(
                    "the on-call file has errors; the console keeps the last good one",
                    extra={"path": str(path), "errors": [error.format() for error in errors]},
                )
            else:
                self._oncall = oncall
        return self._oncall
