"""`alertd check`: exit codes, the error report, and the starter rules with the shipped config."""

import argparse
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.commands import check as check_command
from alertd.config import Settings

ROOT = Path(__file__).resolve().parents[2]
# The shipped config's on-call file, checked with the rules.
ONCALL_OK = (
    f"{ROOT / 'oncall.toml'} OK: 6 people, 1 schedule, 1 escalation policy, 1 maintenance window\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_starter_rules_pass_with_the_shipped_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"))
    assert (code, out, err) == (0, "9 rules in 4 files OK\n" + ONCALL_OK, "")


def test_valid_files_report_rule_and_file_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one.rules").write_text('rule a { when type == "breakdown" }\n')
    code, out, _ = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(tmp_path))
    assert (code, out) == (0, "1 rule in 1 file OK\n" + ONCALL_OK)


def test_errors_go_to_stderr_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text("rule a {\n  when speed > 3\n  notify mail, email(managrs)\n}\n")

    code, out, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(rules))

    assert code == 1
    assert out == ""
    assert err == (
        f"{rules}:3:10: error: unknown channel 'mail'\n"
        "  notify mail, email(managrs)\n"
        "         ^^^^\n"
        "hint: did you mean 'email'?\n"
        f"{rules}:3:22: error: unknown recipient group 'managrs'\n"
        "  notify mail, email(managrs)\n"
        "                     ^^^^^^^\n"
        "hint: did you mean 'managers'?\n"
        "alertd check: 2 errors\n"
    )


def test_a_rule_name_used_in_two_files_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one.rules").write_text('rule a { when code == "1"\n  name "Dup" }\n')
    (tmp_path / "two.rules").write_text('rule b { when code == "2"\n  name "Dup" }\n')

    code, out, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(tmp_path))

    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path / 'two.rules'}:2:8: error: duplicate rule name 'Dup' (first used by rule "
        f"'a' at {tmp_path / 'one.rules'}:1:1)\n"
        '  name "Dup" }\n'
        "       ^^^^^\n"
        "alertd check: 1 error\n"
    )


def test_a_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(tmp_path / "no"))
    assert code == 2
    assert "no such file or directory" in err


def test_a_folder_without_rule_files_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "safety.rule").write_text('rule a { when type == "x" }\n')
    (tmp_path / "good.rules").write_text('rule a { when type == "breakdown" }\n')
    config = str(ROOT / "alertd.toml")

    code, out, err = run(
        capsys, "check", "-c", config, str(tmp_path / "empty"), str(tmp_path / "notes")
    )

    assert (code, out) == (2, "")
    assert err == (
        f"alertd check: error: {tmp_path / 'empty'}: "
        "no *.rules file in this folder or its subfolders\n"
        f"alertd check: error: {tmp_path / 'notes'}: "
        "no *.rules file in this folder or its subfolders\n"
    )
    # A folder with rule files somewhere under it is fine.
    assert run(capsys, "check", "-c", config, str(tmp_path))[:2] == (
        0,
        "1 rule in 1 file OK\n" + ONCALL_OK,
    )


def test_config_paths_without_rule_files_say_where_they_come_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules").mkdir()
    config = tmp_path / "alertd.toml"
    config.write_text('[rules]\npaths = ["rules"]\n')

    code, _, err = run(capsys, "check", "-c", str(config))

    assert code == 2
    assert err == (
        f"alertd check: error: {tmp_path / 'rules'}: no *.rules file in this folder or its "
        f"subfolders (from {config} [rules] paths)\n"
    )


def test_without_a_config_file_the_defaults_are_not_said_to_come_from_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The settings alertd.cli gives a command when there is no ./alertd.toml: the defaults.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.rules").write_text("rule a { when x == 1 }\n")
    no_config = "there is no config file alertd.toml"

    def check(*paths: str) -> tuple[int, str, str]:
        code = check_command.main(Settings(), argparse.Namespace(paths=list(paths)))
        return (code, *capsys.readouterr())

    assert check() == (
        2,
        "",
        f"alertd check: error: rules: no such file or directory (the default [rules] paths: "
        f"{no_config})\n",
    )
    assert check(".") == (
        1,
        "",
        f"templates: error: templates folder not found (the default [rules] templates: "
        f"{no_config})\nalertd check: 1 error\n",
    )
    (tmp_path / "templates").mkdir()
    assert check(".") == (0, "1 rule in 1 file OK\n", "")


def test_channels_from_the_config_are_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[rules]\ntemplates = "{ROOT / "templates"}"\n'
        '[channels.ops_slack]\nkind = "slack"\n[recipients]\nops = ["a@b.c"]\n'
    )
    (tmp_path / "r.rules").write_text("rule a { when x == 1\n notify ops_slack, email(ops) }\n")
    code, out, err = run(capsys, "check", "-c", str(config), str(tmp_path / "r.rules"))
    assert (code, out, err) == (0, "1 rule in 1 file OK\n", "")


