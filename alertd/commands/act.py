"""`alertd ack|unack|resolve|escalate ID [--by NAME]`: act on an alert of a running daemon,
through its API (alertd.commands.client), recorded as done `via` the command line.

Prints what happened (`01KDV...: acknowledged by ana`), or, for something done already, who
did it first (`01KDV...: already acknowledged by bob at ...; nothing changed`). `--by` defaults
to the name of the user running the command.

Exit codes: 0 done, or done already; 1 no such alert, or the action does not apply to it as
it is (an ack of a resolved alert); 2 the daemon cannot be reached or refuses the call.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from alertd.commands.client import ApiClient, Unreachable
from alertd.config import Settings

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def main(settings: Settings, args: argparse.Namespace) -> int:
    action: str = args.command
    by = args.by if args.by is not None else _user()
    try:
        client = ApiClient.for_settings(settings, args.url)
        answer = client.post(f"/v1/alerts/{args.alert_id}/{action}", {"by": by, "via": "cli"})
    except Unreachable as exc:
        return _error(action, str(exc), EXIT_USAGE)
    body: Any = answer.body
    if answer.status == 200:
        print(f"{args.alert_id}: {body['message']}")
        return EXIT_OK
    message = body.get("error", body) if isinstance(body, dict) else body
    if answer.status == 404:
        return _error(action, f"no such alert: {args.alert_id}", EXIT_REFUSED)
    if answer.status == 409:
        return _error(action, str(message), EXIT_REFUSED)
    return _error(action, f"the daemon answered {answer.status}: {message}", EXIT_USAGE)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): name no one
        return ""


def _error(action: str, message: str, code: int) -> int:
    print(f"alertd {action}: error: {message}", file=sys.stderr)
    return code
