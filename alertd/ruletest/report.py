"""What `alertd test-rule` prints for a replay: a table for people, JSON lines for programs.

`--format json` is a contract (DESIGN.md): one object per decision,
`{"event": i, "rule": id, "decision": kind, "key": [...]}` (plus `"notifications"` under
`--render`; a decision no event caused, a timer's, has `"event": null` and `"at": ISO`), one per
type mismatch, `{"event": i, "rule": id, "type_mismatch": {...}}`, then `{"summary": {"events":
N, "fired": F, "suppressed": S, "counting": C, "absorbed": A, "resolved": R,
"type_mismatches": M}}`.
With `--explain` every rule of an event's scope has a line: a decision line says what its
windows are after the event (`"window": "2 of 3 within 10m"`, `"suppressed_until": ISO`), and a
rule whose condition did not hold has `{"event": i, "rule": id, "decision": "no_match",
"failed": "<the first false comparison, as written>", "values": {"<field>": value}}` (plus
`"type_mismatch"` when kinds did not fit, and `"alternatives"`, each `{"failed", "values"}`,
when it was an `or` none of whose alternatives held); the summary adds `"no_match"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol, TextIO

from alertd.dsl.explain import Mismatch
from alertd.engine.details import Detail, details
from alertd.engine.eventtime import format_time
from alertd.engine.ruleset import RuleSet
from alertd.engine.verdicts import (
    Verdict,
    failure_text,
    mismatch_view,
    verdict_view,
    why_not,
)
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
    no_match: int = 0  # counted with --explain only
    off_schema: int = 0  # events that break the event schema, counted with --strict only

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
    def decision(
        self,
        decision: Decision,
        notifications: Notifications | None,
        shown: Sequence[Detail] | None = None,
    ) -> None:
        """A decision; `shown`: its windows' details as a verdict has them (else the report
        asks the detail hooks, with no store)."""
        ...

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        """A type mismatch met evaluating rule `rule_id` on event `index` (at `time`)."""
        ...

    def no_match(self, verdict: Verdict) -> None:
        """A rule of the event's scope whose condition did not hold (--explain)."""
        ...

    def no_rules(self, index: int, time: float, event_type: object) -> None:
        """No rule's scope takes events of this type (--explain)."""
        ...

    def summary(self, summary: Summary) -> None: ...


class JsonReport:
    def __init__(self, out: TextIO, rules: RuleSet | None = None, *, explain: bool = False) -> None:
        """With `explain`, decision lines say what the rule's windows are (from `rules`)."""
        self._out = out
        self._rules = rules
        self._explain = explain

    def decision(
        self,
        decision: Decision,
        notifications: Notifications | None,
        shown: Sequence[Detail] | None = None,
    ) -> None:
        line: dict[str, Any] = {
            "event": decision.event_index,
            "rule": decision.rule_id,
            "decision": decision.kind,
            "key": list(decision.key),
        }
        if decision.event_index is None:
            line["at"] = format_time(decision.event_time)
        if self._explain and self._rules is not None:
            if shown is None:
                shown = details(self._rules.by_id.get(decision.rule_id), decision)
            for detail in shown:
                line[detail.name] = detail.value
        if notifications is not None:
            line["notifications"] = [
                {"channel": n.channel, "recipient": n.recipient, "content": n.content}
                for n in notifications
            ]
        self._out.write(dump_json(line) + "\n")

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        found = mismatch_view(mismatch)
        self._out.write(dump_json({"event": index, "rule": rule_id, "type_mismatch": found}) + "\n")

    def no_rules(self, index: int, time: float, event_type: object) -> None:
        pass  # no rule, no line: each line is about a rule

    def no_match(self, verdict: Verdict) -> None:
        line = {"event": verdict.event_index, **verdict_view(verdict)}
        self._out.write(dump_json(line) + "\n")

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
        if self._explain:
            counts["no_match"] = summary.no_match
        if summary.off_schema:
            counts["off_schema"] = summary.off_schema
        self._out.write(dump_json({"summary": counts}) + "\n")


