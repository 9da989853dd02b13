"""The front door of the rule language: files and folders in, compiled rules out."""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from alertd.dsl import ast
from alertd.dsl.checker import check
from alertd.dsl.compiler import compile_rules
from alertd.dsl.errors import RuleError, RuleErrors, UnknownName
from alertd.dsl.parser import parse
from alertd.model import CHANNEL_KINDS, Rule

RULE_SUFFIX = ".rules"


def rule_path_problem(path: Path) -> str | None:
    """Why a configured or given path names no rules: it does not exist, or it is a folder
    without a single *.rules file (a typo'd or wrong folder would otherwise pass as "0 rules
    OK"). None when it names some. `alertd check` and `alertd run` refuse such a path alike."""
    if not path.exists():
        return "no such file or directory"
    if path.is_dir() and not find_rule_files([path])[0]:
        return "no *.rules file in this folder or its subfolders"
    return None


def find_rule_files(paths: Sequence[Path]) -> tuple[list[Path], list[RuleError]]:
    """The files to load: each file as given, each folder's *.rules files (recursively, in
    sorted order), each file once. A path that does not exist is an error."""
    found: list[Path] = []
    errors: list[RuleError] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob(f"*{RULE_SUFFIX}") if p.is_file())
        elif path.exists():
            candidates = [path]
        else:
            errors.append(RuleError(str(path), 0, 0, "no such file or directory"))
            continue
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(candidate)
    return found, errors


def load_rules(
    paths: Sequence[Path],
    *,
    channels: Collection[str] = CHANNEL_KINDS,
    groups: Collection[str] | None = None,
    timestamp_field: str = "timestamp",
    templates: Path | None = None,
    policies: Collection[str] | None = None,
) -> list[Rule]:
    """Load, check and compile rule files and folders (folders: their *.rules files,
    recursively, in sorted order). Lists and macros are shared by all the files.

    Raises RuleErrors holding every error across all files, sorted by path, line, column.
    `groups=None` means recipient groups are not checked; with `templates` (the templates
    folder), a `template "NAME"` clause must name one of its folders; with `policies` (the
    on-call file's escalation policies), an `escalate POLICY` clause must name one of them.
    """
    rules, errors = load_with_errors(
        paths,
        channels=channels,
        groups=groups,
        timestamp_field=timestamp_field,
        templates=templates,
        policies=policies,
    )
    if errors:
        raise RuleErrors(errors)
    return rules


def load_with_errors(
    paths: Sequence[Path],
    *,
    channels: Collection[str] = CHANNEL_KINDS,
    groups: Collection[str] | None = None,
    timestamp_field: str = "timestamp",
    templates: Path | None = None,
    policies: Collection[str] | None = None,
) -> tuple[list[Rule], list[RuleError]]:
    """`load_rules` without raising: every error, and the rules without an error of their own,
    compiled (so that `alertd check` can go on to check their templates). Never raises."""
    files, errors = find_rule_files(paths)
    sources: list[tuple[str, str]] = []
    for path in files:
        text, error = _read(path)
        if error is not None:
            errors.append(error)
        else:
            sources.append((str(path), text))
    rules = _load(
        sources,
        errors,
        channels=channels,
        groups=groups,
        timestamp_field=timestamp_field,
        templates=_template_sets(templates),
        policies=policies,
    )
    _point_to_other_files(errors, files)
    return rules, sorted(errors, key=RuleError.sort_key)


def compile_text(
    text: str,
    path: str = "<rules>",
    *,
    channels: Collection[str] = CHANNEL_KINDS,
    groups: Collection[str] | None = None,
    timestamp_field: str = "timestamp",
    policies: Collection[str] | None = None,
) -> list[Rule]:
    """`load_rules` for one text (tests, benchmarks, rules from an API). Raises RuleErrors."""
    errors: list[RuleError] = []
    rules = _load(
        [(path, text)],
        errors,
        channels=channels,
        groups=groups,
        timestamp_field=timestamp_field,
        templates=None,
        policies=policies,
    )
    if errors:
        raise RuleErrors(errors)
    return rules


