"""Rule unit tests in YAML, the analogue of `promtool test rules`.

    rule_files: [../safety.rules]   # relative to this file
    tests:
      - name: repeated critical events page once per 5 minutes
        events:
          - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:00Z}
          - {type: safety_event, severity: critical, vehicle_id: v1, timestamp: 2026-01-01T10:02Z}
        expect:
          - {event: 0, rule: critical_safety_event, decision: fired}
          - {event: 1, rule: critical_safety_event, decision: suppressed}

Each test replays its events through a fresh engine, with its timers on event time
(alertd.ruletest.engine). Every decision but counting (fired, suppressed, absorbed, resolved)
must be listed in `expect`, so a test catches over-alerting as well as silence; counting
decisions are checked only where listed. An expectation may also pin the `key` (a list) and, for
a fired decision, the `suppressed_count` the alert carries. A decision no event caused (a timer:
`resolve after`) is expected by its time instead of an event, `{at: TIME, rule: ..., decision:
resolved}`; a test's `until: TIME` runs the clock on after its last event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

from alertd.config import EngineSettings
from alertd.dsl.explain import explain
from alertd.durations import format_duration
from alertd.engine.engine import Engine
from alertd.engine.errors import EventTimeError, InvalidEvent
from alertd.engine.eventtime import format_time, parse_event_time
from alertd.engine.memory_store import MemoryStore
from alertd.engine.ruleset import RuleSet
from alertd.model import DECISION_KINDS, Decision, DecisionKind, Rule
from alertd.ruletest.engine import ReplayEngine
from alertd.ruletest.events import YAML_SUFFIXES
from alertd.ruletest.formats import DocumentError, dump_json, load_json, load_yaml
from alertd.ruletest.report import describe, format_key
from alertd.ruletest.terminal import Painter
from alertd.suggest import aside
from alertd.wording import counted

RuleLoader = Callable[[Sequence[Path]], list[Rule]]
"""Loads rule files; raises RuleFilesError with every problem, already formatted."""

_FILE_KEYS = ("rule_files", "tests")
_TEST_KEYS = ("name", "events", "expect", "until")
_EXPECT_KEYS = ("event", "at", "rule", "decision", "key", "suppressed_count")


class RuleFilesError(Exception):
    """The rule files a test file names cannot be loaded; str() is the full report."""


class TestFileError(Exception):
    """A test file that is not valid; `problems` lists every one, each fit to print."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Expectation:
    event: int | None  # None: a timer's decision, at `at`
    rule: str
    decision: DecisionKind
    key: list[Any] | None = None
    suppressed_count: int | None = None
    where: str = ""
    at: float | None = None

    @property
    def slot(self) -> _Slot:
        return (self.event, self.at, self.rule)


_Slot = tuple[int | None, float | None, str]
"""Where a decision is expected: (event index, None, rule), or a timer's (None, time, rule)."""


@dataclass(frozen=True, slots=True)
class RuleTest:
    name: str
    events: list[Any]
    expect: list[Expectation]
    until: float | None = None


@dataclass(frozen=True, slots=True)
class RuleTestFile:
    path: Path
    rule_files: list[Path]
    tests: list[RuleTest]


