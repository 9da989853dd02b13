"""Why each rule of an event's scope did or did not fire: one `Verdict` per (event, rule).

`alertd test-rule --explain`, `POST /v1/explain` and the console's playground all show the same
thing, made here from the engine's decisions and the reference interpreter
(alertd.dsl.explain):

- a rule whose condition held has the engine's decision (fired, suppressed, counting, and the
  decisions later rule kinds add) and the state of its windows after the event, in `details`:
  `2 of 3 within 10m`, `suppressed until ...`;
- a rule of the event's scope (alertd.engine.ruleset: the rules that can match its type) whose
  condition did not hold is `no_match`, with the parts that were false (`failures`), as written
  and with the values they read; type mismatches are among them as such.

What a decision says about its windows comes from the detail hooks: a function of the rule and
the decision returning the `Detail`s that apply. The count and suppress windows have theirs
here; a rule kind of its own (absent, for, ...) registers one with `@detail_hook`, so every
view of a verdict shows its state without knowing the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertd import jsonutil
from alertd.dsl.explain import Failure, Mismatch, explain
from alertd.durations import format_duration
from alertd.engine.eventtime import format_time
from alertd.engine.ruleset import RuleSet
from alertd.model import Decision, Key, Rule
from alertd.wording import counted

NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Detail:
    """One fact about a rule's windows after an event: `name` and `value` for JSON (`"window":
    "2 of 3 within 10m"`), `text` for people (`2 of 3 within 10m`)."""

    name: str
    value: Any
    text: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one rule made of one event, and why."""

    event_index: int
    event_time: float
    rule_id: str
    decision: str  # the engine's decision kind, or "no_match"
    key: Key | None = None  # the decision's key; None for no_match
    details: tuple[Detail, ...] = ()  # the windows after the event (decisions only)
    failures: tuple[Failure, ...] = ()  # why the condition did not hold (no_match only)
    mismatches: tuple[Mismatch, ...] = ()  # every type mismatch met, failures' included
    source: Decision | None = None  # the engine's decision, for those who want the alert

    @property
    def matched(self) -> bool:
        return self.decision != NO_MATCH


DetailHook = Callable[[Rule, Decision], Iterable[Detail]]
DETAIL_HOOKS: list[DetailHook] = []


def detail_hook(hook: DetailHook) -> DetailHook:
    """Register what a rule kind says about its state after a decision (see the module doc)."""
    DETAIL_HOOKS.append(hook)
    return hook


def details(rule: Rule | None, decision: Decision) -> tuple[Detail, ...]:
    """Every registered hook's details for a decision of `rule` (none for an unknown rule)."""
    if rule is None:
        return ()
    return tuple(detail for hook in DETAIL_HOOKS for detail in hook(rule, decision))


@detail_hook
def _count_window(rule: Rule, decision: Decision) -> Iterator[Detail]:
    count = rule.count
    if count is None:
        return
    within = format_duration(count.within)
    if decision.kind == "counting" and decision.count is not None:
        text = f"{decision.count} of {count.threshold} within {within}"
        yield Detail("window", text, text)
    elif decision.kind == "fired":
        reached = f"{count.threshold} of {count.threshold} within {within}"
        yield Detail("window", reached, f"{count.threshold} within {within}")


@detail_hook
def _suppression(rule: Rule, decision: Decision) -> Iterator[Detail]:
    if decision.kind == "suppressed" and decision.suppressed_until is not None:
        until = format_time(decision.suppressed_until)
        yield Detail("suppressed_until", until, f"suppressed until {until}")
    alert = decision.alert
    if decision.kind == "fired" and alert is not None and alert.suppressed_count:
        n = alert.suppressed_count
        yield Detail("suppressed_count", n, f"{n} suppressed since the last alert")


@detail_hook
def _open_alert(rule: Rule, decision: Decision) -> Iterator[Detail]:
    """A rule with `resolve`: a match folded into the open alert, and how that alert ended."""
    resolve = rule.resolve
    if decision.kind == "absorbed":
        yield Detail("alert", decision.alert_id, "folded into the open alert of its key")
    elif decision.kind == "resolved" and resolve is not None:
        if decision.event_index is None:  # a timer's: `resolve after`
            quiet = f" for {format_duration(resolve.after)}" if resolve.after is not None else ""
            yield Detail("resolved_by", "resolve after", f"no match{quiet} (resolve after)")
        else:
            when = " ".join(resolve.when_source.split())
            yield Detail("resolved_by", "resolve when", f"resolve when {when}")


def verdicts(
    rules: RuleSet,
    event: Mapping[str, Any],
    index: int,
    time: float,
    decisions: Sequence[Decision],
) -> list[Verdict]:
    """The verdict of every rule of the event's scope, in file order, given the decisions the
    engine made for it (those of this event only). A rule that cannot match the event but whose
    `resolve when` it met is there with its "resolved"."""
    made = {decision.rule_id: decision for decision in decisions if decision.event_index == index}
    found: list[Verdict] = []
    scope = list(rules.candidates(event))
    scope += [r for r in rules.resolvers(event) if r.id in made and r not in scope]
    for rule in scope:
        explanation = explain(rule, event)
        mismatches = explanation.mismatches if explanation is not None else ()
        decision = made.get(rule.id)
        if decision is not None:
            found.append(
                Verdict(
                    index,
                    time,
                    rule.id,
                    decision.kind,
                    decision.key,
                    details(rule, decision),
                    mismatches=mismatches,
                    source=decision,
                )
            )
        else:
            failures = explanation.failures if explanation is not None else ()
            found.append(
                Verdict(index, time, rule.id, NO_MATCH, failures=failures, mismatches=mismatches)
            )
    return found


def failure_text(failure: Failure, *, values: bool = True) -> str:
    """A failure on one line: `speed_kmh > 120 is false (speed_kmh = 100)`, or with a type
    mismatch `speed_kmh > 120: a string compared with a number (speed_kmh = "130")`."""
    if failure.mismatch:
        shown = f"{failure.text}: {failure.mismatch}"
    else:
        shown = f"{failure.text} is false"
    read = values_text(failure) if values else ""
    return " ".join((shown + (f" ({read})" if read else "")).split())


def values_text(failure: Failure) -> str:
    """`speed_kmh = 100, limit = 90`: the values a failure read, as JSON."""
    return ", ".join(f"{o.text} = {_short(_json(o.value))}" for o in failure.values)


def why_not(verdict: Verdict) -> str:
    """A no_match verdict in a few words: the one failure, or how many alternatives failed."""
    if len(verdict.failures) == 1:
        return failure_text(verdict.failures[0])
    if not verdict.failures:
        return "the condition did not hold"
    return f"none of {counted(len(verdict.failures), 'alternative')} held:"


_VALUE_CHARS = 60


def _json(value: object) -> str:
    return jsonutil.dumps(value, default=str, option=jsonutil.OPT_NON_STR_KEYS).decode()


def _short(text: str) -> str:
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