def load_draft(
    text: str,
    path: str,
    *,
    shared: Sequence[Path],
    channels: Collection[str] = CHANNEL_KINDS,
    groups: Collection[str] | None = None,
    timestamp_field: str = "timestamp",
    templates: Path | None = None,
    policies: Collection[str] | None = None,
) -> tuple[list[Rule], list[RuleError]]:
    """Rules written in `text` (a draft tried before it is saved anywhere, named `path` in its
    errors), checked with the lists and macros of the rule files and folders `shared` (the
    running ones), but none of their rules, so that a draft may be a running rule edited,
    under its own id. A list or macro the draft defines replaces the shared one of that name.
    Returns the draft's rules without an error of their own, compiled, and the draft's errors.
    Never raises."""
    draft, errors = parse(text, path)
    own = {item.name.value for item in draft.items if not isinstance(item, ast.RuleDef)}
    parsed = [draft]
    for file in find_rule_files(shared)[0]:
        content, error = _read(file)
        if error is not None:
            continue  # the running rules' files are not the draft's to report
        running = parse(content, str(file))[0]
        names = tuple(
            item
            for item in running.items
            if not isinstance(item, ast.RuleDef) and item.name.value not in own
        )
        parsed.append(ast.RuleFile(running.path, names, running.lines))
    with _collector_paused():
        checked, check_errors = check(
            parsed,
            channels=channels,
            groups=groups,
            templates=_template_sets(templates),
            policies=policies,
        )
    errors += [error for error in check_errors if error.path == path]
    mine = [rule for rule in checked if rule.location.path == path]
    try:
        rules = compile_rules(mine, timestamp_field)
    except RuleErrors as exc:
        for error in exc.errors:
            error.source_line = draft.source_line(error.line)
        errors += exc.errors
        rules = []
    return rules, sorted(errors, key=RuleError.sort_key)


def _load(
    sources: Sequence[tuple[str, str]],
    errors: list[RuleError],
    *,
    channels: Collection[str],
    groups: Collection[str] | None,
    timestamp_field: str,
    templates: Collection[str] | None,
    policies: Collection[str] | None,
) -> list[Rule]:
    """The rules of these texts without an error of their own, compiled; every error found
    goes in `errors`. While there are errors, the rules are only compiled to be looked at."""
    with _collector_paused():
        parsed: list[ast.RuleFile] = []
        for path, text in sources:
            rule_file, syntax_errors = parse(text, path)
            parsed.append(rule_file)
            errors.extend(syntax_errors)
        checked, check_errors = check(
            parsed, channels=channels, groups=groups, templates=templates, policies=policies
        )
        errors.extend(check_errors)
        try:
            return compile_rules(checked, timestamp_field)
        except RuleErrors as exc:
            lines = {rule_file.path: rule_file for rule_file in parsed}
            for error in exc.errors:
                error.source_line = lines[error.path].source_line(error.line)
            errors.extend(exc.errors)
            return []


def _template_sets(folder: Path | None) -> frozenset[str] | None:
    """The names a `template` clause may give: the folders under the templates folder (None,
    not checked, without one)."""
    if folder is None or not folder.is_dir():
        return None
    return frozenset(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())


def _point_to_other_files(errors: Sequence[RuleError], files: Sequence[Path]) -> None:
    """Lists and macros are shared only by the files loaded together: checking one file of a
    folder whose lists live in another makes every use of them unknown. Where a *.rules file
    beside the files loaded defines such a name, the hint says so (instead of guessing that a
    field or a typo was meant)."""
    unknown = [error for error in errors if isinstance(error, UnknownName)]
    if not unknown:
        return
    loaded = {path.resolve() for path in files}
    defined: dict[str, tuple[str, Path, Path]] = {}  # name -> its kind, its file, the folder
    for folder in sorted({path.parent for path in files}):
        for sibling in sorted(folder.glob(f"*{RULE_SUFFIX}")):
            if sibling.resolve() in loaded or not sibling.is_file():
                continue
            text, error = _read(sibling)
            if error is not None:
                continue
            for item in parse(text, str(sibling))[0].items:
                if not isinstance(item, ast.RuleDef):
                    kind = "list" if isinstance(item, ast.ListDef) else "macro"
                    defined.setdefault(item.name.value, (kind, sibling, folder))
    for error in unknown:
        if error.name in defined:
            kind, where, folder = defined[error.name]
            error.suggestion = (
                f"'{error.name}' is a {kind} in {where}, not checked with this file: lists and "
                "macros are shared only by the files checked together; check the whole folder: "
                f"alertd check {folder}"
            )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while rules load.

    Loading makes a hundred-odd objects per rule (tokens, tree nodes, code) and nearly all of
    them live on until the load ends, so each collection it triggers finds nothing to free;
    it only walks them again, and a full one walks the daemon's whole heap (its windows, its
    queued events). That was a third of the load time on a small heap and more than half on a
    large one (bench/README.md). What garbage the load leaves, the next collection frees.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(path: Path) -> tuple[str, RuleError | None]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return "", RuleError(str(path), 0, 0, f"cannot read the file: {exc.strerror}")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return "", RuleError(
            str(path),
            line,
            column,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            "save the file as UTF-8",
        )