@dataclass(slots=True)
class RuleTestResult:
    """The result of one test (`name`), or of a whole file that could not run (`name` None)."""

    path: Path
    name: str | None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def find_test_files(paths: Iterable[Path]) -> list[Path]:
    """Each file as given; each folder's YAML files, recursively, in sorted order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def parse_test_file(path: Path) -> RuleTestFile:
    """Read and validate a test file. Raises TestFileError listing every problem."""
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TestFileError([f"cannot read the test file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise TestFileError(["the test file is not UTF-8 text"]) from None
    except DocumentError as exc:
        raise TestFileError([exc.at(str(path))]) from None
    problems: list[str] = []
    if not isinstance(document, dict):
        raise TestFileError(["expected a mapping with rule_files and tests"])
    problems += _unknown_keys(document, _FILE_KEYS, "")
    rule_files, problem = _nonempty_list(
        document.get("rule_files"), "rule file paths", "list the rule files to test"
    )
    if problem is None and not _is_list_of(rule_files, str):
        rule_files, problem = [], "expected a list of rule file paths"
    if problem:
        problems.append(f"rule_files: {problem}")
    raw_tests, problem = _nonempty_list(
        document.get("tests"), "tests", "a test file needs at least one test"
    )
    if problem:
        problems.append(f"tests: {problem}")
    tests = []
    names: set[str] = set()
    for number, raw in enumerate(raw_tests):
        test = _parse_test(raw, f"tests[{number}]", problems)
        if test is None:
            continue
        if test.name in names:
            problems.append(f"tests[{number}]: a second test named {test.name!r}")
        names.add(test.name)
        tests.append(test)
    if problems:
        raise TestFileError(problems)
    return RuleTestFile(path, [path.parent / name for name in rule_files], tests)


def run_test(rules: RuleSet, test: RuleTest, settings: EngineSettings, now: float) -> list[str]:
    """Replay one test's events through a fresh engine; return its failures (none: it passed)."""
    engine = ReplayEngine(Engine.configured(rules, MemoryStore(), settings, live=False))
    failures: list[str] = []
    actual: dict[_Slot, Decision] = {}
    decisions: list[Decision] = []
    for index, event in enumerate(test.events):
        try:
            decisions += engine.process(event, now, index)
        except InvalidEvent as exc:
            failures.append(f"event {index}: invalid event: {exc}")
    if test.until is not None:
        decisions += engine.run_until(test.until)
    for decision in decisions:
        timer = decision.event_index is None
        at = decision.event_time if timer else None
        actual[(decision.event_index, at, decision.rule_id)] = decision
    listed: set[_Slot] = set()
    for expected in test.expect:
        listed.add(expected.slot)
        problem = _compare(expected, actual.get(expected.slot))
        if problem:
            problem += _mismatches(rules, expected, test.events)
            failures.append(f"{_place(*expected.slot)}: {problem}")
    for slot, decision in sorted(actual.items(), key=lambda item: _order(item[0])):
        if decision.kind != "counting" and slot not in listed:
            failures.append(
                f"{_place(*slot)}: {decision.kind} (key {format_key(decision.key)}), not expected"
            )
    return failures


def _place(event: int | None, at: float | None, rule: str) -> str:
    """`event 3, rule r`, or a timer's `at 2026-01-05T10:30:00Z, rule r`."""
    return f"event {event}, rule {rule}" if at is None else f"at {format_time(at)}, rule {rule}"


def _order(slot: _Slot) -> tuple[float, int, str]:
    event, at, rule = slot
    return (at if at is not None else -1.0, event if event is not None else -1, rule)


def run_test_file(
    path: Path, load_rules: RuleLoader, settings: EngineSettings, now: float
) -> list[RuleTestResult]:
    try:
        test_file = parse_test_file(path)
        rules = RuleSet(load_rules(test_file.rule_files))
    except TestFileError as exc:
        return [RuleTestResult(path, None, exc.problems)]
    except RuleFilesError as exc:
        return [RuleTestResult(path, None, [str(exc)])]
    unknown = _unknown_rules(test_file, rules)
    if unknown:
        return [RuleTestResult(path, None, unknown)]
    return [
        RuleTestResult(path, test.name, run_test(rules, test, settings, now))
        for test in test_file.tests
    ]