def test_a_name_defined_in_a_file_beside_the_one_checked_says_to_check_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "common.rules").write_text(
        'list harsh = ["harsh_braking"]\nmacro safety = a == 1\n'
    )
    (tmp_path / "other.rules").write_text("rule x { when b == 2 }\n")
    checked = tmp_path / "safety.rules"
    checked.write_text("rule s {\n  when safety and kind in harsh and kind in hars\n}\n")

    code, out, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(checked))

    shared = (
        "not checked with this file: lists and macros are shared only by the files checked "
        f"together; check the whole folder: alertd check {tmp_path}"
    )
    assert (code, out) == (1, "")
    assert err == (
        f"{checked}:2:8: error: unknown macro 'safety'\n"
        "  when safety and kind in harsh and kind in hars\n"
        "       ^^^^^^\n"
        f"hint: 'safety' is a macro in {tmp_path / 'common.rules'}, {shared}\n"
        f"{checked}:2:27: error: unknown list 'harsh'\n"
        "  when safety and kind in harsh and kind in hars\n"
        "                          ^^^^^\n"
        f"hint: 'harsh' is a list in {tmp_path / 'common.rules'}, {shared}\n"
        f"{checked}:2:45: error: unknown list 'hars'\n"
        "  when safety and kind in harsh and kind in hars\n"
        "                                            ^^^^\n"
        "hint: to test a field that holds a list, write hars contains ...\n"
        "alertd check: 3 errors\n"
    )


def test_the_shipped_safety_rules_alone_point_to_common_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    safety = ROOT / "rules" / "safety.rules"
    code, _, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(safety))
    assert code == 1
    hints = [line for line in err.splitlines() if line.startswith("hint: ")]
    assert hints and all(f"in {ROOT / 'rules' / 'common.rules'}, not checked" in h for h in hints)
    assert "contains ..." not in err


SCHEMA = """\
"*": {type: string, vehicle_id: string}
location_update: {speed_kmh: number}
"""


def schema_setup(tmp_path: Path, schema: str = SCHEMA) -> str:
    (tmp_path / "events.yaml").write_text(schema)
    (tmp_path / "rules").mkdir()
    (tmp_path / "alertd.toml").write_text(
        f'[rules]\npaths = ["rules"]\ntemplates = "{ROOT / "templates"}"\nschema = "events.yaml"\n'
    )
    return str(tmp_path / "alertd.toml")


def test_with_a_schema_check_reports_unknown_fields_and_wrong_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_setup(tmp_path)
    rules = tmp_path / "rules" / "speed.rules"
    rules.write_text('rule speeding {\n  when type == "location_update" and speed_kph > "120"\n}\n')
    code, out, err = run(capsys, "check", "-c", config)
    assert (code, out) == (1, "")
    assert err == (
        f"{rules}:2:38: error: no event of type location_update has a field 'speed_kph'\n"
        '  when type == "location_update" and speed_kph > "120"\n'
        "                                     ^^^^^^^^^\n"
        "hint: did you mean 'speed_kmh'?\n"
        "alertd check: 1 error\n"
    )
    rules.write_text('rule speeding {\n  when type == "location_update" and speed_kmh > "120"\n}\n')
    code, out, err = run(capsys, "check", "-c", config)
    assert code == 1
    assert err.splitlines()[0] == (
        f"{rules}:2:48: error: speed_kmh is a number in location_update events, "
        "compared with a string"
    )
    rules.write_text('rule speeding {\n  when type == "location_update" and speed_kmh > 120\n}\n')
    assert run(capsys, "check", "-c", config)[:2] == (0, "1 rule in 1 file OK\n")


def test_a_broken_schema_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_setup(tmp_path, '"*": {type: strin}\n')
    (tmp_path / "rules" / "a.rules").write_text('rule a { when type == "x" }\n')
    code, out, err = run(capsys, "check", "-c", config)
    assert (code, out) == (1, "")
    assert err == (
        f"{tmp_path / 'events.yaml'}:1:13: error: unknown kind 'strin' for field 'type'\n"
        '"*": {type: strin}\n'
        "            ^\n"
        "hint: did you mean 'string'?\n"
        "alertd check: 1 error\n"
    )
    (tmp_path / "events.yaml").unlink()
    code, _, err = run(capsys, "check", "-c", config)
    assert code == 1
    assert err.startswith(
        f"{tmp_path / 'events.yaml'}: error: no such event schema file ([rules] schema)\n"
    )