_STYLES = {
    "fired": ("bold", "red"),
    "suppressed": ("yellow",),
    "counting": ("cyan",),
    "absorbed": ("blue",),
    "resolved": ("bold", "green"),
    "mismatch": ("bold", "yellow"),
    "no match": ("dim",),
}
_TIME_WIDTH = len("2026-01-01T10:00:00.000Z")
_DECISION_WIDTH = len("suppressed")
_VALUE_CHARS = 60  # of a value shown in a mismatch row
_INDENT = " " * 8  # notifications under their decision


class TextReport:
    """One row per decision: event index, event time, rule, decision, key and a detail; one per
    type mismatch, with what was compared; each notification (`--render`) under its decision,
    as people would read it."""

    def __init__(
        self, out: TextIO, rules: RuleSet, paint: Painter, *, explain: bool = False
    ) -> None:
        self._out = out
        self._rules = rules
        self._paint = paint
        self._explain = explain
        self._rule_width = max([len("RULE"), *(len(rule.id) for rule in rules.rules)])
        self._header_written = False
        # The failures a no-match row showed, as (event, rule, where): a type mismatch that
        # was one of them is not shown again on a row of its own.
        self._shown: set[tuple[int, str, str]] = set()

    def decision(
        self,
        decision: Decision,
        notifications: Notifications | None,
        shown: Sequence[Detail] | None = None,
    ) -> None:
        if shown is None:
            shown = details(self._rules.by_id.get(decision.rule_id), decision)
        self._row(
            decision.event_index,
            decision.event_time,
            decision.rule_id,
            decision.kind,
            shown=format_key(decision.key),
            detail="; ".join(detail.text for detail in shown),
        )
        for line in notification_lines(notifications or ()):
            self._out.write(f"{_INDENT}{line}".rstrip() + "\n")

    def mismatch(self, index: int, time: float, rule_id: str, mismatch: Mismatch) -> None:
        shown, where = describe(mismatch), str(mismatch.where)
        if (index, rule_id, where) in self._shown:
            return
        self._row(index, time, rule_id, "mismatch", shown=shown, detail=where)

    def no_match(self, verdict: Verdict) -> None:
        index, time, rule_id = verdict.event_index, verdict.event_time, verdict.rule_id
        for failure in verdict.failures:
            if failure.mismatch:
                self._shown.add((index, rule_id, str(failure.where)))
        if len(verdict.failures) == 1:
            where = str(verdict.failures[0].where)
            self._row(index, time, rule_id, "no match", shown=why_not(verdict), detail=where)
            return
        self._row(index, time, rule_id, "no match", shown=why_not(verdict), detail="")
        indent = " " * self._key_column
        for failure in verdict.failures:
            where = self._paint(str(failure.where), "dim")
            self._out.write(f"{indent}  {failure_text(failure)}  {where}\n")

    def no_rules(self, index: int, time: float, event_type: object) -> None:
        if event_type is None:
            shown = "no rule looks at events without a type"
        else:
            shown = f"no rule looks at events of type {dump_json(event_type)}"
        self._row(index, time, "-", "-", shown=shown, detail="")

    @property
    def _key_column(self) -> int:
        """Where the KEY column starts: under it go the alternatives of a no-match row."""
        return 6 + 2 + _TIME_WIDTH + 2 + self._rule_width + 2 + _DECISION_WIDTH + 2

    def summary(self, summary: Summary) -> None:
        if not self._header_written:
            self._out.write("no rule matched any event\n")
        line = (
            f"\n{counted(summary.events, 'event')}: {summary.fired:,} fired, "
            f"{summary.suppressed:,} suppressed, {summary.counting:,} counting"
        )
        if summary.absorbed or summary.resolved:
            line += f", {summary.absorbed:,} absorbed, {summary.resolved:,} resolved"
        if summary.no_match:
            line += f", {summary.no_match:,} no match"
        if summary.type_mismatches:
            line += f"; {counted(summary.type_mismatches, 'type mismatch', 'type mismatches')}"
        if summary.invalid:
            line += f"; {summary.invalid:,} skipped as invalid"
        if summary.off_schema:
            line += f"; {counted(summary.off_schema, 'event')} off the schema"
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
            self._paint(f"{kind:<{_DECISION_WIDTH}}", *_STYLES.get(kind, ())),
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
            "KEY / WHY NOT" if self._explain else "KEY",
        ]
        self._out.write(self._paint("  ".join(names), "bold") + "\n")


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
