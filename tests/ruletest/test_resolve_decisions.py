# ruff: noqa: E501 - expected output is compared whole, one line per line
"""`absorbed` and `resolved` in `alertd test-rule`: the table, JSON lines, timers on event time
(`--until`), and rule unit tests that expect them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertd.cli import main

RULE = """\
rule breakdown {
  when     type == "breakdown"
  by       vehicle_id
  resolve when type == "vehicle_status" and status == "operational"
  resolve after 30m
  notify   sms
}
"""


def breakdown(vehicle: str, at: str) -> dict[str, str]:
    return {"type": "breakdown", "vehicle_id": vehicle, "timestamp": f"2026-01-05T{at}Z"}


def operational(vehicle: str, at: str) -> dict[str, str]:
    return {"type": "vehicle_status", "vehicle_id": vehicle, "status": "operational",
            "timestamp": f"2026-01-05T{at}Z"}  # fmt: skip


EVENTS = [
    breakdown("v1", "10:00:00"),
    breakdown("v1", "10:05:00"),
    breakdown("v2", "10:06:00"),
    operational("v1", "10:20:00"),
    # v2's alert has seen no match for 30 minutes at 10:36: its timer runs before this event
    breakdown("v1", "10:40:00"),
]


@pytest.fixture
def rules(workdir: Path) -> Path:
    path = workdir / "rules" / "vehicle.rules"
    path.write_text(RULE)
    return path


def run(workdir: Path, *args: str) -> int:
    return main(["test-rule", "-c", str(workdir / "alertd.toml"), *args])


def events_file(workdir: Path) -> str:
    path = workdir / "events.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in EVENTS))
    return str(path)


def test_the_table_shows_absorbed_and_resolved_and_a_timers_row_has_no_event(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, str(rules), "--events", events_file(workdir)) == 0
    assert capsys.readouterr().out == (
        "EVENT   TIME                      RULE       DECISION    KEY\n"
        "0       2026-01-05T10:00:00Z      breakdown  fired       v1\n"
        "1       2026-01-05T10:05:00Z      breakdown  absorbed    v1  folded into the open alert of its key\n"
        "2       2026-01-05T10:06:00Z      breakdown  fired       v2\n"
        '3       2026-01-05T10:20:00Z      breakdown  resolved    v1  resolve when type == "vehicle_status" and status == "operational"\n'
        "-       2026-01-05T10:36:00Z      breakdown  resolved    v2  no match for 30m (resolve after)\n"
        "4       2026-01-05T10:40:00Z      breakdown  fired       v1\n"
        "\n"
        "5 events: 3 fired, 0 suppressed, 0 counting, 1 absorbed, 2 resolved\n"
    )


def test_json_gives_a_timers_decision_no_event_and_its_time_and_until_runs_the_clock_on(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = (str(rules), "--events", events_file(workdir), "--format", "json")
    assert run(workdir, *args, "--until", "2026-01-05T11:10:00Z") == 0
    assert capsys.readouterr().out.splitlines() == [
        '{"event":0,"rule":"breakdown","decision":"fired","key":["v1"]}',
        '{"event":1,"rule":"breakdown","decision":"absorbed","key":["v1"]}',
        '{"event":2,"rule":"breakdown","decision":"fired","key":["v2"]}',
        '{"event":3,"rule":"breakdown","decision":"resolved","key":["v1"]}',
        '{"event":null,"rule":"breakdown","decision":"resolved","key":["v2"],"at":"2026-01-05T10:36:00Z"}',
        '{"event":4,"rule":"breakdown","decision":"fired","key":["v1"]}',
        # 30 minutes after the last event, at the very end of --until: it runs
        '{"event":null,"rule":"breakdown","decision":"resolved","key":["v1"],"at":"2026-01-05T11:10:00Z"}',
        '{"summary":{"events":5,"fired":3,"suppressed":0,"counting":0,"absorbed":1,"resolved":3,"type_mismatches":0}}',
    ]
    assert run(workdir, *args, "--until", "2026-01-05T11:09:59Z") == 0
    assert '"at":"2026-01-05T11:10:00Z"' not in capsys.readouterr().out


def test_until_must_be_a_time(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, str(rules), "--events", events_file(workdir), "--until", "soon") == 2
    assert "alertd test-rule: error: --until: " in capsys.readouterr().err


UNIT_TESTS = """\
rule_files: [rules/vehicle.rules]
tests:
  - name: a breakdown pages once and resolves when the vehicle is operational again
    events:
      - {type: breakdown, vehicle_id: v1, timestamp: 2026-01-05T10:00:00Z}
      - {type: breakdown, vehicle_id: v1, timestamp: 2026-01-05T10:05:00Z}
      - {type: vehicle_status, vehicle_id: v1, status: operational, timestamp: 2026-01-05T10:20:00Z}
    expect:
      - {event: 0, rule: breakdown, decision: fired, key: [v1]}
      - {event: 1, rule: breakdown, decision: absorbed}
      - {event: 2, rule: breakdown, decision: resolved, key: [v1]}
  - name: a quiet vehicle resolves after 30 minutes
    events:
      - {type: breakdown, vehicle_id: v2, timestamp: 2026-01-05T10:00:00Z}
    until: 2026-01-05T11:00:00Z
    expect:
      - {event: 0, rule: breakdown, decision: fired}
      - {at: 2026-01-05T10:30:00Z, rule: breakdown, decision: resolved, key: [v2]}
"""


def test_unit_tests_expect_absorbed_and_resolved_and_a_timers_decision_by_its_time(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "vehicle_test.yaml"
    path.write_text(UNIT_TESTS)
    assert run(workdir, str(path)) == 0
    assert capsys.readouterr().out.endswith("2 tests in 1 file: 2 passed, 0 failed\n")


def test_an_unlisted_absorbed_or_resolved_decision_fails_the_test(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "vehicle_test.yaml"
    path.write_text(
        UNIT_TESTS.replace("      - {event: 1, rule: breakdown, decision: absorbed}\n", "")
        .replace(
            "      - {at: 2026-01-05T10:30:00Z, rule: breakdown, decision: resolved, key: [v2]}\n",
            "",
        )
        .replace("decision: resolved, key: [v1]", "decision: resolved, key: [v9]")
    )
    assert run(workdir, str(path)) == 1
    out = capsys.readouterr().out
    assert "event 1, rule breakdown: absorbed (key v1), not expected" in out
    assert 'event 2, rule breakdown: expected key ["v9"], got ["v1"]' in out
    assert "at 2026-01-05T10:30:00Z, rule breakdown: resolved (key v2), not expected" in out


def test_a_timers_expectation_needs_a_time_and_a_timers_decision(
    workdir: Path, rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "vehicle_test.yaml"
    path.write_text(
        UNIT_TESTS.replace(
            "{at: 2026-01-05T10:30:00Z, rule: breakdown, decision: resolved",
            "{at: half past, rule: breakdown, decision: suppressed",
        ).replace(
            "{event: 0, rule: breakdown, decision: fired}",
            "{event: 0, at: 2026-01-05T10:30:00Z, rule: breakdown, decision: resolved}",
        )
    )
    assert run(workdir, str(path)) == 1
    out = capsys.readouterr().out
    assert (
        "expect[0]: give either event (a decision of that event) or at (a timer's), not both" in out
    )
    assert "expect[1]: at: 'half past' is not an ISO-8601 time" in out
    assert (
        "expect[1]: at: only a resolved decision (resolve after) or a fired one (absent) is made"
        " by a timer" in out
    )