def write_text(results: list[RuleTestResult], out: TextIO, paint: Painter) -> None:
    current: Path | None = None
    for result in results:
        if result.path != current:
            current = result.path
            out.write(paint(str(result.path), "bold") + "\n")
        if result.name is None:
            for problem in result.failures:
                out.write(f"  {paint('error', 'bold', 'red')}: {_indent(problem, 4)}\n")
            continue
        mark = paint("ok  ", "green") if result.passed else paint("FAIL", "bold", "red")
        out.write(f"  {mark}  {result.name}\n")
        for failure in result.failures:
            out.write(f"          {_indent(failure, 10)}\n")
    tests = [o for o in results if o.name is not None]
    failed = sum(1 for o in tests if not o.passed)
    broken = len({o.path for o in results if o.name is None})
    files = len({o.path for o in results})
    line = (
        f"\n{counted(len(tests), 'test')} in {counted(files, 'file')}: "
        f"{len(tests) - failed} passed, {failed} failed"
    )
    if broken:
        line += f"; {counted(broken, 'file')} could not run"
    out.write(line + "\n")


def write_json(results: list[RuleTestResult], out: TextIO) -> None:
    for result in results:
        if result.name is None:
            out.write(dump_json({"file": str(result.path), "errors": result.failures}) + "\n")
            continue
        line = {
            "file": str(result.path),
            "test": result.name,
            "passed": result.passed,
            "failures": result.failures,
        }
        out.write(dump_json(line) + "\n")
    tests = [o for o in results if o.name is not None]
    passed = sum(1 for o in tests if o.passed)
    summary = {
        "tests": len(tests),
        "passed": passed,
        "failed": len(tests) - passed,
        "errors": sum(1 for o in results if o.name is None),
    }
    out.write(dump_json({"summary": summary}) + "\n")


def _parse_test(raw: object, where: str, problems: list[str]) -> RuleTest | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with name, events and expect")
        return None
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where} {name!r}"
    else:
        problems.append(f"{where}: name: expected the test's name")
        name = where
    count = len(problems)
    problems += _unknown_keys(raw, _TEST_KEYS, f"{where}: ")
    events, problem = _nonempty_list(raw.get("events"), "events", "a test needs at least one event")
    if problem:
        problems.append(f"{where}: events: {problem}")
    expect = raw.get("expect", [])
    if not isinstance(expect, list):
        problems.append(f"{where}: expect: expected a list of {{event, rule, decision}}")
        expect = []
    expectations = [
        _parse_expectation(item, f"{where}: expect[{number}]", len(events), problems)
        for number, item in enumerate(expect)
    ]
    until = _time(raw, "until", where, problems)
    if len(problems) > count:
        return None
    return RuleTest(name, events, [e for e in expectations if e is not None], until)


def _time(raw: dict[Any, Any], name: str, where: str, problems: list[str]) -> float | None:
    """`raw[name]`, a time written as an event's timestamp is (ISO-8601 with a zone, or
    epoch); None when it is not there."""
    value = raw.get(name)
    if value is None:
        return None
    try:
        return parse_event_time(value, name)
    except EventTimeError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _parse_expectation(
    raw: object, where: str, event_count: int, problems: list[str]
) -> Expectation | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected {{event: N, rule: ID, decision: KIND}}")
        return None
    count = len(problems)
    problems += _unknown_keys(raw, _EXPECT_KEYS, f"{where}: ")
    event = raw.get("event")
    at = _time(raw, "at", where, problems)
    if "at" in raw and "event" in raw:
        problems.append(
            f"{where}: give either event (a decision of that event) or at (a timer's), not both"
        )
    elif "at" in raw:
        event = None
        if raw.get("decision") not in ("resolved", "fired"):
            problems.append(
                f"{where}: at: only a resolved decision (resolve after) or a fired one (absent) "
                "is made by a timer"
            )
    elif isinstance(event, bool) or not isinstance(event, int) or not 0 <= event < event_count:
        problems.append(
            f"{where}: event: expected the index of one of the test's events, 0 to "
            f"{event_count - 1}, got {_shown(event)}"
        )
    rule = raw.get("rule")
    if not isinstance(rule, str):
        problems.append(f"{where}: rule: expected a rule id, got {_shown(rule)}")
    decision = raw.get("decision")
    if decision not in DECISION_KINDS:
        problems.append(
            f"{where}: decision: expected fired, suppressed, counting, absorbed or resolved, got "
            f"{_shown(decision)}"
        )
    key = raw.get("key")
    if key is not None and not isinstance(key, list):
        problems.append(f"{where}: key: expected a list of values, got {_shown(key)}")
    suppressed = raw.get("suppressed_count")
    if suppressed is not None and (
        isinstance(suppressed, bool) or not isinstance(suppressed, int) or suppressed < 0
    ):
        problems.append(
            f"{where}: suppressed_count: expected a whole number, got {_shown(suppressed)}"
        )
    elif suppressed is not None and decision != "fired":
        problems.append(f"{where}: suppressed_count: only a fired decision carries one")
    if len(problems) > count:
        return None
    return Expectation(
        cast(int | None, event),
        cast(str, rule),
        cast(DecisionKind, decision),
        key,
        suppressed,
        where,
        at,
    )


