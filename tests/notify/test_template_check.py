"""`alertd check` renders every rule's templates against a sample event."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alertd.cli import main
from tests.notify.conftest import TEMPLATES

RULE = """\
rule night_brake {
  name     "Night Brake"
  when     type == "safety_event"
  priority high
  template "night"
  notify   sms, webhook
}
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A config with its own rules and a copy of the shipped templates plus `files`."""
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fleet.rules").write_text(RULE)
    for name, text in files.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config = tmp_path / "alertd.toml"
    config.write_text('[rules]\npaths = ["rules"]\ntemplates = "templates"\n')
    return config


def check(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_templates_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, {"night/sms/text.txt": "Brake {{ event.vehicle_id }}"})
    assert check(config, capsys) == (0, "1 rule in 1 file OK\n", "")


def test_a_template_failing_at_run_time_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/sms/text.txt": "ok\n{{ event.speed_kmh.upper() }}"})
    code, out, err = check(config, capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path}/templates/night/sms/text.txt:2:20: error: "
        "'float object' has no attribute 'upper'\n"
        "{{ event.speed_kmh.upper() }}\n"
        "                   ^^^^^\n"
        "alertd check: 1 error\n"
    )


def test_the_caret_goes_under_the_name_the_message_quotes_as_a_whole_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/sms/text.txt": "{{ alert.rule_id }} {{ event.type.e() }}"})
    _code, _out, err = check(config, capsys)
    assert err.splitlines()[:3] == [
        f"{tmp_path}/templates/night/sms/text.txt:1:35: error: 'str object' has no attribute 'e'",
        "{{ alert.rule_id }} {{ event.type.e() }}",
        "                                  ^",
    ]


def test_a_syntax_error_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, {"night/webhook/body.json": '{"a": {{ event.x }'})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{tmp_path}/templates/night/webhook/body.json:1:18: error: unexpected '}}'\n"
        '{"a": {{ event.x }\n'
        "                 ^\n"
        "alertd check: 1 error\n"
    )


def test_a_webhook_template_rendering_bad_json_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/webhook/body.json": '{"a": {{ event.x }},}'})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err.startswith(
        f"{tmp_path}/templates/night/webhook/body.json:1:1: error: rendered JSON is invalid"
    )
    assert '\n{"a": {{ event.x }},}\n^\n' in err


def test_a_template_clause_naming_no_folder_is_reported_at_the_clause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"nihgt/sms/text.txt": "Brake"})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{tmp_path}/rules/fleet.rules:5:12: error: unknown template 'night'\n"
        '  template "night"\n'
        "           ^^^^^^^\n"
        "hint: did you mean 'nihgt'?\n"
        "alertd check: 1 error\n"
    )


def test_every_template_error_is_reported_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A syntax error in one file hides neither the render errors of the other channels'
    # templates, nor the errors in templates that no rule uses (yet).
    config = project(
        tmp_path,
        {
            "night/sms/text.txt": "{% if %}",
            "night/webhook/body.json": '{"a": {{ event.x.y.z() }}}',
            "email/subject.txt": "{{ alert.nope() }}",
            "webhook/body.json": "not json {{ alert.id }}",
            "spare/push/title.txt": "{{ 1 / 0 }}",
            "rules/other_rule/slack/title.md": "{{ rule.id.nope() }}",
        },
    )
    code, _out, err = check(config, capsys)
    assert code == 1
    first_lines = [line for line in err.splitlines() if ": error: " in line]
    templates = tmp_path / "templates"
    assert first_lines == [
        f"{templates}/email/subject.txt:1:10: error: 'dict object' has no attribute 'nope'",
        f"{templates}/night/sms/text.txt:1:1: error: "
        "Expected an expression, got 'end of statement block'",
        f"{templates}/night/webhook/body.json:1:16: error: 'dict object' has no attribute 'x'",
        f"{templates}/rules/other_rule/slack/title.md:1:12: error: "
        "'str object' has no attribute 'nope'",
        f"{templates}/spare/push/title.txt:1:1: error: division by zero",
        f"{templates}/webhook/body.json:1:1: error: "
        "rendered JSON is invalid: invalid literal, expected 'null'",
    ]


def test_templates_are_checked_when_rules_have_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/sms/text.txt": "{{ event.speed_kmh.upper() }}"})
    with (tmp_path / "rules" / "fleet.rules").open("a") as rules:
        rules.write("rule broken { when speed > }\n")
    code, _out, err = check(config, capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert errors == [
        f"{tmp_path}/rules/fleet.rules:8:28: error: unexpected '}}', expected an expression",
        f"{tmp_path}/templates/night/sms/text.txt:1:20: error: "
        "'float object' has no attribute 'upper'",
    ]


def test_a_template_error_without_a_line_is_put_at_line_1_column_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {})
    (tmp_path / "templates" / "night" / "sms").mkdir(parents=True)
    (tmp_path / "templates" / "night" / "sms" / "text.txt").write_bytes(b"\xffBrake")
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{tmp_path}/templates/night/sms/text.txt:1:1: error: cannot read template: "
        "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte\n"
        "\ufffdBrake\n"
        "^\n"
        "alertd check: 1 error\n"
    )


def test_a_missing_templates_folder_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {})
    shutil.rmtree(tmp_path / "templates")
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{tmp_path}/templates: error: templates folder not found (from {config} [rules] "
        "templates)\nalertd check: 1 error\n"
    )


def test_a_missing_default_templates_folder_says_the_config_does_not_set_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {})
    config.write_text('[rules]\npaths = ["rules"]\n')
    shutil.rmtree(tmp_path / "templates")
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{tmp_path}/templates: error: templates folder not found (the default [rules] "
        f"templates, which {config} does not set)\nalertd check: 1 error\n"
    )


def test_a_bad_notify_time_zone_is_reported_at_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/sms/text.txt": "Brake"})
    with config.open("a") as toml:
        toml.write('[notify]\ntimezone = "Europ/Berlin"\n')
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err == (
        f"{config}: error: [notify] timezone: unknown time zone 'Europ/Berlin'\n"
        "alertd check: 1 error\n"
    )
