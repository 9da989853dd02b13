"""`alertd check [PATH...]`: validate rules (and, in later steps, what they name) offline.

The check is a short list of steps; each takes what earlier steps found and returns its errors,
so a new kind of check (templates, say) is one more function in `STEPS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alertd.config import Settings
from alertd.dsl import RuleError, RuleErrors, find_rule_files, load_rules
from alertd.model import Rule
from alertd.notify.preview import check_templates as check_templates_of

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


@dataclass
class CheckRun:
    """What the steps share: the settings, the paths to check, and what was loaded."""

    settings: Settings
    paths: list[Path]
    files: list[Path] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


Step = Callable[[CheckRun], list[RuleError]]


def check_rules(run: CheckRun) -> list[RuleError]:
    """Parse, check and compile every rule file, against the config's channels and groups."""
    run.files, _ = find_rule_files(run.paths)
    try:
        run.rules = load_rules(
            run.paths,
            channels=run.settings.channel_names(),
            groups=run.settings.recipients.keys(),
            timestamp_field=run.settings.engine.timestamp_field,
        )
    except RuleErrors as exc:
        return exc.errors
    return []


class TemplateCheckError(RuleError):
    """A template problem: templates have a line but no column."""

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: error: {self.message}"


def check_templates(run: CheckRun) -> list[RuleError]:
    """Compile the templates and render every rule's against a sample event (alertd.notify)."""
    return [
        TemplateCheckError(p.path, p.line, 0, p.message)
        for p in check_templates_of(run.settings, run.rules)
    ]


STEPS: list[Step] = [check_rules, check_templates]


def main(settings: Settings, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or list(settings.rules.paths)
    missing = [path for path in paths if not path.exists()]
    if missing:
        where = "" if args.paths else f" (from {settings.source} [rules] paths)"
        for path in missing:
            print(f"alertd check: error: {path}: no such file or directory{where}", file=sys.stderr)
        return EXIT_USAGE
    run = CheckRun(settings, paths)
    errors: list[RuleError] = []
    for step in STEPS:
        errors += step(run)
    if errors:
        for error in errors:
            print(error.format(), file=sys.stderr)
        print(f"alertd check: {_plural(len(errors), 'error')}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{_plural(len(run.rules), 'rule')} in {_plural(len(run.files), 'file')} OK")
    return EXIT_OK


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
