"""`alertd passwd NAME`: make the `password_hash` line a person signs in to the console with.

Asks for the password twice without echoing it (from a terminal), or reads one line from
standard input (when it is a pipe: `printf '%s\\n' "$PW" | alertd passwd alice`), and prints

    password_hash = "$argon2id$v=19$..."

to paste into `[people.NAME]` of the on-call file. Nothing is written anywhere: the file is the
operator's, and a person who is not in it yet may be added with the line. Exit 0; 2 when the
passwords differ, are too short, or standard input is empty.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from alertd.config import Settings
from alertd.console.passwords import PasswordError, hash_password
from alertd.oncall import load_oncall

EXIT_OK, EXIT_USAGE = 0, 2


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password = _read_password(args.name)
        line = f"password_hash = {json.dumps(hash_password(password))}"
    except (PasswordError, EOFError, KeyboardInterrupt) as error:
        message = str(error) if isinstance(error, PasswordError) else "no password given"
        print(f"alertd: error: {message}; nothing printed", file=sys.stderr)
        return EXIT_USAGE
    print(line)
    print(
        f"alertd: paste that line into [people.{args.name}] {_where(settings, args.name)}",
        file=sys.stderr,
    )
    return EXIT_OK


def _read_password(name: str) -> str:
    """The password from the terminal (asked twice), else the first line of stdin.

    Raises PasswordError when the two differ, EOFError when stdin is empty."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.removesuffix("\n").removesuffix("\r")
    first = getpass.getpass(f"New console password for {name}: ")
    second = getpass.getpass("Again: ")
    if first != second:
        raise PasswordError("the two passwords differ")
    return first


def _where(settings: Settings, name: str) -> str:
    """Where the line goes, and a warning when that person is not in the file yet."""
    path = settings.oncall.path
    if path is None:
        return f"of the on-call file ([oncall] path is not set in {settings.source})"
    oncall, _errors = load_oncall(settings)
    if oncall is not None and name not in oncall.people:
        return f"of {path} (no such person there yet: add the table)"
    return f"of {path}"
