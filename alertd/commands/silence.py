"""`alertd silence add|list|expire`: the silences of a running daemon, through its API
(alertd.commands.client), made `via` the command line.

    alertd silence add vehicle_id=v-9 [rule=breakdown] [depot=~"north|east"] \\
        (--for 2h | --until 2026-12-03T18:00) --comment "v-9 is in the workshop" [--by NAME]
    alertd silence list [--state active|pending|expired] [--format text|json]
    alertd silence expire ID

`add` prints the new silence's id (so `ID=$(alertd silence add ...)` keeps it). A matcher is
`NAME=VALUE`, `NAME!=VALUE`, `NAME=~REGEX` or `NAME!~REGEX` (alertd.silences.matchers);
`--until` without an offset is this machine's local time. `--by` defaults to the name of the
user running the command. `list` prints a table (ID, STATE, FROM, UNTIL, BY, MATCHERS,
COMMENT), or with `--format json` one silence object a line, as `GET /v1/silences` gives them.

Exit codes: 0 done (or done already: expiring an expired silence); 1 the daemon refused it (an
invalid silence, no such silence, a maintenance window); 2 a usage error, or the daemon cannot
be reached or refuses the call.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from alertd.commands.alerts import table
from alertd.commands.client import Answer, ApiClient, Unreachable
from alertd.config import Settings
from alertd.durations import parse_duration
from alertd.oncall import Matcher
from alertd.silences import format_matcher, parse_matcher
from alertd.silences.matchers import PatternError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
COLUMNS = ("ID", "STATE", "FROM", "UNTIL", "BY", "MATCHERS", "COMMENT")


class UsageError(Exception):
    """A command line that cannot be sent: the message says why."""


def main(settings: Settings, args: argparse.Namespace) -> int:
    action: str = args.silence_command
    try:
        client = ApiClient.for_settings(settings, args.url)
        if action == "add":
            return _add(client, args)
        if action == "list":
            return _list(client, args)
        return _expire(client, args.silence_id)
    except UsageError as problem:
        return _error(action, str(problem), EXIT_USAGE)
    except Unreachable as exc:
        return _error(action, str(exc), EXIT_USAGE)


# --- add -------------------------------------------------------------------------------------


def _add(client: ApiClient, args: argparse.Namespace) -> int:
    request = silence_request(args, datetime.now(UTC))
    answer = client.post("/v1/silences", request)
    if answer.status == 201:
        print(answer.body["id"])
        return EXIT_OK
    if answer.status == 400 and answer.body.get("details"):
        lines = [f"{d['field']}: {d['error']}" for d in answer.body["details"]]
        return _error("add", "the silence is invalid:\n  " + "\n  ".join(lines), EXIT_REFUSED)
    return _refused("add", answer)


def silence_request(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """The body of `POST /v1/silences` that `alertd silence add ARGS` sends at `now`. Raises
    UsageError for a matcher, duration or time that cannot be read."""
    matchers = [_matcher(text) for text in args.matchers]
    starts = _time("--from", args.starts) if args.starts else None
    if args.duration is not None:
        try:
            seconds = parse_duration(args.duration)
        except ValueError as exc:
            raise UsageError(f"--for: {exc}") from None
        if seconds <= 0:
            raise UsageError("--for: the silence must last a while, such as 2h")
        ends = (starts or now) + timedelta(seconds=seconds)
    else:
        ends = _time("--until", args.until)
    request: dict[str, Any] = {
        "matchers": [
            {"name": m.name, "value": m.value, "regex": m.regex, "equal": m.equal} for m in matchers
        ],
        "ends_at": _iso(ends),
        "created_by": args.by if args.by is not None else _user(),
        "comment": args.comment,
        "via": "cli",
    }
    if starts is not None:
        request["starts_at"] = _iso(starts)
    return request


def _matcher(text: str) -> Matcher:
    try:
        return parse_matcher(text)
    except PatternError as exc:
        raise UsageError(f"matcher {text!r}: invalid regular expression: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"matcher {text!r}: {exc}") from None


def _time(option: str, text: str) -> datetime:
    """An ISO time; without an offset, this machine's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not an ISO time such as 2026-12-03T18:00 (local) or "
            "2026-12-03T17:00Z"
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "cli"


# --- list ------------------------------------------------------------------------------------


def _list(client: ApiClient, args: argparse.Namespace) -> int:
    answer = client.get("/v1/silences", {"state": args.state} if args.state else None)
    if answer.status != 200:
        return _refused("list", answer)
    silences: list[dict[str, Any]] = answer.body["silences"]
    if args.format == "json":
        for silence in silences:
            print(json.dumps(silence))
    elif silences:
        print(table([row(silence) for silence in silences], COLUMNS))
    else:
        print("no silences", file=sys.stderr)
    return EXIT_OK


def row(silence: dict[str, Any]) -> tuple[str, ...]:
    matchers = ", ".join(
        format_matcher(Matcher(m["name"], m["value"], m["regex"], m["equal"]))
        for m in silence["matchers"]
    )
    comment = silence["comment"]
    if silence.get("recurs"):
        comment = f"{comment} ({silence['recurs']})" if comment else silence["recurs"]
    return (
        silence["id"],
        silence["state"],
        _short(silence["starts_at"]),
        _short(silence["ends_at"]),
        silence["created_by"],
        matchers,
        comment,
    )


def _short(moment: str) -> str:
    return re.sub(r"(:[0-9]{2})?\.[0-9]+Z$", "Z", moment)  # to the minute


# --- expire ----------------------------------------------------------------------------------


def _expire(client: ApiClient, silence_id: str) -> int:
    answer = client.delete(f"/v1/silences/{quote(silence_id, safe=':')}")
    if answer.status == 200:
        print(f"{silence_id}: {answer.body['message']}")
        return EXIT_OK
    if answer.status == 404:
        return _error("expire", f"no such silence: {silence_id}", EXIT_REFUSED)
    return _refused("expire", answer)


# --- errors ----------------------------------------------------------------------------------


def _refused(action: str, answer: Answer) -> int:
    body = answer.body
    message = body.get("error", body) if isinstance(body, dict) else body
    if answer.status == 409:
        return _error(action, str(message), EXIT_REFUSED)
    return _error(action, f"the daemon answered {answer.status}: {message}", EXIT_USAGE)


def _error(action: str, message: str, code: int) -> int:
    print(f"alertd silence {action}: error: {message}", file=sys.stderr)
    return code
