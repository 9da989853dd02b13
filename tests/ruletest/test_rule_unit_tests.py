"""`alertd test-rule TESTS.yaml`: rule unit tests, the analogue of `promtool test rules`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertd.cli import main

PASSING = """\
rule_files: [rules/safety.rules]
tests:
  - name: repeated critical events page once per 5 minutes
    events:
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:00:00Z}
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:02:00Z}
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:05:00Z}
    expect:
      - {event: 0, rule: crit, decision: fired, key: [v1]}
      - {event: 1, rule: crit, decision: suppressed}
      - {event: 2, rule: many, decision: fired}
      - {event: 2, rule: crit, decision: fired, suppressed_count: 1}
  - name: counting is checked only where listed
    events:
      - {type: safety_event, severity: low, vehicle_id: v1}
      - {type: safety_event, severity: low, vehicle_id: v1}
    expect:
      - {event: 1, rule: many, decision: counting}
"""


def run(workdir: Path, *args: str) -> int:
    return main(["test-rule", "-c", str(workdir / "alertd.toml"), *args])


def write(workdir: Path, text: str, name: str = "safety_test.yaml") -> Path:
    path = workdir / name
    path.write_text(text)
    return path


def test_a_passing_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(workdir, PASSING)
    assert run(workdir, str(path)) == 0
    assert capsys.readouterr().out == (
        f"{path}\n"
        "  ok    repeated critical events page once per 5 minutes\n"
        "  ok    counting is checked only where listed\n"
        "\n"
        "2 tests in 1 file: 2 passed, 0 failed\n"
    )


def test_failures_say_what_was_expected_and_what_happened(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        workdir,
        """\
rule_files: [rules/safety.rules]
tests:
  - name: over-alerting and silence are both caught
    events:
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:00:00Z}
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:06:00Z}
      - {type: safety_event, severity: low, vehicle_id: v2, timestamp: 2026-01-01T10:07:00Z}
      - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: yesterday}
    expect:
      - {event: 0, rule: crit, decision: fired, key: [v2]}
      - {event: 1, rule: many, decision: fired}
      - {event: 2, rule: crit, decision: fired}
""",
    )
    assert run(workdir, str(path)) == 1
    assert capsys.readouterr().out == (
        f"{path}\n"
        "  FAIL  over-alerting and silence are both caught\n"
        "          event 3: invalid event: timestamp: 'yesterday' is not an ISO-8601 time such"
        " as 2026-01-01T10:00:00Z, nor epoch seconds or milliseconds\n"
        '          event 0, rule crit: expected key ["v2"], got ["v1"]\n'
        "          event 1, rule many: expected fired, got counting (2 in the window) (key v1)\n"
        "          event 2, rule crit: expected fired, got no decision (the rule did not match)\n"
        "          event 1, rule crit: fired (key v1), not expected\n"
        "\n"
        "1 test in 1 file: 0 passed, 1 failed\n"
    )


def test_a_wrong_suppressed_count_fails(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(workdir, PASSING.replace("suppressed_count: 1", "suppressed_count: 3"))
    assert run(workdir, str(path)) == 1
    assert "event 2, rule crit: expected suppressed_count 3, got 1" in capsys.readouterr().out


def test_every_problem_in_a_test_file_is_listed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        workdir,
        """\
rule_files: [rules/safety.rules]
test: []
tests:
  - name: first
    events: [{type: safety_event}]
    expect:
      - {event: 1, rule: crit, decision: fire}
      - {event: 0, rulee: crit, decision: counting, suppressed_count: 2}
  - events: []
