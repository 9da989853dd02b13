"""`alertd test-rule RULES --events FILE`: replay recorded events, send nothing."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from alertd.cli import main


def safety(timestamp: object, severity: str = "critical", vehicle: str = "v1") -> str:
    event = {"type": "safety_event", "severity": severity, "vehicle_id": vehicle}
    return json.dumps({**event, "timestamp": timestamp}) + "\n"


EVENTS = (
    safety("2026-01-01T10:00:00Z")
    + safety("2026-01-01T10:02:00Z")
    + '{"type": "location_update", "vehicle_id": "v1", "timestamp": "2026-01-01T10:02:30Z"}\n'
    + safety(1767261780, severity="low")
    + safety("2026-01-01T11:05:00+01:00")
)


def run(workdir: Path, *args: str) -> int:
    return main(["test-rule", "-c", str(workdir / "alertd.toml"), *args])


def events_file(workdir: Path, text: str = EVENTS, name: str = "events.ndjson") -> str:
    path = workdir / name
    path.write_text(text)
    return str(path)


def test_the_text_table_shows_every_decision(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(workdir, str(workdir / "rules"), "--events", events_file(workdir)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "EVENT   TIME                      RULE  DECISION    KEY\n"
        "0       2026-01-01T10:00:00Z      crit  fired       v1\n"
        "0       2026-01-01T10:00:00Z      many  counting    v1  1 of 3 within 10m\n"
        "1       2026-01-01T10:02:00Z      crit  suppressed  v1  "
        "suppressed until 2026-01-01T10:05:00Z\n"
        "1       2026-01-01T10:02:00Z      many  counting    v1  2 of 3 within 10m\n"
        "3       2026-01-01T10:03:00Z      many  fired       v1  3 within 10m\n"
        "4       2026-01-01T10:05:00Z      crit  fired       v1  "
        "1 suppressed since the last alert\n"
        "4       2026-01-01T10:05:00Z      many  counting    v1  1 of 3 within 10m\n"
        "\n"
        "5 events: 3 fired, 1 suppressed, 3 counting\n"
    )


def test_json_prints_one_line_per_decision_then_a_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = str(workdir / "rules" / "safety.rules")
    assert run(workdir, rules, "--events", events_file(workdir), "--format", "json") == 0
    assert capsys.readouterr().out.splitlines() == [
        '{"event":0,"rule":"crit","decision":"fired","key":["v1"]}',
        '{"event":0,"rule":"many","decision":"counting","key":["v1"]}',
        '{"event":1,"rule":"crit","decision":"suppressed","key":["v1"]}',
        '{"event":1,"rule":"many","decision":"counting","key":["v1"]}',
        '{"event":3,"rule":"many","decision":"fired","key":["v1"]}',
        '{"event":4,"rule":"crit","decision":"fired","key":["v1"]}',
        '{"event":4,"rule":"many","decision":"counting","key":["v1"]}',
        '{"summary":{"events":5,"fired":3,"suppressed":1,"counting":3,"absorbed":0,"resolved":0,"type_mismatches":0}}',
    ]


def test_render_adds_the_notifications_each_decision_sends(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--events", events_file(workdir), "--format", "json", "--render"]
    assert run(workdir, str(workdir / "rules"), *args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert '"notifications":[]' in lines[1]  # counting sends nothing
    assert lines[0].startswith('{"event":0,"rule":"crit","decision":"fired","key":["v1"],')
    assert '"channel":"sms"' in lines[0] and '"channel":"email"' in lines[0]


def test_an_invalid_event_is_reported_and_skipped_and_the_exit_code_is_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_file(
        workdir,
        safety(None) + "{not json\n" + safety("soon") + "[1, 2]\n" + safety(None, vehicle="v2"),
    )
    assert run(workdir, str(workdir / "rules"), "--events", events, "--format", "json") == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{events}: event 1 (line 2): error: invalid JSON: unexpected character, "
        "expected a string key",
        f"{events}: event 2 (line 3): error: timestamp: 'soon' is not an ISO-8601 time such as "
        "2026-01-01T10:00:00Z, nor epoch seconds or milliseconds",
        f"{events}: event 3 (line 4): error: expected a JSON object, got an array",
    ]
    assert (
        out.splitlines()[-1]
        == '{"summary":{"events":5,"fired":2,"suppressed":0,"counting":2,"absorbed":0,'
        '"resolved":0,"type_mismatches":0}}'
    )


def test_events_arriving_out_of_order_are_placed_by_their_timestamps(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_file(
        workdir,
        safety("2026-01-01T10:04:00Z") + safety("2026-01-01T10:01:00Z"),
    )
    assert run(workdir, str(workdir / "rules"), "--events", events, "--format", "json") == 0
    out = capsys.readouterr().out
    assert '{"event":1,"rule":"crit","decision":"suppressed","key":["v1"]}' in out


def test_a_replay_takes_events_of_any_age_whatever_max_past_says(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replays run on event time: `[engine] max_past` guards the live intake only."""
    config = workdir / "alertd.toml"
    config.write_text(config.read_text() + '[engine]\nmax_past = "1h"\nmax_future = "1h"\n')
    events = events_file(workdir, safety(0) + safety("2020-02-29T12:00:00Z", vehicle="v2"))
    assert run(workdir, str(workdir / "rules"), "--events", events, "--format", "json") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '{"event":0,"rule":"crit","decision":"fired","key":["v1"]}'
    assert '{"event":1,"rule":"crit","decision":"fired","key":["v2"]}' in out


