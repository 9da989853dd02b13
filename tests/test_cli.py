"""The command line's exit codes for usage and config errors."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alertd.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent


def test_missing_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-c", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.endswith("missing.toml: no such file\n")


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_bad_channel_concurrency_stops_every_command_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text('[channels.webhook]\nurl = "http://127.0.0.1:9/x"\nconcurrency = "abc"\n')
    assert main([command, "-c", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"alertd: error: {config}: [channels.webhook] concurrency: "
        "expected a whole number, got 'abc'\n"
    )


def typo_config(tmp_path: Path, dry_run: bool) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(
        "rule a {\n  when type == 'safety_event'\n  notify sms\n}\n"
    )
    config = tmp_path / "alertd.toml"
    config.write_text(
        f"[dispatch]\ndry_run = {str(dry_run).lower()}\n"
        '[channels.sms]\naccount_sid = "AC1"\nauth_token = "t"\nfrom = "+15550100000"\n'
        'to = ["+15550100002"]\nurgent_too = ["+15550100001"]\n'
    )
    return config


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize(
    "command", [["check"], ["run"], ["test-rule", "rules"], ["send-test", "sms"]]
)
def test_a_misspelt_channel_key_stops_every_command_dry_run_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], dry_run: bool
) -> None:
    config = typo_config(tmp_path, dry_run)
    assert main([command[0], "-c", str(config), *command[1:]]) == 2
    assert capsys.readouterr().err == (
        f"alertd: error: {config}: [channels.sms] urgent_too: unknown key "
        "(did you mean 'urgent_to'?)\n"
    )
    assert not (tmp_path / "var").exists()


def live_config_without_credentials(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(
        "rule a {\n  when type == 'safety_event'\n  notify webhook\n}\n"
    )
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[rules]\npaths = ["rules"]\ntemplates = "{REPO / "templates"}"\n'
        '[dispatch]\ndry_run = false\n[state]\npath = "var/alertd.db"\n'
        '[channels.sms]\naccount_sid = "${TWILIO_ACCOUNT_SID:-}"\nfrom = "+15550100000"\n'
        'to = "+15550100002"\n'
        '[channels.slack]\ntoken = "${SLACK_BOT_TOKEN:-}"\nchannel = "#x"\n'
        '[channels.webhook]\nurl = "http://127.0.0.1:9/x"\n'
    )
    return config


def test_check_reports_every_channel_that_cannot_send_when_dry_run_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = live_config_without_credentials(tmp_path)
    assert main(["check", "-c", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"alertd check: error: {config}: [channels.sms] account_sid, auth_token: are required "
        "(are their environment variables set?)\n"
        f"alertd check: error: {config}: [channels.slack] token: is required "
        "(is its environment variable set?)\n"
    )


def test_run_refuses_what_check_reports_when_dry_run_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = live_config_without_credentials(tmp_path)
    assert main(["run", "-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert "[channels.sms] account_sid, auth_token: are required" in err
    assert "[channels.slack] token: is required" in err
    assert not (tmp_path / "var").exists()  # refused before the state was opened: nothing left


@pytest.mark.parametrize("command", ["check", "run"])
def test_sending_for_real_every_channel_table_needs_someone_to_send_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # Each of its notifications would fail ("has no topic"): check and run refuse it alike.
    config = live_config_without_credentials(tmp_path)
    config.write_text(
        config.read_text()
        .replace('to = "+15550100002"\n', "")
        .replace('channel = "#x"\n', "")
        .replace('url = "http://127.0.0.1:9/x"\n', "")
        + '[channels.push]\nprovider = "ntfy"\n'
        + '[channels.email]\nhost = "localhost"\nfrom = "a@example.com"\n'
    )
    assert main([command, "-c", str(config)]) == 2
    err = capsys.readouterr().err
    for table, key in [("sms", "to"), ("slack", "channel"), ("webhook", "url"), ("push", "topic"),
                       ("email", "to")]:  # fmt: skip
        assert (
            f"[channels.{table}] {key}: is required once dry_run = false: a rule that notifies "
            f"{table} without naming a recipient group sends there"
        ) in err
    assert not (tmp_path / "var" / "dev-token").exists()


@pytest.mark.parametrize("command", [["run"], ["check"], ["test-rule", "rules"]])
def test_without_the_default_config_every_command_says_where_to_run_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    assert capsys.readouterr().err == (
        "alertd: error: alertd.toml: no such file; run from the folder that holds it or pass -c\n"
    )
    assert list(tmp_path.iterdir()) == []  # no var/dev-token


@pytest.mark.parametrize(
    ("make_rules", "problem"),
    [
        (lambda rules: None, "no such file or directory"),
        (lambda rules: rules.mkdir(), "no *.rules file in this folder or its subfolders"),
    ],
)
def test_run_refuses_rules_paths_that_name_no_rules_as_check_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_rules: Any, problem: str
) -> None:
    config = tmp_path / "alertd.toml"
    config.write_text('[rules]\npaths = ["rules"]\n[state]\npath = "var/alertd.db"\n')
    make_rules(tmp_path / "rules")
    message = f"{tmp_path / 'rules'}: {problem} (from {config} [rules] paths)"
    assert main(["check", "-c", str(config)]) == 2
    assert message in capsys.readouterr().err
    assert main(["run", "-c", str(config)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # neither the dev token nor the state


@pytest.mark.parametrize(("dry_run", "exit_code"), [(True, 0), (False, 1)])
def test_sending_for_real_a_rule_may_name_only_a_channel_with_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dry_run: bool, exit_code: int
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text(
        "rule a {\n  when type == 'safety_event'\n  notify webhook, slack\n}\n"
    )
    config = tmp_path / "alertd.toml"
    config.write_text(
        f'[rules]\npaths = ["rules"]\ntemplates = "{REPO / "templates"}"\n'
        f'[dispatch]\ndry_run = {str(dry_run).lower()}\n[state]\npath = "var/alertd.db"\n'
        '[channels.webhook]\nurl = "http://127.0.0.1:9/x"\n'
    )
    assert main(["check", "-c", str(config)]) == exit_code
    if not dry_run:  # the table was deleted: every slack notification would fail
        assert "a.rules:3:19: error: unknown channel 'slack'" in capsys.readouterr().err
        assert main(["run", "-c", str(config)]) == exit_code
        assert "a.rules:3:19: error: unknown channel 'slack'" in capsys.readouterr().err


def test_run_tunes_the_collector_once_the_pipeline_is_loaded(tmp_path: Path) -> None:
    """What `alertd run` sets (alertd.commands.run.tune_garbage_collector), against whatever
    the interpreter had before: its defaults differ between Python versions."""
    # Process-wide settings: checked in a child process so this test's own process is untouched.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.rules").write_text('rule a { when type == "x" }\n')
    (tmp_path / "alertd.toml").write_text(f'[rules]\ntemplates = "{REPO / "templates"}"\n')
    script = (
        "import gc, json, sys\n"
        "from alertd.clock import SYSTEM_CLOCK\n"
        "from alertd.config import load_settings\n"
        "from alertd.commands.run import loaded_pipeline\n"
        "frozen_before = gc.get_freeze_count()\n"
        "pipeline = loaded_pipeline(load_settings(sys.argv[1]), SYSTEM_CLOCK)\n"
        "print(json.dumps([frozen_before, gc.get_freeze_count(), gc.get_threshold()[0],"
        " len(pipeline.rules())]))\n"
        "pipeline.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "alertd.toml")],
        capture_output=True,
        text=True,
        check=True,
    )
    frozen_before, frozen_after, threshold, rules = json.loads(done.stdout)
    assert (frozen_before, rules) == (0, 1)
    assert frozen_after > 0  # what was loaded is left out of every collection
    assert threshold == 10_000  # the young generation holds a batch's short-lived objects


def help_entries(text: str) -> dict[str, str]:
    """The arguments an argparse help text lists, each with its help text ("" for none)."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            current, _, help_text = line.strip().partition("  ")
            entries[current] = help_text.strip()
        elif line.startswith("   ") and current is not None:
            entries[current] = f"{entries[current]} {line.strip()}".strip()
        else:
            current = None
    return entries


def commands() -> list[str]:
    """Every subcommand `alertd --help` lists."""
    return re.findall(r"^    (\S+)", build_parser().format_help(), re.MULTILINE)


def test_every_command_is_listed_with_what_it_does() -> None:
    assert {"run", "check", "test-rule", "send-test"} <= set(commands())


@pytest.mark.parametrize("command", ["", *commands()])
def test_every_option_of_every_command_says_what_it_does(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as info:
        main([command, "--help"] if command else ["--help"])
    assert info.value.code == 0
    entries = help_entries(capsys.readouterr().out)
    assert "-h, --help" in entries
    assert [name for name, help_text in entries.items() if not help_text] == []


def test_the_help_of_render_says_it_needs_events(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        main(["test-rule", "--help"])
    entries = help_entries(capsys.readouterr().out)
    assert "--events" in entries["--render"]
    assert "text" in entries["--format {text,json}"]
