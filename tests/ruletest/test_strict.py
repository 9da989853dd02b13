"""`alertd test-rule RULES --events FILE --strict`: the events that break the event schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertd.cli import main

SCHEMA = """\
"*": {type: string, timestamp: time, vehicle_id: string}
safety_event: {severity: string}
"""

EVENTS = (
    '{"type": "safety_event", "severity": "critical", "vehicle_id": "v1", '
    '"timestamp": "2026-01-01T10:00:00Z"}\n'
    '{"type": "safety_event", "severity": 5, "vehicle": "v1", '
    '"timestamp": "2026-01-01T10:01:00Z"}\n'
    '{"type": "safety_evnt", "timestamp": "2026-01-01T10:02:00Z"}\n'
)


def run(workdir: Path, *args: str) -> int:
    (workdir / "events.ndjson").write_text(EVENTS)
    rules, events = str(workdir / "rules"), str(workdir / "events.ndjson")
    return main(["test-rule", "-c", str(workdir / "alertd.toml"), rules, "--events", events, *args])


def with_schema(workdir: Path) -> None:
    (workdir / "events.yaml").write_text(SCHEMA)
    config = workdir / "alertd.toml"
    config.write_text(config.read_text().replace("[rules]\n", '[rules]\nschema = "events.yaml"\n'))


def test_strict_reports_each_event_that_breaks_the_schema_and_exits_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_schema(workdir)
    assert run(workdir, "--strict") == 1
    out, err = capsys.readouterr()
    events, schema = workdir / "events.ndjson", workdir / "events.yaml"
    assert err == (
        f"{events}: event 1 (line 2): error: field 'severity' is a number, but the schema says "
        f"string ({schema}:2:26)\n"
        f"{events}: event 1 (line 2): error: field 'vehicle' is not in the schema for "
        "'safety_event' events (did you mean 'vehicle_id'?)\n"
        f"{events}: event 2 (line 3): error: event type 'safety_evnt' is not in the schema "
        f"{schema} (did you mean 'safety_event'?)\n"
    )
    # The events are replayed all the same.
    assert out.splitlines()[1].split() == ["0", "2026-01-01T10:00:00Z", "crit", "fired", "v1"]
    assert out.endswith("; 2 events off the schema\n")


def test_strict_json_counts_them_in_the_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_schema(workdir)
    assert run(workdir, "--strict", "--format", "json") == 1
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]
    assert summary["off_schema"] == 2


def test_a_broken_schema_file_is_its_error_and_nothing_is_replayed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_schema(workdir)
    (workdir / "events.yaml").write_text('"*": {type: string}\nsafety_event: {severity: [a]}\n')
    assert run(workdir, "--strict") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"{workdir / 'events.yaml'}:2:26: error: field 'severity': expected a kind"
    )


def test_strict_needs_a_schema(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(workdir, "--strict") == 2
    assert "--strict holds events to the event schema" in capsys.readouterr().err
