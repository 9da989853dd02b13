"""`alertd alerts [--status S] [--rule R] [--limit N] [--format text|json]`: the alerts of a
running daemon, newest first, through its API (alertd.commands.client).

Text, one alert a line under a header (ID, STATUS, PRIORITY, RULE, KEY, FIRED, BY), columns
as wide as their widest cell; BY is who acknowledged or resolved it. JSON: one object a
line, as `GET /v1/alerts` gives each. Exit codes: 0; 2 when the daemon cannot be reached or
refuses the call.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from alertd.commands.client import ApiClient, Unreachable
from alertd.config import Settings

EXIT_OK, EXIT_USAGE = 0, 2
COLUMNS = ("ID", "STATUS", "PRIORITY", "RULE", "KEY", "FIRED", "BY")


def main(settings: Settings, args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit)}
    if args.status:
        params["status"] = args.status
    if args.rule:
        params["rule"] = args.rule
    try:
        answer = ApiClient.for_settings(settings, args.url).get("/v1/alerts", params)
    except Unreachable as exc:
        return _error(str(exc))
    if answer.status != 200:
        return _error(f"the daemon answered {answer.status}: {_message(answer.body)}")
    alerts: list[dict[str, Any]] = answer.body["alerts"]
    if args.format == "json":
        for alert in alerts:
            print(json.dumps(alert))
    elif alerts:
        print(table([row(alert) for alert in alerts]))
    else:
        print("no alerts", file=sys.stderr)
    if answer.body.get("next"):
        print(f"(more alerts: raise --limit above {args.limit})", file=sys.stderr)
    return EXIT_OK


def row(alert: dict[str, Any]) -> tuple[str, ...]:
    key = ", ".join(str(part) for part in alert["key"] if part is not None)
    by = alert.get("resolved_by") or alert.get("acked_by") or ""
    fired = re.sub(r"\.[0-9]+Z$", "Z", str(alert["fired_at"]))  # to the second
    return (alert["id"], alert["status"], alert["priority"], alert["rule"], key, fired, by)


def table(rows: list[tuple[str, ...]], columns: tuple[str, ...] = COLUMNS) -> str:
    """Columns padded to their widest cell, two spaces apart; the last one not padded."""
    lines = [columns, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _message(body: Any) -> str:
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _error(message: str) -> int:
    print(f"alertd alerts: error: {message}", file=sys.stderr)
    return EXIT_USAGE
