"""Which silences cover an alert, found without testing every silence against it.

Nearly every silence names what it silences with an equality: `vehicle_id=v-9`, `rule=...`.
The index files each silence under one such matcher, `(name, value)`, an event field's rather
than `rule`'s or `priority`'s when it has one (they tell fewer alerts apart); an alert is then
tested only against the silences filed under its own values (one dictionary look-up per name
that silences use), and the few silences that have no equality (only regexes, or only
negations), which are tested one by one. So with 5,000 silences on 5,000 vehicles an alert is
tested against one, not 5,000 (bench/silence_bench.py measures it).

While one alert is tested, each distinct matcher is tested once: a hundred silences that share
`depot=~"north|east"` run that pattern once for the alert, not a hundred times.

An index is built once per change of the silences (they change far less often than alerts
fire) and is immutable: a change builds a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from alertd.model import Alert
from alertd.oncall.model import Matcher
from alertd.silences.matchers import PRIORITY, RULE, text_test, value_of
from alertd.silences.model import Silence

TextTest = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class _Filed:
    silence: Silence
    checks: tuple[tuple[str, TextTest], ...]  # (name, test of its text), one per matcher


class SilenceIndex:
    """The silences not yet over, filed for look-up by alert."""

    __slots__ = ("_by_value", "_unfiled", "size")

    def __init__(self, silences: Iterable[Silence]) -> None:
        self._by_value: dict[str, dict[str, list[_Filed]]] = {}
        self._unfiled: list[_Filed] = []
        self.size = 0
        tests: dict[Matcher, TextTest] = {}  # one test per distinct matcher
        for silence in sorted(silences, key=lambda s: s.id):  # the oldest covers first
            self.size += 1
            checks = tuple(
                (m.name, tests.get(m) or tests.setdefault(m, text_test(m)))
                for m in silence.matchers
            )
            filed = _Filed(silence, checks)
            key = _filing(silence.matchers)
            if key is None:
                self._unfiled.append(filed)
            else:
                values = self._by_value.setdefault(key.name, {})
                values.setdefault(key.value, []).append(filed)

    def covering(self, alert: Alert, now: float) -> Silence | None:
        """The oldest silence active at `now` whose matchers all hold for the alert."""
        texts: dict[str, str] = {}
        held: dict[TextTest, bool] = {}
        found: Silence | None = None
        for name, values in self._by_value.items():
            text = texts.get(name)
            if text is None:
                text = texts[name] = value_of(alert, name)
            for filed in values.get(text, ()):
                if found is not None and filed.silence.id >= found.id:
                    break
                if _covers(filed, alert, now, texts, held):
                    found = filed.silence
                    break
        for filed in self._unfiled:
            if found is not None and filed.silence.id >= found.id:
                break
            if _covers(filed, alert, now, texts, held):
                found = filed.silence
                break
        return found


def _filing(matchers: Iterable[Matcher]) -> Matcher | None:
    """The equality to file a silence under: an event field's if any, else rule's or
    priority's; None when it has no equality."""
    equalities = [m for m in matchers if m.equal and not m.regex]
    fields = [m for m in equalities if m.name not in (RULE, PRIORITY)]
    chosen = fields or equalities
    return chosen[0] if chosen else None


def _covers(
    filed: _Filed, alert: Alert, now: float, texts: dict[str, str], held: dict[TextTest, bool]
) -> bool:
    silence = filed.silence
    if not silence.starts_at <= now < silence.ends_at:
        return False
    for name, test in filed.checks:
        result = held.get(test)
        if result is None:
            text = texts.get(name)
            if text is None:
                text = texts[name] = value_of(alert, name)
            result = held[test] = test(text)
        if not result:
            return False
    return True