def _compare(expected: Expectation, actual: Decision | None) -> str:
    if actual is None:
        if expected.event is None:
            return f"expected {expected.decision}, got no decision (no timer of the rule ran then)"
        return f"expected {expected.decision}, got no decision (the rule did not match)"
    if actual.kind != expected.decision:
        got: str = actual.kind
        if actual.kind == "counting" and actual.count is not None:  # a count window's
            got += f" ({actual.count} in the window)"
        elif actual.kind == "counting" and actual.held is not None:  # a `for` run's
            got += f" (held for {format_duration(actual.held)})"
        return f"expected {expected.decision}, got {got} (key {format_key(actual.key)})"
    if expected.key is not None and _plain(list(actual.key)) != expected.key:
        return f"expected key {dump_json(expected.key)}, got {dump_json(list(actual.key))}"
    if expected.suppressed_count is not None and actual.alert is not None:
        got_count = actual.alert.suppressed_count
        if got_count != expected.suppressed_count:
            return f"expected suppressed_count {expected.suppressed_count}, got {got_count}"
    return ""


def _mismatches(rules: RuleSet, expected: Expectation, events: list[Any]) -> str:
    """The type mismatches the rule met on the event, which may be why it did not match."""
    rule = rules.by_id.get(expected.rule)
    if expected.event is None:
        return ""
    event = events[expected.event]
    explanation = explain(rule, event) if rule is not None and isinstance(event, dict) else None
    if explanation is None or not explanation.mismatches:
        return ""
    return "".join(f"\n  type mismatch: {describe(m)}" for m in explanation.mismatches)


def _unknown_rules(test_file: RuleTestFile, rules: RuleSet) -> list[str]:
    problems = []
    for test in test_file.tests:
        for expected in test.expect:
            if expected.rule not in rules.by_id:
                problems.append(
                    f"{expected.where}: rule: no rule {expected.rule!r} in the rule files"
                    f"{aside(expected.rule, rules.by_id)}"
                )
    return problems


def _unknown_keys(table: dict[Any, Any], known: Sequence[str], where: str) -> list[str]:
    return [
        f"{where}unknown key {key!r}{aside(str(key), known)}" for key in table if key not in known
    ]


def _nonempty_list(value: object, items: str, needed: str) -> tuple[list[Any], str | None]:
    """`value` if it is a list with something in it, else an empty list and what is wrong."""
    if not isinstance(value, list):
        return [], f"expected a list of {items}"
    if not value:
        return [], f"the list is empty; {needed}"
    return value, None


def _is_list_of(value: object, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _plain(value: object) -> Any:
    """A key as YAML would hold it: tuples become lists."""
    return load_json(dump_json(value))


def _shown(value: object) -> str:
    return "nothing" if value is None else dump_json(value)


def _indent(text: str, spaces: int) -> str:
    return text.replace("\n", "\n" + " " * spaces)
