"""`Silences`: the silences of the state database and the maintenance windows of oncall.toml,
made, expired and listed, and asked whether one covers an alert.

    silences = Silences(SilenceTable(connection), oncall)
    silences.load(now)                          # at start: the silences not yet over
    silence = read_draft(body, now, new_id)     # alertd.silences.drafts: checked, not stored
    silences.table.add(silence)                 # in the caller's transaction ...
    silences.remember(silence)                  # ... and once it has committed
    silences.covering(alert, now)               # -> Cover | None: what silences it

The silences that are not over are also kept in memory, filed in an index
(alertd.silences.index), so asking about an alert reads no disk and tests a handful of
silences, however many there are. `remember` files a new or changed silence once its
transaction has committed, so a change that was rolled back never silences anything.

Maintenance windows silence while they are open: which are open is worked out once, and again
only when the next one opens or closes (or the on-call file is reloaded), not for every alert.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from alertd.model import Alert
from alertd.oncall.maintenance import active_maintenance, next_maintenance_change, next_window
from alertd.oncall.model import Maintenance, OnCall
from alertd.silences.index import SilenceIndex
from alertd.silences.matchers import covers
from alertd.silences.model import (
    MAINTENANCE_PREFIX,
    Cover,
    Listed,
    Silence,
    SilenceRefused,
    SilenceState,
)
from alertd.silences.table import SilenceTable

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ORDER: dict[SilenceState, int] = {"active": 0, "pending": 1, "expired": 2}


class Silences:
    """Silences and maintenance windows over one connection; the event loop is its caller."""

    def __init__(self, table: SilenceTable, oncall: OnCall | None = None) -> None:
        self.table = table
        self._open: dict[str, Silence] = {}
        self._index = SilenceIndex(())
        self._oncall = oncall
        self._windows: list[tuple[str, Maintenance]] = []
        self._windows_from = math.inf  # the open windows are known for [from, until)
        self._windows_until = -math.inf

    # --- what is silenced --------------------------------------------------------------------

    def covering(self, alert: Alert, now: float) -> Cover | None:
        """What silences the alert at `now`: the oldest active silence whose matchers all hold,
        else the first open maintenance window (in the file's order) whose matchers all hold."""
        silence = self._index.covering(alert, now)
        if silence is not None:
            return Cover(silence.id, silence.created_by, silence.created_via, silence.comment)
        for name, window in self._open_windows(now):
            if covers(window.matchers, alert):
                return Cover(MAINTENANCE_PREFIX + name, None, None, window.comment)
        return None

    def _open_windows(self, now: float) -> list[tuple[str, Maintenance]]:
        if not self._windows_from <= now < self._windows_until:
            oncall = self._oncall
            if oncall is None or not oncall.maintenance:
                self._windows, self._windows_from, self._windows_until = [], -math.inf, math.inf
            else:
                at = datetime.fromtimestamp(now, UTC)
                self._windows = [
                    (found.name, oncall.maintenance[found.name])
                    for found in active_maintenance(oncall, at)
                ]
                change = next_maintenance_change(oncall, at)
                self._windows_from = now
                self._windows_until = math.inf if change is None else change.timestamp()
        return self._windows

    # --- changes -----------------------------------------------------------------------------

    def load(self, now: float) -> None:
        """Read the silences not over at `now` from the table (at start)."""
        self._open = {silence.id: silence for silence in self.table.ending_after(now)}
        self._index = SilenceIndex(self._open.values())

    def use_oncall(self, oncall: OnCall | None) -> None:
        """The on-call file was reloaded: its maintenance windows from now on."""
        self._oncall = oncall
        self._windows_from, self._windows_until = math.inf, -math.inf

    def remember(self, silence: Silence) -> None:
        """File a silence added or changed by a transaction that has committed."""
        self._open[silence.id] = silence
        self._index = SilenceIndex(self._open.values())

    def expire(self, silence_id: str, now: float) -> tuple[Silence, bool] | None:
        """End the silence at `now`, in the caller's transaction: the silence as it is then,
        and whether that changed it (an expired one stays as it was). None when there is no
        such silence; SilenceRefused for a maintenance window. `remember` the silence once the
        transaction commits."""
        if silence_id.startswith(MAINTENANCE_PREFIX):
            listed = self.get(silence_id, now)
            if listed is None:
                return None
            name = silence_id.removeprefix(MAINTENANCE_PREFIX)
            source = Path(self._oncall.source).name if self._oncall is not None else "oncall.toml"
            raise SilenceRefused(
                f"{silence_id} is a maintenance window of {source}: remove or change "
                f"[maintenance.{name}] there, then reload"
            )
        silence = self.table.get(silence_id)
        if silence is None:
            return None
        if silence.state(now) == "expired":
            return silence, False
        self.table.end(silence_id, now)
        ended = replace(silence, starts_at=min(silence.starts_at, now), ends_at=now, updated_at=now)
        return ended, True

    def prune(self, now: float, ended_before: float) -> int:
        """Delete the silences that ended before `ended_before` (retention), in the caller's
        transaction, and stop filing those over at `now`."""
        pruned = self.table.prune(ended_before)
        over = [key for key, silence in self._open.items() if silence.ends_at <= now]
        if over:
            for key in over:
                del self._open[key]
            self._index = SilenceIndex(self._open.values())
        return pruned

    # --- reading -----------------------------------------------------------------------------

    def get(self, silence_id: str, now: float) -> Listed | None:
        if silence_id.startswith(MAINTENANCE_PREFIX):
            name = silence_id.removeprefix(MAINTENANCE_PREFIX)
            oncall = self._oncall
            window = None if oncall is None else oncall.maintenance.get(name)
            if oncall is None or window is None:
                return None
            found = _as_silence(window, now, oncall)
            return None if found is None else Listed(found, found.state(now))
        silence = self.table.get(silence_id)
        return None if silence is None else Listed(silence, silence.state(now))

    def listed(self, now: float, state: SilenceState | None = None) -> list[Listed]:
        """Every silence kept (expired ones until retention deletes them) and every maintenance
        window (at its current or next opening): active first, ending soonest first; then
        pending, starting soonest first; then expired, the latest to end first."""
        silences = self.table.all()
        oncall = self._oncall
        if oncall is not None:
            for window in oncall.maintenance.values():
                found = _as_silence(window, now, oncall)
                if found is not None:
                    silences.append(found)
        listed = [Listed(s, s.state(now)) for s in silences]
        if state is not None:
            listed = [item for item in listed if item.state == state]
        listed.sort(key=_listing_order)
        return listed


def _listing_order(item: Listed) -> tuple[int, float, str]:
    silence = item.silence
    if item.state == "active":
        return 0, silence.ends_at, silence.id
    if item.state == "pending":
        return 1, silence.starts_at, silence.id
    return 2, -silence.ends_at, silence.id


def _as_silence(window: Maintenance, now: float, oncall: OnCall) -> Silence | None:
    """A maintenance window as a silence: its opening in progress at `now`, or the next."""
    opening = next_window(window, datetime.fromtimestamp(now, UTC))
    if opening is None:
        return None
    return Silence(
        id=MAINTENANCE_PREFIX + window.name,
        matchers=window.matchers,
        starts_at=opening.start.timestamp(),
        ends_at=opening.end.timestamp(),
        created_by=Path(oncall.source).name,
        comment=window.comment,
        created_at=None,
        updated_at=None,
        created_via=None,
        kind="maintenance",
        recurs=recurrence(window),
    )


def recurrence(window: Maintenance) -> str:
    """`sun 02:00-06:00 Europe/Amsterdam`, as oncall.toml says it."""
    days = (
        "every day"
        if len(window.days) == 7
        else ", ".join(_DAYS[day] for day in sorted(window.days))
    )
    start = datetime.combine(date(2000, 1, 1), window.start)
    minutes = (start.hour * 60 + start.minute + round(window.length.total_seconds() / 60)) % 1440
    end = (
        "24:00"
        if minutes == 0 and window.start.hour == window.start.minute == 0
        else (f"{minutes // 60:02d}:{minutes % 60:02d}")
    )
    return f"{days} {window.start:%H:%M}-{end} {window.zone.key}"
