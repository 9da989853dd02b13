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
(alertd.dsl.explain) and every mismatch found is reported. Events without one cost nothing more,
but for rules with prev(): the values they kept are read before each event of their scope (the
engine moves them on), so that a mismatch of `prev(x)` is explained with the value it met.

With `explain`, every rule of each event's scope is explained (alertd.engine.verdicts): the
decisions as usual, in file order, and a no-match for each rule whose condition did not hold,
saying why. That interprets every candidate rule on every event, so it is kept for when asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from alertd.dsl import mismatch_counts
from alertd.dsl.event_types import TYPE_FIELD
from alertd.dsl.explain import explain
from alertd.engine.details import Detail
from alertd.engine.engine import Engine
from alertd.engine.errors import InvalidEvent
from alertd.engine.verdicts import previous_values, verdicts
from alertd.eventschema import EventSchema, event_problems
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
    explain: bool = False,
    until: float | None = None,
    schema: EventSchema | None = None,
) -> Summary:
    """Evaluate every event, report every decision and type mismatch (with `explain`, every
    no-match too; with `schema`, on the error stream, how each event breaks it), and return
    the totals. `until`: after the last event, run the timers due by then."""
    summary = Summary()
    replaying = ReplayEngine(engine)
    counted = mismatch_counts()
    reads_previous = any(
        rule.sequence is not None and rule.sequence.size for rule in engine.rules.by_id.values()
    )
    for record in records:
        summary.events += 1
        if progress is not None:
            progress.tick()
        if summary.events % SWEEP_EVERY == 0:
            engine.sweep()
        previous: dict[str, tuple[Any, ...] | None] = {}
        try:
            if record.error is not None:
                raise InvalidEvent(record.error)
            if explain or reads_previous:  # what prev() reads, before the engine moves it on
                time = engine.event_time(record.event, received_at)
                assert isinstance(record.event, dict)  # event_time accepted it
                previous = previous_values(engine.rules, engine.store, record.event, time)
            decisions = replaying.process(record.event, received_at, record.index)
        except InvalidEvent as exc:
            summary.invalid += 1
            if progress is not None:
                progress.clear()
            errors.write(f"{source}: {record.where}: error: {exc}\n")
            continue
        if schema is not None:
            assert isinstance(record.event, dict)  # the engine accepted it
            problems = event_problems(schema, record.event)
            if problems:
                summary.off_schema += 1
                if progress is not None:
                    progress.clear()
                for problem in problems:
                    errors.write(f"{source}: {record.where}: error: {problem}\n")
        if explain:
            for timer in [d for d in decisions if d.event_index is None]:  # before the event
                _decision(timer, report, summary, preview)
            _explain(
                engine,
                record,
                received_at,
                decisions,
                previous,
                report=report,
                summary=summary,
                preview=preview,
            )
            counted = mismatch_counts()
            continue
        for decision in decisions:
            _decision(decision, report, summary, preview)
        now_counted = mismatch_counts()
        if now_counted != counted:
            moved = [rule for rule, n in now_counted.items() if n != counted.get(rule, 0)]
            _report_mismatches(
                engine, record, received_at, moved, previous, report=report, summary=summary
            )
            counted = now_counted
    if until is not None:
        for decision in replaying.run_until(until):
            _decision(decision, report, summary, preview)
    if progress is not None:
        progress.clear()
    report.summary(summary)
    return summary


def _decision(
    decision: Decision,
    report: Report,
    summary: Summary,
    preview: Preview | None,
    shown: Sequence[Detail] | None = None,
) -> None:
    summary.add(decision)
    notifications = None
    if preview is not None:  # only a fired alert sends anything
        notifications = preview(decision.alert) if decision.alert is not None else []
    report.decision(decision, notifications, shown)


def _explain(
    engine: Engine,
    record: EventRecord,
    received_at: float,
    decisions: list[Decision],
    previous: dict[str, tuple[Any, ...] | None],
    *,
    report: Report,
    summary: Summary,
    preview: Preview | None,
) -> None:
    """Every rule of the event's scope, in file order: its decision or why it did not match;
    then the type mismatches met on the way."""
    event = record.event
    assert isinstance(event, dict)  # the engine accepted it
    time = engine.event_time(event, received_at)
    found = verdicts(
        engine.rules,
        event,
        record.index,
        time,
        decisions,
        store=engine.store,
        previous=previous,
    )
    if not found:
        report.no_rules(record.index, time, event.get(TYPE_FIELD))
    for verdict in found:
        if verdict.source is not None:
            _decision(verdict.source, report, summary, preview, verdict.details)
        else:
            summary.no_match += 1
            report.no_match(verdict)
    for verdict in found:
        for mismatch in verdict.mismatches:
            summary.type_mismatches += 1
            report.mismatch(record.index, time, verdict.rule_id, mismatch)


def _report_mismatches(
    engine: Engine,
    record: EventRecord,
    received_at: float,
    rule_ids: list[str],
    previous: dict[str, tuple[Any, ...] | None],
    *,
    report: Report,
    summary: Summary,
) -> None:
    """Explain the event on each of these rules (whose mismatch counters moved), a rule with
    prev() on the values it had kept before the event (`previous`)."""
    event = record.event
    assert isinstance(event, dict)  # the engine accepted it
    time = engine.event_time(event, received_at)
    for rule_id in rule_ids:
        rule = engine.rules.by_id.get(rule_id)
        if rule is None:
            continue
        explanation = explain(rule, event, previous.get(rule_id))
        for mismatch in explanation.mismatches if explanation is not None else ():
            summary.type_mismatches += 1
            report.mismatch(record.index, time, rule_id, mismatch)