def test_events_are_read_from_stdin(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(EVENTS.encode())))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", stdin)
    assert run(workdir, str(workdir / "rules"), "--events", "-", "--format", "json") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith('{"summary":{"events":5,')


def test_yaml_events_with_unquoted_times(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_file(
        workdir,
        "- {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:00Z}\n"
        "- {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 10:01:00Z}\n"
        "- {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 1767261660}\n",
        name="events.yaml",
    )
    assert run(workdir, str(workdir / "rules"), "--events", events, "--format", "json") == 1
    out, err = capsys.readouterr()
    assert "event 1: error: timestamp: '10:01:00Z' is not an ISO-8601 time" in err
    assert '{"event":2,"rule":"crit","decision":"suppressed","key":["v1"]}' in out


def test_a_broken_rule_file_is_reported_with_its_location(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = workdir / "broken.rules"
    broken.write_text('rule oops {\n  name "Oops"\n  when severty ==\n  notify sms\n}\n')
    assert run(workdir, str(broken), "--events", events_file(workdir)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{broken}:4:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{rules}", "--events", "{workdir}/nope.ndjson"], "{workdir}/nope.ndjson: no such file"),
        (["{rules}/safety.rules"], "safety.rules is not a YAML rule test file; to replay events"),
        (["{workdir}/empty", "--events", "{events}"], "no rules found in {workdir}/empty"),
        (
            ["{rules}/safety.rules", "{workdir}/t.yaml", "--events", "{events}"],
            "{workdir}/t.yaml is a YAML rule test file: run it without --events",
        ),
    ],
)
def test_usage_errors_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (workdir / "empty").mkdir()
    (workdir / "t.yaml").write_text("rule_files: [rules/safety.rules]\ntests: []\n")
    names = {"workdir": workdir, "rules": workdir / "rules", "events": events_file(workdir)}
    assert run(workdir, *[arg.format(**names) for arg in args]) == 2
    assert message.format(**names) in capsys.readouterr().err


def test_an_events_file_that_cannot_be_parsed_at_all_exits_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_file(workdir, "[{]", name="events.json")
    assert run(workdir, str(workdir / "rules"), "--events", events) == 1
    assert f"{events}:1:3: invalid JSON" in capsys.readouterr().err


SPEEDING = """\
rule speeding {
  when     type == "location_update" and speed_kmh > 120
  suppress 10m by vehicle_id
  notify   slack
}
"""


def speed(value: object, vehicle: str = "v1") -> str:
    event = {"type": "location_update", "vehicle_id": vehicle, "speed_kmh": value}
    return json.dumps({**event, "timestamp": "2026-01-01T10:00:00Z"}) + "\n"


def test_a_type_mismatch_is_shown_in_the_table_and_counted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = workdir / "speed.rules"
    rules.write_text(SPEEDING)
    assert run(workdir, str(rules), "--events", events_file(workdir, speed("130"))) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "EVENT   TIME                      RULE      DECISION    KEY\n"
        "0       2026-01-01T10:00:00Z      speeding  mismatch    speed_kmh > 120: "
        'a string compared with a number (speed_kmh = "130")  '
        f"{rules}:2:42\n"
        "\n"
        "1 event: 0 fired, 0 suppressed, 0 counting; 1 type mismatch\n"
    )


