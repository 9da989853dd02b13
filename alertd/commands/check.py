"""`alertd check [PATH...]`: validate rules and templates offline, reporting every error.

The check is a short list of steps; each takes what earlier steps found and returns its errors,
so a new kind of check is one more function in `STEPS`. Every step runs, whatever the earlier
ones found: templates are checked for the rules that compiled even when others did not.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alertd.config import Settings
from alertd.dsl import RuleError, find_rule_files, load_with_errors, rule_path_problem
from alertd.dsl.schema_check import schema_problems
from alertd.eventschema import load_schema
from alertd.model import Rule
from alertd.notify.channels import sending_problems
from alertd.notify.errors import TemplateProblem
from alertd.notify.preview import check_templates as check_templates_of
from alertd.oncall import (
    OnCall,
    escalation_policies,
    load_oncall,
    oncall_path_problem,
    recipient_groups,
)
from alertd.wording import counted

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


@dataclass
class CheckRun:
    """What the steps share: the settings, the paths to check, and what was loaded."""

    settings: Settings
    paths: list[Path]
    files: list[Path] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    oncall: OnCall | None = None


Step = Callable[[CheckRun], list[RuleError]]


def check_oncall(run: CheckRun) -> list[RuleError]:
    """The on-call file, if one is configured (alertd.oncall). Keeps what it read, for the
    `oncall:` and `person:` recipients of the rules."""
    run.oncall, errors = load_oncall(run.settings)
    return errors


def check_rules(run: CheckRun) -> list[RuleError]:
    """Parse, check and compile every rule file, against the config's channels, recipient
    groups (and the on-call file's), escalation policies and templates folder. Keeps the
    rules that compiled for the steps after it."""
    run.files, _ = find_rule_files(run.paths)
    run.rules, errors = load_with_errors(
        run.paths,
        channels=run.settings.channel_names(),
        groups=recipient_groups(run.settings.recipients, run.oncall),
        timestamp_field=run.settings.engine.timestamp_field,
        templates=run.settings.rules.templates,
        policies=escalation_policies(run.oncall),
    )
    return errors


def check_templates(run: CheckRun) -> list[RuleError]:
    """Compile every template and render them against a sample event (alertd.notify)."""
    folder = run.settings.rules.templates
    if not folder.is_dir():  # nothing to render: one error, about the setting, not a file
        where = _origin(run.settings, "templates")
        return [RuleError(str(folder), 0, 0, f"templates folder not found ({where})")]
    errors = [
        _template_error(problem)
        if Path(problem.path).is_relative_to(folder)
        else _config_error(run.settings, problem)
        for problem in check_templates_of(run.settings, run.rules)
    ]
    return sorted(errors, key=RuleError.sort_key)


def _config_error(settings: Settings, problem: TemplateProblem) -> RuleError:
    """A problem of the settings templates are rendered with (`[notify] timezone`): the place
    is a key of the config file, not a line of a template."""
    return RuleError(str(settings.source), 0, 0, f"{problem.path}: {problem.message}")


_QUOTED = re.compile(r"'([^']+)'")


def _template_error(problem: TemplateProblem) -> RuleError:
    """A template problem as `path:line:col: error: ...` with its line and a caret. Jinja gives
    the line only: the caret goes under the first thing the message quotes that is on that
    line (`unexpected '}'`), else at column 1. Without a line (a file that cannot be read or
    is missing), line 1, column 1: every error names its file and a place in it."""
    line = max(problem.line, 1)
    source = _line_of(problem.path, line)
    column, width = 1, 1
    for quoted in _QUOTED.findall(problem.message):
        # A name is looked for as a whole word: attribute 'e' is not the e of `event`.
        word = rf"(?<!\w){re.escape(quoted)}(?!\w)" if quoted.isidentifier() else re.escape(quoted)
        found = None if source is None else re.search(word, source)
        if found is not None:
            column, width = found.start() + 1, len(quoted)
            break
    return RuleError(problem.path, line, column, problem.message, source_line=source, width=width)


def _line_of(path: str, line: int) -> str | None:
    """The text of a line of the file, "" past its end; None when the file cannot be read."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None
    return lines[line - 1] if line <= len(lines) else ""


def check_schema(run: CheckRun) -> list[RuleError]:
    """With `[rules] schema`, the schema file itself, then the rules that compiled against it:
    fields no event of a rule's scope has, comparisons of the wrong kind, unknown event types
    (alertd.dsl.schema_check)."""
    path = run.settings.rules.schema
    if path is None:
        return []
    schema, errors = load_schema(path)
    if schema is None:
        return errors
    return schema_problems(run.rules, schema)


STEPS: list[Step] = [check_oncall, check_rules, check_templates, check_schema]


def main(settings: Settings, args: argparse.Namespace) -> int:
    unable = sending_problems(settings)  # channels `alertd run` would refuse to start with
    for message in unable:
        print(f"alertd check: error: {settings.source}: {message}", file=sys.stderr)
    if unable:
        return EXIT_USAGE
    paths = [Path(p) for p in args.paths] or list(settings.rules.paths)
    wrong = [(path, problem) for path in paths if (problem := rule_path_problem(path))]
    if wrong:
        where = "" if args.paths else f" ({_origin(settings, 'paths')})"
        for path, problem in wrong:
            print(f"alertd check: error: {path}: {problem}{where}", file=sys.stderr)
        return EXIT_USAGE
    unreadable = oncall_path_problem(settings)
    if unreadable is not None:
        print(f"alertd check: error: {unreadable}", file=sys.stderr)
        return EXIT_USAGE
    run = CheckRun(settings, paths)
    errors: list[RuleError] = []
    for step in STEPS:
        errors += step(run)
    if errors:
        for error in errors:
            print(error.format(), file=sys.stderr)
        print(f"alertd check: {counted(len(errors), 'error')}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{counted(len(run.rules), 'rule')} in {counted(len(run.files), 'file')} OK")
    if run.oncall is not None:
        print(f"{run.oncall.source} OK: {_oncall_summary(run.oncall)}")
    return EXIT_OK


def _oncall_summary(oncall: OnCall) -> str:
    return ", ".join(
        [
            counted(len(oncall.people), "person", "people"),
            counted(len(oncall.schedules), "schedule"),
            counted(len(oncall.policies), "escalation policy", "escalation policies"),
            counted(len(oncall.maintenance), "maintenance window"),
        ]
    )


def _origin(settings: Settings, key: str) -> str:
    """Where a `[rules]` setting came from: the config file, or the default when there is no
    config file (alertd.cli runs with the defaults then) or the file does not set it (so
    nobody looks in alertd.toml for a line that is not there)."""
    if not settings.source.is_file():
        return f"the default [rules] {key}: there is no config file {settings.source}"
    try:
        with settings.source.open("rb") as file:
            written = key in tomllib.load(file).get("rules", {})
    except (OSError, tomllib.TOMLDecodeError):  # it loaded a moment ago: say what it may be
        written = True
    if written:
        return f"from {settings.source} [rules] {key}"
    return f"the default [rules] {key}, which {settings.source} does not set"
