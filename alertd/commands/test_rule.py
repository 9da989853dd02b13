"""`alertd test-rule`: try rules on recorded events, or run rule unit tests, sending nothing.

    alertd test-rule [-c alertd.toml] RULES... --events FILE [--format text|json] [--render]
                     [--explain] [--strict] [--until TIME]
    alertd test-rule [-c alertd.toml] TESTS.yaml... [--format text|json]

Exit codes: 0 all good; 1 a rule file is wrong, an event was invalid (or, with --strict, broke
the event schema), or a unit test failed;
2 usage or config error (a missing file, no rules, a rule file given without --events or a
test file with it).
The config still supplies channels, recipient groups and the [engine] settings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alertd.clock import SYSTEM_CLOCK
from alertd.config import Settings
from alertd.dsl import RuleErrors, load_rules
from alertd.engine.engine import Engine
from alertd.engine.errors import EventTimeError
from alertd.engine.eventtime import parse_event_time
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.eventschema import load_schema
from alertd.model import Rule
from alertd.notify.errors import TemplateError
from alertd.oncall import escalation_policies, load_oncall, recipient_groups
from alertd.ruletest.events import YAML_SUFFIXES, EventFileError, read_events
from alertd.ruletest.render import notification_preview
from alertd.ruletest.replay import replay
from alertd.ruletest.report import JsonReport, Report, TextReport
from alertd.ruletest.terminal import Painter, Progress, wants_colour
from alertd.ruletest.unittests import (
    RuleFilesError,
    find_test_files,
    run_test_file,
    write_json,
    write_text,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(settings: Settings, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [path for path in paths if not path.exists()]
    if args.events not in (None, "-") and not Path(args.events).exists():
        missing.append(Path(args.events))
    if missing:
        for path in missing:
            _usage_error(f"{path}: no such file or directory")
        return EXIT_USAGE
    try:
        if args.events is None:
            return _unit_tests(settings, paths, args)
        return _replay(settings, paths, args)
    except BrokenPipeError:  # `alertd test-rule ... | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _replay(settings: Settings, paths: list[Path], args: argparse.Namespace) -> int:
    tests = [path for path in paths if path.is_file() and path.suffix in YAML_SUFFIXES]
    if tests:
        _usage_error(
            f"{tests[0]} is a YAML rule test file: run it without --events, or give rule files "
            "to replay the events through"
        )
        return EXIT_USAGE
    until = None
    if args.until is not None:
        try:
            until = parse_event_time(args.until, "--until")
        except EventTimeError as exc:
            _usage_error(str(exc))
            return EXIT_USAGE
    try:
        rules = _load(settings, paths)
    except RuleFilesError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    if not rules:
        _usage_error(f"no rules found in {', '.join(map(str, paths))}")
        return EXIT_USAGE
    schema = None
    if args.strict:
        path = settings.rules.schema
        if path is None:
            _usage_error(
                f"--strict holds events to the event schema, and {settings.source} names none: "
                'set [rules] schema = "rules/events.yaml" (docs/rules.md, "The event schema")'
            )
            return EXIT_USAGE
        schema, errors = load_schema(path)
        if schema is None:
            for error in errors:
                print(error.format(), file=sys.stderr)
            return EXIT_FAILED
    rule_set = RuleSet(rules)
    out: TextIO = sys.stdout
    report: Report
    if args.format == "json":
        report = JsonReport(out, rule_set, explain=args.explain)
    else:
        report = TextReport(out, rule_set, Painter(wants_colour(out)), explain=args.explain)
    source = "<stdin>" if args.events == "-" else args.events
    try:
        preview = notification_preview(settings) if args.render else None
    except TemplateError as exc:
        print(f"alertd test-rule: error: templates do not compile:\n{exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        summary = replay(
            Engine.configured(rule_set, MemoryStore(), settings.engine, live=False),
            read_events(args.events),
            received_at=SYSTEM_CLOCK.now(),
            report=report,
            errors=sys.stderr,
            source=source,
            preview=preview,
            progress=Progress(sys.stderr, SYSTEM_CLOCK) if sys.stderr.isatty() else None,
            until=until,
            explain=args.explain,
            schema=schema,
        )
    except EventFileError as exc:
        print(f"alertd test-rule: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if summary.invalid or summary.off_schema else EXIT_OK


def _unit_tests(settings: Settings, paths: list[Path], args: argparse.Namespace) -> int:
    not_tests = [path for path in paths if path.is_file() and path.suffix not in YAML_SUFFIXES]
    if not_tests:
        _usage_error(
            f"{not_tests[0]} is not a YAML rule test file; to replay events through rule "
            "files, give --events FILE"
        )
        return EXIT_USAGE
    if args.render:
        _usage_error("--render shows the notifications of a replay: give --events FILE")
        return EXIT_USAGE
    if args.until is not None:
        _usage_error(
            "--until runs a replay's clock on: give --events FILE (a test file says "
            "`until:` per test)"
        )
        return EXIT_USAGE
    if args.explain:
        _usage_error("--explain explains the events of a replay: give --events FILE")
        return EXIT_USAGE
    if args.strict:
        _usage_error("--strict holds the events of a replay to the schema: give --events FILE")
        return EXIT_USAGE
    files = find_test_files(paths)
    if not files:
        _usage_error(f"no YAML rule test files in {', '.join(map(str, paths))}")
        return EXIT_USAGE
    now = SYSTEM_CLOCK.now()
    results = [
        result
        for path in files
        for result in run_test_file(
            path, lambda found: _load(settings, found), settings.engine, now
        )
    ]
    if args.format == "json":
        write_json(results, sys.stdout)
    else:
        write_text(results, sys.stdout, Painter(wants_colour(sys.stdout)))
    return EXIT_OK if all(result.passed for result in results) else EXIT_FAILED


def _load(settings: Settings, paths: Sequence[Path]) -> list[Rule]:
    # The on-call file's people and schedules are recipients rules may name; its own errors
    # are `alertd check`'s to report (a replay sends nothing), so what could be read will do.
    oncall, _errors = load_oncall(settings)
    try:
        return load_rules(
            paths,
            channels=settings.channel_names(),
            groups=recipient_groups(settings.recipients, oncall),
            timestamp_field=settings.engine.timestamp_field,
            policies=escalation_policies(oncall),
        )
    except RuleErrors as exc:
        raise RuleFilesError(exc.format()) from None


def _usage_error(message: str) -> None:
    print(f"alertd test-rule: error: {message}", file=sys.stderr)