def test_json_has_a_line_for_each_type_mismatch_and_counts_them(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = workdir / "speed.rules"
    rules.write_text(SPEEDING)
    events = events_file(workdir, speed("130") + speed(130, "v2") + speed(True, "v3"))
    assert run(workdir, str(rules), "--events", events, "--format", "json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mismatch = {
        "expression": "speed_kmh > 120",
        "at": f"{rules}:2:42",
        "problem": "a string compared with a number",
        "values": [
            {"expression": "speed_kmh", "value": "130", "kind": "string"},
            {"expression": "120", "value": 120, "kind": "number"},
        ],
    }
    assert lines[0] == {"event": 0, "rule": "speeding", "type_mismatch": mismatch}
    assert lines[1] == {"event": 1, "rule": "speeding", "decision": "fired", "key": ["v2"]}
    assert lines[2]["type_mismatch"]["problem"] == "a boolean compared with a number"
    assert lines[3] == {
        "summary": {
            "events": 3,
            "fired": 1,
            "suppressed": 0,
            "counting": 0,
            "absorbed": 0,
            "resolved": 0,
            "type_mismatches": 2,
        }
    }


def test_render_shows_each_notification_readably_in_the_table(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_file(workdir, safety("2026-01-01T10:00:00Z"))
    assert run(workdir, str(workdir / "rules"), "--events", events, "--render") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("0       2026-01-01T10:00:00Z      crit  fired       v1")
    sms = out.index("        sms to (no recipient configured)")
    assert out[sms + 1] == "          [URGENT] Critical Safety Event: v1 at 10:00 UTC"
    email = out.index("        email to fleet-managers@example.com")
    assert out[email + 1] == "          Subject: [URGENT] Critical Safety Event — v1"
    assert out[email + 2] == "          Critical Safety Event (urgent)"
    assert not any("<html" in line or '\\"' in line for line in out)  # no HTML, no escaped JSON
    assert out[-1] == "1 event: 1 fired, 0 suppressed, 1 counting"


def test_a_type_mismatch_of_a_previous_value_is_shown_as_with_explain(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The engine counts the mismatch of prev(fuel_level_pct) = "9" >= 10; the replay must show
    # it with the value the engine kept, not explain the event as if it had no previous one.
    rules = workdir / "fuel.rules"
    rules.write_text(
        "rule fuel_low {\n"
        '  when type == "vehicle_status" and fuel_level_pct < 10 and prev(fuel_level_pct) >= 10\n'
        "  by vehicle_id\n"
        "}\n"
    )
    stamps = ["2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z"]
    text = "".join(
        json.dumps({"type": "vehicle_status", "vehicle_id": "v1", "fuel_level_pct": level,
                    "timestamp": stamp}) + "\n"
        for level, stamp in zip(["9", 8], stamps, strict=True)
    )  # fmt: skip
    events = events_file(workdir, text)
    assert run(workdir, str(rules), "--events", events, "--format", "json") == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line.get("event"), line["type_mismatch"]["expression"]) for line in plain[:-1]] == [
        (0, "fuel_level_pct < 10"),
        (1, "prev(fuel_level_pct) >= 10"),
    ]
    assert plain[1]["type_mismatch"]["values"][0] == {
        "expression": "prev(fuel_level_pct)",
        "value": "9",
        "kind": "string",
    }
    assert plain[-1]["summary"]["type_mismatches"] == 2
    assert run(workdir, str(rules), "--events", events, "--format", "json", "--explain") == 0
    explained = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line for line in explained if "type_mismatch" in line and "decision" not in line] == (
        plain[:-1]
    )


def test_the_absent_example_of_the_docs_is_what_a_replay_prints(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/testing-rules.md shows this replay; a fleet manager compares it with their own.
    rules = workdir / "silent.rules"
    rules.write_text(
        'rule vehicle_silent { when type == "location_update"  absent 15m by vehicle_id }'
    )
    text = "".join(
        json.dumps({"type": "location_update", "vehicle_id": vehicle,
                    "timestamp": f"2026-01-05T10:{minute}:00Z"}) + "\n"
        for vehicle, minute in [("v1", "00"), ("v2", "05"), ("v1", "30")]
    )  # fmt: skip
    until = "2026-01-05T11:00:00Z"
    assert run(workdir, str(rules), "--events", events_file(workdir, text), "--until", until) == 0
    out = capsys.readouterr().out
    docs = Path(__file__).resolve().parents[2] / "docs" / "testing-rules.md"
    assert out in docs.read_text()
