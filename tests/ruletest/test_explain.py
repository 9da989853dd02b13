"""`alertd test-rule RULES --events FILE --explain`: for every event, every rule of its scope,
and why it fired or did not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.engine import details
from alertd.engine.details import Detail
from alertd.model import Decision, Rule

VEHICLE_RULES = """\
macro location_update = type == "location_update"

rule breakdown {
  when type == "breakdown"
       or (location_update and speed_kmh == 0 and engine_on == false)
  suppress 10m by vehicle_id
}

rule speeding {
  when location_update and speed_kmh > 120
}
"""


def event(type_: str, minute: int, **fields: object) -> str:
    stamp = f"2026-01-01T10:{minute:02d}:00Z"
    return json.dumps({"type": type_, "vehicle_id": "v1", **fields, "timestamp": stamp}) + "\n"


EVENTS = (
    event("safety_event", 0, severity="critical")
    + event("safety_event", 1, severity="low")
    + event("safety_event", 2, severity="critical")
    + event("location_update", 3, speed_kmh=50, engine_on=True)
    + event("location_update", 4, speed_kmh="130")
    + event("trip_update", 5)
)


def run(workdir: Path, *args: str) -> int:
    (workdir / "rules" / "vehicle.rules").write_text(VEHICLE_RULES)
    (workdir / "events.ndjson").write_text(EVENTS)
    rules, events = str(workdir / "rules"), str(workdir / "events.ndjson")
    return main(["test-rule", "-c", str(workdir / "alertd.toml"), rules, "--events", events, *args])


def test_the_table_says_for_every_rule_of_each_event_why_it_fired_or_not(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, "--explain") == 0
    out, err = capsys.readouterr()
    assert err == ""
    rules = workdir / "rules"
    safety, vehicle = rules / "safety.rules", rules / "vehicle.rules"
    indent = " " * 59
    assert out == (
        "EVENT   TIME                      RULE       DECISION    KEY / WHY NOT\n"
        "0       2026-01-01T10:00:00Z      crit       fired       v1\n"
        "0       2026-01-01T10:00:00Z      many       counting    v1  1 of 3 within 10m\n"
        "1       2026-01-01T10:01:00Z      crit       no match    "
        f'severity == "critical" is false (severity = "low")  {safety}:3:39\n'
        "1       2026-01-01T10:01:00Z      many       counting    v1  2 of 3 within 10m\n"
        "2       2026-01-01T10:02:00Z      crit       suppressed  v1  "
        "suppressed until 2026-01-01T10:05:00Z\n"
        "2       2026-01-01T10:02:00Z      many       fired       v1  3 within 10m\n"
        "3       2026-01-01T10:03:00Z      breakdown  no match    none of 2 alternatives held:\n"
        f'{indent}type == "breakdown" is false (type = "location_update")  {vehicle}:4:8\n'
        f"{indent}speed_kmh == 0 is false (speed_kmh = 50)  {vehicle}:5:32\n"
        "3       2026-01-01T10:03:00Z      speeding   no match    "
        f"speed_kmh > 120 is false (speed_kmh = 50)  {vehicle}:10:28\n"
        "4       2026-01-01T10:04:00Z      breakdown  no match    none of 2 alternatives held:\n"
        f'{indent}type == "breakdown" is false (type = "location_update")  {vehicle}:4:8\n'
        f'{indent}speed_kmh == 0: a string compared with a number (speed_kmh = "130")'
        f"  {vehicle}:5:32\n"
        "4       2026-01-01T10:04:00Z      speeding   no match    "
        f'speed_kmh > 120: a string compared with a number (speed_kmh = "130")  {vehicle}:10:28\n'
        "5       2026-01-01T10:05:00Z      -          -           "
        'no rule looks at events of type "trip_update"\n'
        "\n"
        "6 events: 2 fired, 1 suppressed, 2 counting, 5 no match; 2 type mismatches\n"
    )


def test_json_adds_a_no_match_record_and_window_state_to_every_decision(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, "--explain", "--format", "json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    vehicle = str(workdir / "rules" / "vehicle.rules")
    assert lines[:6] == [
        {"event": 0, "rule": "crit", "decision": "fired", "key": ["v1"]},
        {"event": 0, "rule": "many", "decision": "counting", "key": ["v1"],
         "window": "1 of 3 within 10m"},
        {"event": 1, "rule": "crit", "decision": "no_match", "failed": 'severity == "critical"',
         "at": f"{workdir / 'rules' / 'safety.rules'}:3:39", "values": {"severity": "low"}},
        {"event": 1, "rule": "many", "decision": "counting", "key": ["v1"],
         "window": "2 of 3 within 10m"},
        {"event": 2, "rule": "crit", "decision": "suppressed", "key": ["v1"],
         "suppressed_until": "2026-01-01T10:05:00Z"},
        {"event": 2, "rule": "many", "decision": "fired", "key": ["v1"],
         "window": "3 of 3 within 10m"},
    ]  # fmt: skip
    breakdown_type = {
        "failed": 'type == "breakdown"',
        "at": f"{vehicle}:4:8",
        "values": {"type": "location_update"},
    }
    assert lines[6] == {
        "event": 3,
        "rule": "breakdown",
        "decision": "no_match",
        **breakdown_type,
        "alternatives": [
            breakdown_type,
            {"failed": "speed_kmh == 0", "at": f"{vehicle}:5:32", "values": {"speed_kmh": 50}},
        ],
    }
    assert lines[9] == {
        "event": 4,
        "rule": "speeding",
        "decision": "no_match",
        "failed": "speed_kmh > 120",
        "at": f"{vehicle}:10:28",
        "values": {"speed_kmh": "130"},
        "type_mismatch": "a string compared with a number",
    }
    # The mismatches are also reported as such, as without --explain.
    assert [line["type_mismatch"]["expression"] for line in lines[10:12]] == [
        "speed_kmh == 0",
        "speed_kmh > 120",
    ]
    assert lines[12:] == [
        {"summary": {"events": 6, "fired": 2, "suppressed": 1, "counting": 2, "absorbed": 0,
                     "resolved": 0, "type_mismatches": 2, "no_match": 5}}
    ]  # fmt: skip


def test_without_explain_the_output_is_as_it_was(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, "--format", "json") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == '{"event":0,"rule":"many","decision":"counting","key":["v1"]}'
    assert not any('"no_match"' in line for line in lines)


def test_a_rule_kind_shows_its_state_through_a_detail_hook(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def held(rule: Rule, decision: Decision, store: object) -> list[Detail]:
        if rule.id != "many":
            return []
        return [Detail("held", "1m20s of 2m", "held for 1m20s of 2m")]

    monkeypatch.setattr(details, "DETAIL_HOOKS", [*details.DETAIL_HOOKS, held])
    assert run(workdir, "--explain", "--format", "json") == 0
    first_many = json.loads(capsys.readouterr().out.splitlines()[1])
    assert first_many["held"] == "1m20s of 2m"
    assert run(workdir, "--explain") == 0
    assert "v1  1 of 3 within 10m; held for 1m20s of 2m\n" in capsys.readouterr().out


def test_explain_needs_events(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "t.yaml").write_text("rule_files: []\ntests: []\n")
    assert main(["test-rule", "-c", str(workdir / "alertd.toml"), str(workdir / "t.yaml"),
                 "--explain"]) == 2  # fmt: skip
    assert "--explain explains the events of a replay" in capsys.readouterr().err


def test_prev_is_explained_with_the_value_the_engine_kept_before_the_event(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "rules" / "fuel.rules").write_text(
        "rule fuel_low {\n"
        '  when type == "vehicle_status" and fuel_level_pct < 10 and prev(fuel_level_pct) >= 10\n'
        "  by vehicle_id\n"
        "}\n"
    )
    levels = [12, 9, 8]
    (workdir / "fuel.ndjson").write_text(
        "".join(event("vehicle_status", minute, fuel_level_pct=level)
                for minute, level in enumerate(levels))
    )  # fmt: skip
    rules, events = str(workdir / "rules" / "fuel.rules"), str(workdir / "fuel.ndjson")
    config = str(workdir / "alertd.toml")
    args = ["test-rule", "-c", config, rules, "--events", events, "--explain", "--format", "json"]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line.get("decision"), line.get("failed"), line.get("values")) for line in lines] == [
        ("no_match", "fuel_level_pct < 10", {"fuel_level_pct": 12}),
        ("fired", None, None),
        ("no_match", "prev(fuel_level_pct) >= 10", {"prev(fuel_level_pct)": 9}),
        (None, None, None),  # the summary
    ]
