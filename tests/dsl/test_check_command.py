"""`alertd check`: exit codes, the error report, and the starter rules with the shipped config."""

from pathlib import Path

import pytest

from alertd.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_starter_rules_pass_with_the_shipped_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"))
    assert (code, out, err) == (0, "6 rules in 3 files OK\n", "")


def test_valid_files_report_rule_and_file_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one.rules").write_text('rule a { when type == "x" }\n')
    code, out, _ = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(tmp_path))
    assert (code, out) == (0, "1 rule in 1 file OK\n")


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


def test_a_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "check", "-c", str(ROOT / "alertd.toml"), str(tmp_path / "no"))
    assert code == 2
    assert "no such file or directory" in err


def test_channels_from_the_config_are_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text('[channels.ops_slack]\nkind = "slack"\n[recipients]\nops = ["a@b.c"]\n')
    (tmp_path / "r.rules").write_text("rule a { when x == 1\n notify ops_slack, email(ops) }\n")
    code, out, err = run(capsys, "check", "-c", str(config), str(tmp_path / "r.rules"))
    assert (code, out, err) == (0, "1 rule in 1 file OK\n", "")
