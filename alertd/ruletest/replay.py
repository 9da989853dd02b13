"""Replaying recorded events through rules: the same engine as the daemon, a memory store,
nothing sent.

Events go through in file order (the order they arrived in), each placed in its windows by its
own timestamp, exactly as the daemon does with a live stream. Events without a timestamp are
taken as arriving together when the replay starts. An invalid event is reported on the error
stream with its index and skipped; the replay goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from alertd.engine.engine import Engine
from alertd.engine.errors import InvalidEvent
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
) -> Summary:
    """Evaluate every event, report every decision, and return the totals."""
    summary = Summary()
    for record in records:
        summary.events += 1
        if progress is not None:
            progress.tick()
        if summary.events % SWEEP_EVERY == 0:
            engine.sweep()
        try:
            if record.error is not None:
                raise InvalidEvent(record.error)
            decisions = engine.process(record.event, received_at, record.index)
        except InvalidEvent as exc:
            summary.invalid += 1
            if progress is not None:
                progress.clear()
            errors.write(f"{source}: {record.where}: error: {exc}\n")
            continue
        for decision in decisions:
            summary.add(decision)
            notifications = None
            if preview is not None:  # only a fired alert sends anything
                notifications = preview(decision.alert) if decision.alert is not None else []
            report.decision(decision, notifications)
    if progress is not None:
        progress.clear()
    report.summary(summary)
    return summary
