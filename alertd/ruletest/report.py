"""What `alertd test-rule` prints for a replay: a table for people, JSON lines for programs.

`--format json` is a contract (DESIGN.md): one object per decision,
`{"event": i, "rule": id, "decision": kind, "key": [...]}` (plus `"notifications"` under
`--render`; a decision no event caused, a timer's, has `"event": null` and `"at": ISO`), one per
type mismatch, `{"event": i, "rule": id, "type_mismatch": {...}}`, then `{"summary": {"events":
N, "fired": F, "suppressed": S, "counting": C, "absorbed": A, "resolved": R,
"type_mismatches": M}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol, TextIO

from alertd.dsl.explain import Mismatch
from alertd.durations import format_duration
from alertd.engine.eventtime import format_time
from alertd.engine.ruleset import RuleSet
from alertd.model import Decision, Key
from alertd.notify.notification import Notification
from alertd.ruletest.formats import dump_json
from alertd.ruletest.terminal import Painter
from alertd.wording import counted

Notifications = Sequence[Notification]


@dataclass(slots=True)
class Summary:
    events: int = 0  # every event read, including the invalid ones
    fired: int = 0
    suppressed: int = 0
    counting: int = 0
    absorbed: int = 0
    resolved: int = 0
    type_mismatches: int = 0
    invalid: int = 0

    def add(self, decision: Decision) -> None:
        kind = decision.kind
        if kind == "fired":
            self.fired += 1
        elif kind == "suppressed":
            self.suppressed += 1
        elif kind == "counting":
            self.counting += 1
        elif kind == "absorbed":
            self.absorbed += 1
        else:
            self.resolved += 1


class Report(Protocol):
    def decision(self, decision: Decision, notifications: Notifications | None) -> None: ...

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        """A type mismatch met evaluating rule `rule_id` on event `index` (at `time`)."""
        ...

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
        if decision.event_index is None:
            line["at"] = format_time(decision.event_time)
        if notifications is not None:
            line["notifications"] = [
                {"channel": n.channel, "recipient": n.recipient, "content": n.content}
                for n in notifications
            ]
        self._out.write(dump_json(line) + "\n")

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        found = {
            "expression": mismatch.text,
            "at": str(mismatch.where),
            "problem": mismatch.problem,
            "values": [
                {"expression": o.text, "value": o.value, "kind": o.kind} for o in mismatch.operands
            ],
        }
        self._out.write(dump_json({"event": index, "rule": rule_id, "type_mismatch": found}) + "\n")

    def summary(self, summary: Summary) -> None:
        counts = {
            "events": summary.events,
            "fired": summary.fired,
            "suppressed": summary.suppressed,
            "counting": summary.counting,
            "absorbed": summary.absorbed,
            "resolved": summary.resolved,
            "type_mismatches": summary.type_mismatches,
        }
        self._out.write(dump_json({"summary": counts}) + "\n")


_STYLES = {
    "fired": ("bold", "red"),
    "suppressed": ("yellow",),
    "counting": ("cyan",),
    "absorbed": ("blue",),
    "resolved": ("bold", "green"),
    "mismatch": ("bold", "yellow"),
}
_TIME_WIDTH = len("2026-01-01T10:00:00.000Z")
_DECISION_WIDTH = len("suppressed")
_VALUE_CHARS = 60  # of a value shown in a mismatch row
_INDENT = " " * 8  # notifications under their decision


class TextReport:
    """One row per decision: event index, event time, rule, decision, key and a detail; one per
    type mismatch, with what was compared; each notification (`--render`) under its decision,
    as people would read it."""

    def __init__(self, out: TextIO, rules: RuleSet, paint: Painter) -> None:
        self._out = out
        self._rules = rules
        self._paint = paint
        self._rule_width = max([len("RULE"), *(len(rule.id) for rule in rules.rules)])
        self._header_written = False

    def decision(self, decision: Decision, notifications: Notifications | None) -> None:
        self._row(
            decision.event_index,
            decision.event_time,
            decision.rule_id,
            decision.kind,
            shown=format_key(decision.key),
            detail=self._detail(decision),
        )
        for line in notification_lines(notifications or ()):
            self._out.write(f"{_INDENT}{line}".rstrip() + "\n")

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        shown, where = describe(mismatch), str(mismatch.where)
        self._row(index, time, rule_id, "mismatch", shown=shown, detail=where)

    def summary(self, summary: Summary) -> None:
        if not self._header_written:
            self._out.write("no rule matched any event\n")
        line = (
            f"\n{counted(summary.events, 'event')}: {summary.fired:,} fired, "
            f"{summary.suppressed:,} suppressed, {summary.counting:,} counting"
        )
        if summary.absorbed or summary.resolved:
            line += f", {summary.absorbed:,} absorbed, {summary.resolved:,} resolved"
        if summary.type_mismatches:
            line += f"; {counted(summary.type_mismatches, 'type mismatch', 'type mismatches')}"
        if summary.invalid:
            line += f"; {summary.invalid:,} skipped as invalid"
        self._out.write(line + "\n")

    def _row(
        self, index: int | None, time: float, rule_id: str, kind: str, *, shown: str, detail: str
    ) -> None:
        if not self._header_written:
            self._write_header()
        cells = [
            f"{'-' if index is None else index:<6}",  # -: a timer's, no event's
            f"{format_time(time):<{_TIME_WIDTH}}",
            f"{rule_id:<{self._rule_width}}",
            self._paint(f"{kind:<{_DECISION_WIDTH}}", *_STYLES[kind]),
            shown,
        ]
        if detail:
            cells.append(self._paint(detail, "dim"))
        self._out.write("  ".join(cells).rstrip() + "\n")

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
        if decision.kind == "absorbed":
            return "folded into the open alert of its key"
        if decision.kind == "resolved":
            resolve = rule.resolve if rule is not None else None
            if decision.event_index is None:
                after = resolve.after if resolve is not None else None
                quiet = f" for {format_duration(after)}" if after is not None else ""
                return f"no match{quiet} (resolve after)"
            return "resolve when " + " ".join(resolve.when_source.split() if resolve else ())
        alert = decision.alert
        if alert is None:
            return ""
        parts = []
        if rule is not None and rule.count is not None:
            parts.append(f"{rule.count.threshold} within {format_duration(rule.count.within)}")
        if alert.suppressed_count:
            parts.append(f"{alert.suppressed_count} suppressed since the last alert")
        return "; ".join(parts)


def describe(mismatch: Mismatch) -> str:
    """A type mismatch on one line: `speed_kmh > 120: a string compared with a number
    (speed_kmh = "130")`; values written out in the rule are not repeated."""
    values = ", ".join(
        f"{o.text} = {_short(dump_json(o.value))}"
        for o in mismatch.operands
        if not _is_literal(o.text, o.value)
    )
    shown = f"{mismatch.text}: {mismatch.problem}" + (f" ({values})" if values else "")
    return " ".join(shown.split())  # an expression written over several lines, on one


def notification_lines(notifications: Notifications) -> Iterator[str]:
    """Each notification as people read it: the channel and its recipients, then the text a
    person would see (an email's subject and text part, a Slack or push title and text, a
    webhook's body as indented JSON). Notifications of one channel with the same content are
    shown once, with all their recipients."""
    same = groupby(notifications, key=lambda n: (n.channel, dump_json(n.content)))
    for _, group in same:
        batch = list(group)
        recipients = ", ".join(n.recipient for n in batch if n.recipient)
        yield f"{batch[0].channel} to {recipients or '(no recipient configured)'}"
        for line in _readable(batch[0].kind, batch[0].content):
            yield f"  {line}"


def _readable(kind: str, content: dict[str, Any]) -> list[str]:
    """The parts of a rendered message a person reads, one line each (alertd.notify.render)."""
    if kind == "email":
        return [f"Subject: {content.get('subject', '')}", *_lines(content.get("text"))]
    if kind == "sms":
        return _lines(content.get("text"))
    if kind == "slack":
        return [*_lines(content.get("title")), *_lines(content.get("text"))]
    if kind == "push":
        return [*_lines(content.get("title")), *_lines(content.get("body"))]
    if kind == "webhook" and isinstance(content.get("body"), str):
        try:
            return _indented(json.loads(content["body"]))
        except ValueError:
            return _lines(content["body"])
    return _indented(content)


def _indented(value: Any) -> list[str]:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()


def _lines(text: Any) -> list[str]:
    return str(text).splitlines() if text else []


def _is_literal(text: str, value: Any) -> bool:
    """Whether a value is written out in the rule (`120`, `"x"`): no need to show it again."""
    return text == dump_json(value)


def _short(text: str) -> str:
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


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
