"""The `alertd` command line: argument parsing and exit codes, nothing else.

Each subcommand lives in `alertd.commands.<name>` and returns its exit code:
0 success, 1 the rules (or the checked thing) are wrong, 2 usage or config error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from alertd import __version__
from alertd.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

DEFAULT_CONFIG = "alertd.toml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertd",
        description="Rule-driven, multi-channel alerting for fleet telematics.",
    )
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "-c",
            "--config",
            metavar="FILE",
            help=f"config file (default: ./{DEFAULT_CONFIG})",
        )
        return sub

    run = add("run", "Run the daemon: HTTP ingestion, rule evaluation and notification dispatch.")
    run.add_argument(
        "--workers",
        type=_worker_count,
        default=1,
        metavar="N",
        help="run N daemons on the same port, one per core (the state in PostgreSQL only; "
        "see docs/scaling.md)",
    )
    run.add_argument("--worker", type=int, metavar="PORT", help=argparse.SUPPRESS)  # one of N

    add(
        "migrate",
        "Bring the state database ([state] path, or url) up to date; start nothing.",
    )

    check = add("check", "Validate rule files and every template; start nothing.")
    check.add_argument(
        "paths", nargs="*", metavar="PATH", help="rule files or folders (default: the config's)"
    )

    test_rule = add(
        "test-rule",
        "Replay recorded events through rules without sending anything, "
        "or run rule unit tests written in YAML.",
    )
    test_rule.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="rule files or folders (with --events), or YAML rule test files or folders",
    )
    test_rule.add_argument(
        "--events",
        metavar="FILE",
        help="replay these events through the rules: NDJSON, a JSON array or a YAML list; "
        "- is stdin",
    )
    test_rule.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a table for people (the default); json: one JSON object per line",
    )
    test_rule.add_argument(
        "--render",
        action="store_true",
        help="with --events: also show the notifications each fired alert would send",
    )
    test_rule.add_argument(
        "--strict",
        action="store_true",
        help="with --events: also report every event that breaks the event schema ([rules] "
        "schema): a type or field it does not list, a value of the wrong kind; exit 1 if any",
    )
    test_rule.add_argument(
        "--explain",
        action="store_true",
        help="with --events: for every rule that could match each event, say why it fired or "
        "not: the first comparison that was false, with the values it saw, or its windows",
    )
    test_rule.add_argument(
        "--until",
        metavar="TIME",
        help="with --events: after the last event, run the clock on to TIME (ISO-8601 or epoch "
        "seconds), so that timers due by then run (resolve after); default: the last event's",
    )

    oncall = add(
        "oncall", "Show who is on call in each schedule of the on-call file, and until when."
    )
    oncall.add_argument(
        "schedules", nargs="*", metavar="SCHEDULE", help="schedules to show (default: all)"
    )
    oncall.add_argument(
        "--at",
        metavar="TIME",
        help="an ISO time to ask about instead of now; without an offset it is local to each "
        "schedule (2026-12-24T10:00), with one it is that instant (2026-12-24T09:00Z)",
    )
    oncall.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, or one JSON object per schedule and line (default: text)",
    )

    alerts = add("alerts", "List the alerts of a running daemon, newest first.")
    alerts.add_argument(
        "--status",
        choices=("firing", "acked", "resolved", "silenced"),
        help="only alerts in this status",
    )
    alerts.add_argument("--rule", metavar="RULE", help="only alerts of this rule id")
    alerts.add_argument(
        "--limit",
        type=_page_size,
        default=50,
        metavar="N",
        help="show at most N alerts, from 1 to 1000 (default: 50)",
    )
    alerts.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a table for people (the default); json: one alert object per line",
    )
    _daemon_url(alerts)

    for action, help_text in (
        ("ack", "Acknowledge an alert: you have it; its escalation stops."),
        ("unack", "Take back an acknowledgement: the alert fires again and escalation resumes."),
        ("resolve", "Resolve an alert: it is over; everyone it paged is told."),
        ("escalate", "Run the alert's next escalation step now, instead of when its delay ends."),
    ):
        act = add(action, help_text)
        act.set_defaults(module="act")
        act.add_argument("alert_id", metavar="ID", help="the alert's id (alertd alerts lists them)")
        act.add_argument(
            "--by",
            metavar="NAME",
            help="who is acting, as the alert and its timeline show it (default: your user name)",
        )
        _daemon_url(act)

    silence = commands.add_parser(
        "silence",
        help="Silence alerts that are already known (a vehicle in the workshop), list and "
        "expire silences, on a running daemon.",
        description="Silence alerts that are already known, list and expire silences, on a "
        "running daemon: alertd silence add|list|expire.",
    )
    silence.set_defaults(module="silence")
    silences = silence.add_subparsers(dest="silence_command", metavar="ACTION", required=True)

    def add_silence_action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = silences.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "-c", "--config", metavar="FILE", help=f"config file (default: ./{DEFAULT_CONFIG})"
        )
        _daemon_url(sub)
        return sub

    silence_add = add_silence_action(
        "add",
        "Make a silence: alerts all of its matchers hold for page nobody until it ends. "
        "Prints its id.",
    )
    silence_add.add_argument(
        "matchers",
        nargs="+",
        metavar="MATCHER",
        help="NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX (REGEX matches the whole "
        "value); NAME is rule, priority or an event field such as vehicle_id or location.city",
    )
    lasts = silence_add.add_mutually_exclusive_group(required=True)
    lasts.add_argument("--for", dest="duration", metavar="DURATION", help="how long: 2h, 90m, 1d")
    lasts.add_argument(
        "--until",
        metavar="TIME",
        help="when it ends: an ISO time, this machine's local time unless it has an offset "
        "(2026-12-03T18:00, 2026-12-03T17:00Z)",
    )
    silence_add.add_argument(
        "--from",
        dest="starts",
        metavar="TIME",
        help="when it starts, as --until (default: now); --for counts from here",
    )
    silence_add.add_argument(
        "--comment", required=True, metavar="TEXT", help="why, for whoever reads it later"
    )
    silence_add.add_argument("--by", metavar="NAME", help="who makes it (default: your user name)")
    silence_list = add_silence_action(
        "list", "List silences and maintenance windows: active, then pending, then expired."
    )
    silence_list.add_argument(
        "--state", choices=("active", "pending", "expired"), help="only silences in this state"
    )
    silence_list.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: a table for people (the default); json: one silence object per line",
    )
    silence_expire = add_silence_action("expire", "End a silence now.")
    silence_expire.add_argument(
        "silence_id", metavar="ID", help="the silence's id (alertd silence list shows them)"
    )

    passwd = add(
        "passwd",
        "Make a console password hash for a person: asks twice (or reads a line from stdin) "
        "and prints the password_hash line for the on-call file.",
    )
    passwd.add_argument("name", metavar="NAME", help="the person's id, as in [people.NAME]")

    send_test = add(
        "send-test",
        "Send one test notification through a channel now, even in a dry run; a failed send "
        "is reported, never retried.",
    )
    send_test.add_argument("channel", metavar="CHANNEL", help="a channel name from the config")
    send_test.add_argument(
        "--to", metavar="RECIPIENT", help="send to this recipient instead of the default ones"
    )
    return parser


def _daemon_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        metavar="URL",
        help="the running daemon's address, such as http://alertd.internal:8080 (default: the "
        "config's [server] listen)",
    )


def _worker_count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 256, got {text!r}")
    return int(text)


def _page_size(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return int(text)


def load_config(path: str | None) -> Settings:
    """The named config, else ./alertd.toml. Raises ConfigError, also when the file is missing:
    run from the wrong folder, built-in defaults would quietly use rules and state that are
    not the operator's."""
    if path is None and not Path(DEFAULT_CONFIG).exists():
        raise ConfigError(
            f"{DEFAULT_CONFIG}: no such file; run from the folder that holds it or pass -c"
        )
    return load_settings(DEFAULT_CONFIG if path is None else path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_config(args.config)
    except ConfigError as exc:
        print(f"alertd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    name = getattr(args, "module", args.command.replace("-", "_"))
    module = importlib.import_module(f"alertd.commands.{name}")
    exit_code: int = module.main(settings, args)
    return exit_code
