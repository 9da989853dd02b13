"""The command line's exit codes for usage and config errors."""

from pathlib import Path

import pytest

from alertd.cli import main


def test_missing_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-c", str(tmp_path / "missing.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


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
