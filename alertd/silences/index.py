"""Which silences cover an alert, found without testing every silence against it.

Nearly every silence names what it silences with an equality: `vehicle_id=v-9`, `rule=...`.
The index files each silence under one such matcher, `(name, value)`; an alert is then tested
only against the silences filed under its own values (one dictionary look-up per name that
silences use), and the few silences that have no equality (only regexes, or only negations),
which are tested one by one. So with 5,000 silences on 5,000 vehicles an alert is tested
against one, not 5,000 (bench/silence_bench.py measures it).

An index is built once per change of the silences (they change far less often than alerts
fire) and is immutable: a change builds a new one.
"""

from __future__ import annotations

from collections.abc import Iterable

from alertd.model import Alert
from alertd.silences.matchers import covers, value_of
from alertd.silences.model import Silence


class SilenceIndex:
    """The silences not yet over, filed for look-up by alert."""

    __slots__ = ("_by_value", "_unfiled", "size")

    def __init__(self, silences: Iterable[Silence]) -> None:
        self._by_value: dict[str, dict[str, list[Silence]]] = {}
        self._unfiled: list[Silence] = []
        self.size = 0
        for silence in sorted(silences, key=lambda s: s.id):  # the oldest covers first
            self.size += 1
            filed = next((m for m in silence.matchers if m.equal and not m.regex), None)
            if filed is None:
                self._unfiled.append(silence)
            else:
                values = self._by_value.setdefault(filed.name, {})
                values.setdefault(filed.value, []).append(silence)

    def covering(self, alert: Alert, now: float) -> Silence | None:
        """The oldest silence active at `now` whose matchers all hold for the alert."""
        found: Silence | None = None
        for name, values in self._by_value.items():
            for silence in values.get(value_of(alert, name), ()):
                if found is not None and silence.id >= found.id:
                    break
                if _covers(silence, alert, now):
                    found = silence
                    break
        for silence in self._unfiled:
            if found is not None and silence.id >= found.id:
                break
            if _covers(silence, alert, now):
                found = silence
                break
        return found


def _covers(silence: Silence, alert: Alert, now: float) -> bool:
    return silence.starts_at <= now < silence.ends_at and covers(silence.matchers, alert)
