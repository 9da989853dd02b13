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
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{tmp_path}/templates/night/sms/text.txt:2: error: 'float object' has no attribute 'upper'"
    )


def test_a_syntax_error_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project(tmp_path, {"night/webhook/body.json": '{"a": {{ event.x }'})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{tmp_path}/templates/night/webhook/body.json:1: error: unexpected '}}'"
    )


def test_a_webhook_template_rendering_bad_json_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {"night/webhook/body.json": '{"a": {{ event.x }},}'})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert "night/webhook/body.json:1: error: rendered JSON is invalid" in err


def test_a_template_clause_naming_no_folder_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(tmp_path, {})
    code, _out, err = check(config, capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{tmp_path}/rules/fleet.rules:1: error: rule night_brake: "
        f"template 'night' not found in {tmp_path}/templates"
    )
