"""Replaying recorded events through rules: the same engine as the daemon, a memory store,
nothing sent.

Events go through in file order (the order they arrived in), each placed in its windows by its
own timestamp, exactly as the daemon does with a live stream. Events without a timestamp are
taken as arriving together when the replay starts. Timers (`resolve after`) run on event time
(alertd.ruletest.engine): before each event, those due by its time; after the last event, those
due by `until`. An invalid event is reported on the error
stream with its index and skipped; the replay goes on.

Type mismatches (`speed_kmh > 120` meeting `"130"`) make a comparison false without a word,
so the replay shows each one: when the compiled rules count a mismatch for an event (the
counters behind the daemon's metric), the rules that counted are explained on that event
(alertd.dsl.explain) and every mismatch found is reported. Events without one cost nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from alertd.dsl import mismatch_counts
from alertd.dsl.explain import explain
from alertd.engine.engine import Engine
from alertd.engine.errors import InvalidEvent
from alertd.model import Decision
from alertd.ruletest.engine import ReplayEngine
from alertd.ruletest.events import EventRecord
from alertd.ruletest.render import Preview
from alertd.ruletest.report import Report, Summary
from alertd.ruletest.terminal import Progress

SWEEP_EVERY = 100_000  # events between sweeps: long replays keep only live windows in memory


def replay(
    engine: Engine,
    records: Iterable[EventRecord],
    *,
    received_at: float,
    report: Report,
    errors: TextIO,
    source: str,
    preview: Preview | None = None,
    progress: Progress | None = None,
    until: float | None = None,
) -> Summary:
    """Evaluate every event, report every decision and type mismatch, and return the totals.
    `until`: run the timers due by then after the last event."""
    summary = Summary()
    replaying = ReplayEngine(engine)
    counted = mismatch_counts()
    for record in records:
        summary.events += 1
        if progress is not None:
            progress.tick()
        if summary.events % SWEEP_EVERY == 0:
            engine.sweep()
        try:
            if record.error is not None:
                raise InvalidEvent(record.error)
            decisions = replaying.process(record.event, received_at, record.index)
        except InvalidEvent as exc:
            summary.invalid += 1
            if progress is not None:
                progress.clear()
            errors.write(f"{source}: {record.where}: error: {exc}\n")
            continue
        _report(decisions, report, summary, preview)
        now_counted = mismatch_counts()
        if now_counted != counted:
            moved = [rule for rule, n in now_counted.items() if n != counted.get(rule, 0)]
            _report_mismatches(engine, record, received_at, moved, report=report, summary=summary)
            counted = now_counted
    if until is not None:
        _report(replaying.run_until(until), report, summary, preview)
    if progress is not None:
        progress.clear()
    report.summary(summary)
    return summary


def _report(
    decisions: list[Decision], report: Report, summary: Summary, preview: Preview | None
) -> None:
    for decision in decisions:
        summary.add(decision)
        notifications = None
        if preview is not None:  # only a fired alert sends anything
            notifications = preview(decision.alert) if decision.alert is not None else []
        report.decision(decision, notifications)


def _report_mismatches(
    engine: Engine,
    record: EventRecord,
    received_at: float,
    rule_ids: list[str],
    *,
    report: Report,
    summary: Summary,
) -> None:
    """Explain the event on each of these rules (whose mismatch counters moved)."""
    event = record.event
    assert isinstance(event, dict)  # the engine accepted it
    time = engine.event_time(event, received_at)
    for rule_id in rule_ids:
        rule = engine.rules.by_id.get(rule_id)
        if rule is None:
            continue
        explanation = explain(rule, event)
        for mismatch in explanation.mismatches if explanation is not None else ():
            summary.type_mismatches += 1
            report.mismatch(record.index, time, rule_id, mismatch)
