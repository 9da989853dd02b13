"""`alertd oncall`: who is on call and until when, as text and as JSON lines."""

import json
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.clock import FakeClock
from alertd.commands import oncall as oncall_command

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "alertd.toml")

TWO_SCHEDULES = """\
[people.alice]
name = "Alice Martin"
[people.bob]
[people.carol]

[schedules.fleet_ops]
time_zone = "Europe/Amsterdam"
[[schedules.fleet_ops.rotations]]
members = ["alice", "bob"]
shift = "1w"
start = "2026-10-19T09:00"

[schedules.night_desk]
time_zone = "America/New_York"
[[schedules.night_desk.rotations]]
members = ["carol"]
shift = "1d"
start = "2026-10-01T21:00"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def config(tmp_path: Path, oncall: str | None = TWO_SCHEDULES) -> str:
    path = tmp_path / "alertd.toml"
    if oncall is None:
        path.write_text("")
    else:
        path.write_text('[oncall]\npath = "oncall.toml"\n')
        (tmp_path / "oncall.toml").write_text(oncall)
    return str(path)


def test_text_shows_who_is_on_call_until_when_and_who_is_next(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "oncall", "-c", SHIPPED, "--at", "2026-10-21T19:00")
    assert (code, err) == (0, "")
    assert out == (
        "fleet_ops (Europe/Amsterdam) at Wed 2026-10-21 19:00 CEST\n"
        "  on call: bob (Bob Stone), dave (Dave Okafor)\n"
        "  until:   Thu 2026-10-22 09:00 CEST, then alice (Alice Martin), erin (Erin Visser)\n"
    )


def test_json_is_one_line_per_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "oncall", "-c", config(tmp_path), "--at", "2026-10-25T12:00Z", "--format", "json"
    )
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "schedule": "fleet_ops",
            "time_zone": "Europe/Amsterdam",
            "at": "2026-10-25T13:00:00+01:00",
            "on_call": ["alice"],
            "until": "2026-10-26T09:00:00+01:00",
        },
        {
            "schedule": "night_desk",
            "time_zone": "America/New_York",
            "at": "2026-10-25T08:00:00-04:00",
            "on_call": ["carol"],
            "until": None,
        },
    ]


def test_a_time_without_an_offset_is_local_to_each_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "oncall", "-c", config(tmp_path), "--at", "2026-10-26T09:00", "--format", "json"
    )
    assert code == 0
    assert [json.loads(line)["at"] for line in out.splitlines()] == [
        "2026-10-26T09:00:00+01:00",
        "2026-10-26T09:00:00-04:00",
    ]
    assert json.loads(out.splitlines()[0])["on_call"] == ["bob"]


def test_schedules_named_are_shown_in_that_order_and_a_lone_person_has_no_until(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["oncall", "-c", config(tmp_path), "night_desk", "fleet_ops", "--at", "2026-09-01"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out == (
        "night_desk (America/New_York) at Tue 2026-09-01 00:00 EDT\n"
        "  on call: nobody\n"
        "  until:   Thu 2026-10-01 21:00 EDT, then carol\n"
        "fleet_ops (Europe/Amsterdam) at Tue 2026-09-01 00:00 CEST\n"
        "  on call: nobody\n"
        "  until:   Mon 2026-10-19 09:00 CEST, then alice (Alice Martin)\n"
    )
    code, out, _ = run(capsys, "oncall", "-c", config(tmp_path), "night_desk", "--at", "2026-11-01")
    assert out.splitlines()[1:] == ["  on call: carol", "  until:   no hand-over ahead"]


def test_without_at_it_is_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oncall_command, "SYSTEM_CLOCK", FakeClock(1_793_001_600.0))
    code, out, _ = run(capsys, "oncall", "-c", config(tmp_path), "fleet_ops", "--format", "json")
    assert code == 0
    assert json.loads(out)["at"] == "2026-10-26T09:00:00+01:00"


def test_an_unknown_schedule_is_a_usage_error_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "oncall", "-c", config(tmp_path), "flet_ops")
    assert (code, out) == (2, "")
    assert err == "alertd oncall: error: unknown schedule 'flet_ops' (did you mean 'fleet_ops'?)\n"
    code, _, err = run(capsys, "oncall", "-c", config(tmp_path), "days")
    assert err == (
        "alertd oncall: error: unknown schedule 'days'; the schedules are: fleet_ops, night_desk\n"
    )


def test_without_an_oncall_file_it_says_how_to_set_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, oncall=None)
    code, out, err = run(capsys, "oncall", "-c", path)
    assert (code, out) == (2, "")
    assert err == (
        f"alertd oncall: error: no on-call file: set [oncall] path in {path} (docs/oncall.md)\n"
    )


def test_a_broken_oncall_file_shows_its_errors_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, TWO_SCHEDULES.replace('"1w"', '"1 week"'))
    code, out, err = run(capsys, "oncall", "-c", path)
    assert (code, out) == (2, "")
    assert err.splitlines()[0].startswith(f"{tmp_path / 'oncall.toml'}:10:9: error: ")
    assert err.splitlines()[-1] == (
        "alertd oncall: error: 1 error(s) in the on-call setup; nothing shown"
    )


def test_a_bad_at_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "oncall", "-c", config(tmp_path), "--at", "tomorrow")
    assert (code, out) == (2, "")
    assert err == (
        "alertd oncall: error: --at 'tomorrow': expected an ISO time such as 2026-12-24T10:00 "
        "(local to each schedule) or 2026-12-24T09:00Z\n"
    )


def test_every_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["oncall", "--help"])
    help_text = capsys.readouterr().out
    for option in ("SCHEDULE", "--at TIME", "--format"):
        assert option in help_text
    assert "local to each schedule" in help_text
