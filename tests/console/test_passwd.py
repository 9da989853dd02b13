"""`alertd passwd NAME`: the password_hash line, from a terminal (asked twice, not echoed) or
from standard input."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from alertd.console.passwords import verify_password

REPO = Path(__file__).resolve().parents[2]


def setup(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "oncall.toml").write_text('[people.alice]\nname = "Alice"\n')
    config = tmp_path / "alertd.toml"
    config.write_text('[oncall]\npath = "oncall.toml"\n')
    return config


def passwd(config: Path, name: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertd", "passwd", name, "-c", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def hash_of(line: str) -> str:
    assert line.startswith('password_hash = "') and line.endswith('"'), line
    return line.removeprefix('password_hash = "').removesuffix('"')


def test_a_line_from_stdin_becomes_a_hash_that_checks(tmp_path: Path) -> None:
    done = passwd(setup(tmp_path), "alice", "a long secret\n")
    assert done.returncode == 0, done.stderr
    password_hash = hash_of(done.stdout.strip())
    assert verify_password(password_hash, "a long secret")
    assert not verify_password(password_hash, "a long secret\n")
    assert "paste that line into [people.alice]" in done.stderr


def test_a_person_not_in_the_file_yet_is_pointed_out(tmp_path: Path) -> None:
    done = passwd(setup(tmp_path), "zoe", "a long secret\n")
    assert done.returncode == 0
    assert "no such person there yet" in done.stderr


def test_a_short_or_missing_password_prints_nothing(tmp_path: Path) -> None:
    config = setup(tmp_path)
    short = passwd(config, "alice", "short\n")
    assert (short.returncode, short.stdout) == (2, "")
    assert "at least 8 characters" in short.stderr
    empty = passwd(config, "alice", "")
    assert (empty.returncode, empty.stdout) == (2, "")
    assert "no password given" in empty.stderr


def read_until(fd: int, text: bytes, seen: bytearray, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"waited for {text!r}; got {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the terminal closed: the command ended
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {text!r}; got {bytes(seen)!r}")
            seen += chunk


def on_a_terminal(config: Path, first: str, second: str) -> tuple[int, bytes]:
    """Run `alertd passwd alice` on a pseudo-terminal, typing the two passwords when asked."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.chdir(REPO)
        os.execv(
            sys.executable, [sys.executable, "-m", "alertd", "passwd", "alice", "-c", str(config)]
        )
    seen = bytearray()
    read_until(fd, b"password for alice: ", seen)
    os.write(fd, first.encode() + b"\n")
    read_until(fd, b"Again: ", seen)
    os.write(fd, second.encode() + b"\n")
    deadline = time.monotonic() + 60
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready or time.monotonic() < deadline, "alertd passwd did not end"
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), bytes(seen)


def test_a_terminal_is_asked_twice_and_never_shows_the_password(tmp_path: Path) -> None:
    code, output = on_a_terminal(setup(tmp_path), "typed secret 1", "typed secret 1")
    assert code == 0, output
    assert b"typed secret" not in output
    line = next(line for line in output.decode().splitlines() if "password_hash" in line)
    assert verify_password(hash_of(line.strip()), "typed secret 1")


def test_two_different_passwords_on_a_terminal_print_nothing(tmp_path: Path) -> None:
    code, output = on_a_terminal(setup(tmp_path), "typed secret 1", "typed secret 2")
    assert code == 2
    assert b"the two passwords differ" in output
    assert b"password_hash" not in output
