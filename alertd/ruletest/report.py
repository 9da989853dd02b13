"""What `alertd test-rule` prints for a replay: a table for people, JSON lines for programs.

`--format json` is a contract (DESIGN.md): one object per decision,
`{"event": i, "rule": id, "decision": kind, "key": [...]}` (plus `"notifications"` under
`--render`), then `{"summary": {"events": N, "fired": F, "suppressed": S, "counting": C}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from alertd.durations import format_duration
from alertd.engine.eventtime import format_time
from alertd.engine.ruleset import RuleSet
from alertd.model import Decision, Key
from alertd.ruletest.formats import dump_json
from alertd.ruletest.terminal import Painter

Notifications = list[dict[str, Any]]


@dataclass(slots=True)
class Summary:
    events: int = 0  # every event read, including the invalid ones
    fired: int = 0
    suppressed: int = 0
    counting: int = 0
    invalid: int = 0

    def add(self, decision: Decision) -> None:
        if decision.kind == "fired":
            self.fired += 1
        elif decision.kind == "suppressed":
            self.suppressed += 1
        else:
            self.counting += 1


class Report(Protocol):
    def decision(self, decision: Decision, notifications: Notifications | None) -> None: ...

    def summary(self, summary: Summary) -> None: ...


class JsonReport:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def decision(self, decision: Decision, notifications: Notifications | None) -> None:
        line: dict[str, Any] = {
            "event": decision.event_index,
            "rule": decision.rule_id,
            "decision": decision.kind,
            "key": list(decision.key),
        }
        if notifications is not None:
            line["notifications"] = notifications
        self._out.write(dump_json(line) + "\n")

    def summary(self, summary: Summary) -> None:
        counts = {
            "events": summary.events,
            "fired": summary.fired,
            "suppressed": summary.suppressed,
            "counting": summary.counting,
        }
        self._out.write(dump_json({"summary": counts}) + "\n")


_STYLES = {"fired": ("bold", "red"), "suppressed": ("yellow",), "counting": ("cyan",)}
_TIME_WIDTH = len("2026-01-01T10:00:00.000Z")
_DECISION_WIDTH = len("suppressed")


class TextReport:
    """One row per decision: event index, event time, rule, decision, key and a detail."""

    def __init__(self, out: TextIO, rules: RuleSet, paint: Painter) -> None:
        self._out = out
        self._rules = rules
        self._paint = paint
        self._rule_width = max([len("RULE"), *(len(rule.id) for rule in rules.rules)])
        self._header_written = False

    def decision(self, decision: Decision, notifications: Notifications | None) -> None:
        if not self._header_written:
            self._write_header()
        paint = self._paint
        kind = decision.kind
        cells = [
            f"{decision.event_index:<6}",
            f"{format_time(decision.event_time):<{_TIME_WIDTH}}",
            f"{decision.rule_id:<{self._rule_width}}",
            paint(f"{kind:<{_DECISION_WIDTH}}", *_STYLES[kind]),
            format_key(decision.key),
        ]
        detail = self._detail(decision)
        if detail:
            cells.append(paint(detail, "dim"))
        self._out.write("  ".join(cells).rstrip() + "\n")
        for notification in notifications or ():
            rest = {name: value for name, value in notification.items() if name != "channel"}
            shown = " ".join(f"{name}={dump_json(value)}" for name, value in rest.items())
            self._out.write(
                f"{'':6}  -> {notification.get('channel', '?')} {shown}".rstrip() + "\n"
            )

    def summary(self, summary: Summary) -> None:
        if not self._header_written:
            self._out.write("no rule matched any event\n")
        skipped = f"; {summary.invalid} skipped as invalid" if summary.invalid else ""
        self._out.write(
            f"\n{summary.events:,} events: {summary.fired:,} fired, "
            f"{summary.suppressed:,} suppressed, {summary.counting:,} counting{skipped}\n"
        )

    def _write_header(self) -> None:
        self._header_written = True
        names = [
            f"{'EVENT':<6}",
            f"{'TIME':<{_TIME_WIDTH}}",
            f"{'RULE':<{self._rule_width}}",
            f"{'DECISION':<{_DECISION_WIDTH}}",
            "KEY",
        ]
        self._out.write(self._paint("  ".join(names), "bold") + "\n")

    def _detail(self, decision: Decision) -> str:
        rule = self._rules.by_id.get(decision.rule_id)
        if decision.kind == "suppressed" and decision.suppressed_until is not None:
            return f"suppressed until {format_time(decision.suppressed_until)}"
        if decision.kind == "counting" and rule is not None and rule.count is not None:
            within = format_duration(rule.count.within)
            return f"{decision.count} of {rule.count.threshold} within {within}"
        alert = decision.alert
        if alert is None:
            return ""
        parts = []
        if rule is not None and rule.count is not None:
            parts.append(f"{rule.count.threshold} within {format_duration(rule.count.within)}")
        if alert.suppressed_count:
            parts.append(f"{alert.suppressed_count} suppressed since the last alert")
        return "; ".join(parts)


def format_key(key: Key) -> str:
    """A key for people: `v1, d7, null, "52.52,13.40"`; `-` for a rule without `by`.

    Plain words are shown bare; anything that could be misread (a comma, spaces at the ends,
    an empty string, a number in a string) is shown quoted, as JSON."""
    if not key:
        return "-"
    return ", ".join(_key_part(value) for value in key)


def _key_part(value: object) -> str:
    if isinstance(value, str) and _BARE.fullmatch(value):
        return value
    return dump_json(value)


_BARE = re.compile(r"[A-Za-z_][\w.:@/-]*")