""",
    )
    assert run(workdir, str(path)) == 1
    assert capsys.readouterr().out == (
        f"{path}\n"
        "  error: unknown key 'test' (did you mean 'tests'?)\n"
        "  error: tests[0] 'first': expect[0]: event: expected the index of one of the test's "
        "events, 0 to 0, got 1\n"
        "  error: tests[0] 'first': expect[0]: decision: expected fired, suppressed, counting, "
        'absorbed or resolved, got "fire"\n'
        "  error: tests[0] 'first': expect[1]: unknown key 'rulee' (did you mean 'rule'?)\n"
        "  error: tests[0] 'first': expect[1]: rule: expected a rule id, got nothing\n"
        "  error: tests[0] 'first': expect[1]: suppressed_count: only a fired decision carries "
        "one\n"
        "  error: tests[1]: name: expected the test's name\n"
        "  error: tests[1]: events: the list is empty; a test needs at least one event\n"
        "\n"
        "0 tests in 1 file: 0 passed, 0 failed; 1 file could not run\n"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rule_files: []\ntests: [{name: t, events: [{}]}]\n", "rule_files: the list is empty"),
        ("rule_files: [rules/safety.rules]\ntests: []\n", "tests: the list is empty; a test "),
        ("rule_files: [rules/safety.rules]\n", "tests: expected a list of tests"),
        ("rule_files: [rules/safety.rules]\ntests: {name: t}\n", "tests: expected a list of"),
        ("rule_files: [7]\ntests: [{name: t, events: [{}]}]\n", "rule_files: expected a list"),
    ],
)
def test_an_empty_list_is_called_empty_and_a_missing_one_missing(
    workdir: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = write(workdir, text)
    assert run(workdir, str(path)) == 1
    assert f"  error: {problem}" in capsys.readouterr().out


def test_an_unknown_rule_id_gets_a_suggestion(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(workdir, PASSING.replace("rule: many", "rule: mani"))
    assert run(workdir, str(path)) == 1
    assert (
        "error: tests[0] 'repeated critical events page once per 5 minutes': expect[2]: rule: "
        "no rule 'mani' in the rule files (did you mean 'many'?)"
    ) in capsys.readouterr().out


def test_a_broken_rule_file_stops_its_test_file_with_the_rule_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "rules" / "safety.rules").write_text("rule crit {\n  when\n}\n")
    path = write(workdir, PASSING)
    assert run(workdir, str(path)) == 1
    out = capsys.readouterr().out
    assert f"  error: {workdir}/rules/safety.rules:" in out
    assert out.endswith("0 tests in 1 file: 0 passed, 0 failed; 1 file could not run\n")


def test_a_folder_runs_every_yaml_file_in_it_and_json_reports_each_test(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = workdir / "tests"
    folder.mkdir()
    write(folder, PASSING.replace("rules/", "../rules/"), "a_test.yaml")
    write(
        folder,
        PASSING.replace("rules/", "../rules/").replace("fired, key", "counting, key"),
        "b_test.yml",
    )
    assert run(workdir, str(folder), "--format", "json") == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line.get("file"), line.get("passed")) for line in lines] == [
        (str(folder / "a_test.yaml"), True),
        (str(folder / "a_test.yaml"), True),
        (str(folder / "b_test.yml"), False),
        (str(folder / "b_test.yml"), True),
        (None, None),
    ]
    assert lines[2]["failures"] == ["event 0, rule crit: expected counting, got fired (key v1)"]
    assert lines[-1] == {"summary": {"tests": 4, "passed": 3, "failed": 1, "errors": 0}}


def test_render_is_only_for_replays(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(workdir, str(write(workdir, PASSING)), "--render") == 2
    assert "--render shows the notifications of a replay" in capsys.readouterr().err


def test_a_rule_that_did_not_match_shows_the_type_mismatches_it_met(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        workdir,
        """\
rule_files: [rules/safety.rules]
tests:
  - name: severity sent as a number
    events:
      - {type: safety_event, severity: 3, vehicle_id: v1}
    expect:
      - {event: 0, rule: crit, decision: fired}
""",
    )
    assert run(workdir, str(path)) == 1
    assert capsys.readouterr().out == (
        f"{path}\n"
        "  FAIL  severity sent as a number\n"
        "          event 0, rule crit: expected fired, got no decision (the rule did not match)\n"
        '            type mismatch: severity == "critical": a number compared with a string'
        " (severity = 3)\n"
        "\n"
        "1 test in 1 file: 0 passed, 1 failed\n"
    )


def test_a_for_rule_counting_says_how_long_it_held(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "rules" / "hot.rules").write_text(
        'rule hot {\n  when type == "engine" and coolant_c > 110\n  by vehicle_id\n  for 2m\n}\n'
    )
    path = write(
        workdir,
        """\
rule_files: [rules/hot.rules]
tests:
  - name: hot for two minutes
    events:
      - {type: engine, coolant_c: 115, vehicle_id: v1, timestamp: 2026-01-01T10:00:00Z}
      - {type: engine, coolant_c: 116, vehicle_id: v1, timestamp: 2026-01-01T10:01:30Z}
    expect:
      - {event: 1, rule: hot, decision: fired}
""",
        "hot_test.yaml",
    )
    assert run(workdir, str(path)) == 1
    assert (
        "event 1, rule hot: expected fired, got counting (held for 1m30s) (key v1)"
        in capsys.readouterr().out
    )
