"""`alertd check` checks the on-call file, and the rules' oncall: and person: recipients."""

from pathlib import Path

import pytest

from alertd.cli import main

ROOT = Path(__file__).resolve().parents[2]

ONCALL = """\
[people.alice]
sms = "+15550100"

[schedules.fleet_ops]
time_zone = "Europe/Amsterdam"
[[schedules.fleet_ops.rotations]]
members = ["alice"]
shift = "1w"
start = "2026-10-19T09:00"
"""


def setup(tmp_path: Path, rules: str, oncall: str | None = ONCALL) -> str:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(rules)
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[rules]\ntemplates = "{ROOT / "templates"}"\n'
        + ('[oncall]\npath = "oncall.toml"\n' if oncall is not None else "")
    )
    if oncall is not None:
        (tmp_path / "oncall.toml").write_text(oncall)
    return str(config)


def run(capsys: pytest.CaptureFixture[str], config: str) -> tuple[int, str, str]:
    code = main(["check", "-c", config])
    out, err = capsys.readouterr()
    return code, out, err


RULE = "rule a {\n  when type == 'x'\n  notify sms(oncall:fleet_ops), email(person:alice)\n}\n"


def test_rules_may_page_whoever_is_on_call_and_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, setup(tmp_path, RULE))
    assert (code, err) == (0, "")
    assert out == (
        "1 rule in 1 file OK\n"
        f"{tmp_path / 'oncall.toml'} OK: 1 person, 1 schedule, 0 escalation policies, "
        "0 maintenance windows\n"
    )


def test_an_unknown_schedule_or_person_in_a_rule_is_an_error_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = RULE.replace("oncall:fleet_ops", "oncall:fleet").replace("alice", "alcie")
    code, out, err = run(capsys, setup(tmp_path, rules))
    path = tmp_path / "rules" / "a.rules"
    assert (code, out) == (1, "")
    assert err == (
        f"{path}:3:14: error: unknown schedule 'fleet'\n"
        "  notify sms(oncall:fleet), email(person:alcie)\n"
        "             ^^^^^^^^^^^^\n"
        "hint: did you mean 'fleet_ops'?\n"
        f"{path}:3:35: error: unknown person 'alcie'\n"
        "  notify sms(oncall:fleet), email(person:alcie)\n"
        "                                  ^^^^^^^^^^^^\n"
        "hint: did you mean 'alice'?\n"
        "alertd check: 2 errors\n"
    )


def test_without_an_oncall_file_a_rule_naming_a_schedule_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, setup(tmp_path, RULE, oncall=None))
    assert code == 1
    assert "error: unknown schedule 'fleet_ops'" in err
    assert "error: unknown person 'alice'" in err


def test_mistakes_in_the_oncall_file_fail_the_check_with_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, setup(tmp_path, RULE, ONCALL.replace('"1w"', '"1x"')))
    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path / 'oncall.toml'}:8:9: error: [[schedules.fleet_ops.rotations]] shift: "
        'invalid duration "1x": expected a number and a unit (s, m, h, d, w), such as "30m", '
        '"12h", "1d" or "1w"\n'
        'shift = "1x"\n'
        "        ^^^^\n"
        "alertd check: 1 error\n"
    )


def test_a_missing_oncall_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = setup(tmp_path, RULE)
    (tmp_path / "oncall.toml").unlink()
    code, out, err = run(capsys, config)
    assert (code, out) == (2, "")
    assert err == (
        f"alertd check: error: {tmp_path / 'oncall.toml'}: no such file "
        f"(from {config} [oncall] path)\n"
    )
