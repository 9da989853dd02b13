"""The checker: every mistake in a set of parsed rule files, and the rules made ready to compile.

Three passes over the syntax tree, each a module with one job:

    resolve.py   names: a bare name is a macro, a named list or a field by where it stands;
                 macros expanded, durations in seconds, too deep or too large refused
    kinds.py     kinds: what the text makes impossible (`"a" > 3`), and values it fixes wrong
    checker.py   rules: their clauses (unique ids and names, a `when`, priorities, windows,
                 channels, recipient groups, templates, labels), each expression resolved,
                 then kind-checked

It collects all errors instead of stopping at the first, because a person fixing a rule file
wants the whole list at once.

Adding a clause: its checks go in `_Checker._rule` (a method per clause), its checked form in
`CheckedRule`; an expression in it goes through `_expression`, as `when` and `by` do.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from alertd.dsl import ast
from alertd.dsl.errors import Collector, RuleError, one_of
from alertd.dsl.kinds import check_kinds
from alertd.dsl.overtime import OverTime, check_over_time
from alertd.dsl.previous import refuse_outside_conditions
from alertd.dsl.resolve import Names
from alertd.durations import format_duration
from alertd.model import PRIORITIES, NotifyTarget, Priority, SourceLocation
from alertd.suggest import did_you_mean

MAX_COUNT = 100_000  # `count N`: more events than this per key is a misunderstanding
MAX_GROUP_WAIT = 86_400.0  # `group ... wait D`: pages held longer than a day are a digest


@dataclass(frozen=True, slots=True)
class Window:
    """A checked `count`, `suppress` or `group` clause (`seconds`: a group's wait)."""

    seconds: float
    keys: tuple[ast.Expr, ...]
    key_sources: tuple[str, ...]
    threshold: int = 0  # count only


@dataclass(frozen=True, slots=True)
class Resolve:
    """A rule's checked `resolve when` and `resolve after` clauses (either may be missing)."""

    when: ast.Expr | None = None
    when_source: str = ""
    after: float | None = None  # seconds


@dataclass(frozen=True, slots=True)
class CheckedRule:
    """A rule whose every part was checked; its expressions are resolved and ready to compile."""

    id: str
    name: str
    condition: ast.Expr
    condition_source: str
    location: SourceLocation
    source: ast.SourceText  # the rule's file: where the condition's spans are
    priority: Priority = "medium"
    description: str = ""
    count: Window | None = None
    suppress: Window | None = None
    notify: tuple[NotifyTarget, ...] = ()
    template: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    key: tuple[ast.Expr, ...] = ()  # the rule-level `by`
    key_sources: tuple[str, ...] = ()
    resolve: Resolve | None = None
    escalate: str | None = None
    over_time: OverTime | None = None  # `for`, `forget`, `absent`
    group: Window | None = None  # `group by ... wait ...`


def check(
    files: Sequence[ast.RuleFile],
    *,
    channels: Collection[str],
    groups: Collection[str] | None = None,
    templates: Collection[str] | None = None,
    policies: Collection[str] | None = None,
) -> tuple[list[CheckedRule], list[RuleError]]:
    """Check parsed files together (lists and macros are shared by all of them, rule ids must be
    unique across them). Returns the rules without an error of their own, checked, and every
    error found. `groups`, `templates` (the template sets there are) and `policies` (the
    escalation policies of the on-call file): None, not checked."""
    errors = Collector()
    checker = _Checker(
        files,
        Names(files, errors),
        errors,
        channels=frozenset(channels),
        groups=None if groups is None else frozenset(groups),
        templates=None if templates is None else frozenset(templates),
        policies=None if policies is None else frozenset(policies),
    )
    return checker.run(), errors.errors


@dataclass(frozen=True, slots=True)
class _Title:
    """What a reader sees of a rule: its `name`, or its id when it has none."""

    text: str
    rule_id: str
    where: SourceLocation
    named: bool  # the text is a `name`, not the id


class _Checker:
    def __init__(
        self,
        files: Sequence[ast.RuleFile],
        names: Names,
        errors: Collector,
        *,
        channels: frozenset[str],
        groups: frozenset[str] | None,
        templates: frozenset[str] | None,
        policies: frozenset[str] | None,
    ) -> None:
        self.files = files
        self.names = names
        self.errors = errors
        self.channels = channels
        self.groups = groups
        self.templates = templates
        self.policies = policies

    def error(
        self, file: ast.RuleFile, span: ast.Span, message: str, hint: str | None = None
    ) -> None:
        self.errors.add(file, span, message, hint)

    # The whole run ------------------------------------------------------------------------------

    def run(self) -> list[CheckedRule]:
        rules: list[CheckedRule] = []
        seen: dict[str, SourceLocation] = {}
        titles: dict[str, _Title] = {}
        for file in self.files:
            for item in file.items:
                if not isinstance(item, ast.RuleDef):
                    continue
                where = SourceLocation(file.path, item.span.line, item.span.column)
                rule_id = item.id.value
                if rule_id in seen:
                    self.error(
                        file,
                        item.id.span,
                        f"duplicate rule id '{rule_id}' (first defined at {seen[rule_id]})",
                    )
                else:
                    seen[rule_id] = where
                    self._unique_title(item, file, where, titles)
                rule = self._rule(item, file, where)
                if rule is not None:
                    rules.append(rule)
        return rules

    def _unique_title(
        self,
        rule: ast.RuleDef,
        file: ast.RuleFile,
        where: SourceLocation,
        titles: dict[str, _Title],
    ) -> None:
        """What a reader sees of a rule (its `name`, else its id) must tell it apart: two rules
        with one title would look the same in every notification, log line and listing."""
        clause = next((c for c in rule.clauses if isinstance(c, ast.NameClause)), None)
        rule_id = rule.id.value
        if clause is not None and not clause.text.value.strip():
            self.error(
                file,
                clause.text.span,
                "the rule name is empty",
                f"leave 'name' out and the rule shows its id, '{rule_id}'",
            )
            return
        title = _Title(
            clause.text.value if clause else rule_id, rule_id, where, named=clause is not None
        )
        first = titles.setdefault(title.text.strip(), title)
        if first is title:
            return
        if clause is None:
            self.error(
                file,
                rule.id.span,
                f"rule '{rule_id}' has no name and shows its id, but rule '{first.rule_id}' at"
                f" {first.where} is named '{first.text}'",
                "give one of the two rules a name of its own",
            )
        elif first.named:
            self.error(
                file,
                clause.text.span,
                f"duplicate rule name '{title.text}' (first used by rule '{first.rule_id}' at"
                f" {first.where})",
            )
        else:
            self.error(
                file,
                clause.text.span,
                f"duplicate rule name '{title.text}' (rule '{first.rule_id}' at {first.where}"
                " has no name and shows its id)",
                "give one of the two rules a name of its own",
            )

    # Rules --------------------------------------------------------------------------------------

    def _rule(
        self, rule: ast.RuleDef, file: ast.RuleFile, where: SourceLocation
    ) -> CheckedRule | None:
        errors_before = len(self.errors)
        clauses: dict[str, ast.Clause] = {}
        for clause in rule.clauses:
            if clause.keyword in clauses:
                first = clauses[clause.keyword].span.line
                self.error(
                    file,
                    clause.span,
                    f"duplicate '{clause.keyword}' clause (the first is on line {first})",
                )
            else:
                clauses[clause.keyword] = clause
        when = clauses.get("when")
        if not isinstance(when, ast.WhenClause):
            self.error(file, rule.id.span, f"rule '{rule.id.value}' has no 'when' clause")
            return None
        condition = self._expression(when.expr, file, condition=True)
        name = clauses.get("name")
        description = clauses.get("description")
        priority = self._priority(clauses.get("priority"), file)
        by = clauses.get("by")
        key, key_sources = self._keys(by.keys if isinstance(by, ast.ByClause) else (), file)
        count = self._count(clauses.get("count"), file, key, key_sources)
        suppress = self._suppress(clauses.get("suppress"), file, key, key_sources)
        group = self._group(clauses.get("group"), file)
        resolve = self._resolve(rule, clauses, file)
        escalate = self._escalate(clauses.get("escalate"), file)
        over_time = check_over_time(
            clauses,
            condition=condition,
            file=file,
            names=self.names,
            errors=self.errors,
            keys=lambda keys: self._keys(keys, file),
            rule_key=(key, key_sources),
        )
        if over_time is not None and over_time.absent is not None and not key:
            # The keys an absent rule watches are its keys: prev() and changed() compare each
            # with itself (`absent 2h by vehicle_id` with `when changed(odometer_km)`).
            key, key_sources = over_time.absent.keys, over_time.absent.key_sources
        notify = self._notify(clauses.get("notify"), file)
        template = clauses.get("template")
        if isinstance(template, ast.TemplateClause):
            self._template(template.name, file)
        labels = self._labels(clauses.get("labels"), file)
        enabled = clauses.get("enabled")
        if len(self.errors) > errors_before:
            return None
        return CheckedRule(
            id=rule.id.value,
            name=name.text.value if isinstance(name, ast.NameClause) else rule.id.value,
            condition=condition,
            condition_source=file.text(when.expr.span),
            location=where,
            source=self.names.source(file),
            priority=priority,
            description=description.text.value
            if isinstance(description, ast.DescriptionClause)
            else "",
            count=count,
            suppress=suppress,
            notify=notify,
            template=template.name.value if isinstance(template, ast.TemplateClause) else None,
            labels=labels,
            enabled=enabled.value if isinstance(enabled, ast.EnabledClause) else True,
            key=key,
            key_sources=key_sources,
            resolve=resolve,
            escalate=escalate,
            over_time=over_time,
            group=group,
        )

    def _priority(self, clause: ast.Clause | None, file: ast.RuleFile) -> Priority:
        if not isinstance(clause, ast.PriorityClause):
            return "medium"
        value = clause.value.value
        for priority in PRIORITIES:
            if value == priority:
                return priority
        self.error(
            file,
            clause.value.span,
            f"unknown priority '{value}'",
            did_you_mean(value, PRIORITIES) or f"use {one_of(PRIORITIES)}",
        )
        return "medium"

    def _keys(
        self, keys: tuple[ast.Expr, ...], file: ast.RuleFile
    ) -> tuple[tuple[ast.Expr, ...], tuple[str, ...]]:
        resolved = tuple(self._expression(key, file, condition=False) for key in keys)
        return resolved, tuple(file.text(key.span) for key in keys)

    def _window_keys(
        self,
        keys: tuple[ast.Expr, ...],
        file: ast.RuleFile,
        rule_key: tuple[ast.Expr, ...],
        rule_key_sources: tuple[str, ...],
    ) -> tuple[tuple[ast.Expr, ...], tuple[str, ...]]:
        """A window's own `by`, or else the rule's."""
        if keys:
            return self._keys(keys, file)
        return rule_key, rule_key_sources

    def _count(
        self,
        clause: ast.Clause | None,
        file: ast.RuleFile,
        rule_key: tuple[ast.Expr, ...],
        rule_key_sources: tuple[str, ...],
    ) -> Window | None:
        if not isinstance(clause, ast.CountClause):
            return None
        text = clause.threshold.value
        # int() of a huge number is refused (or slow): past MAX_COUNT, its digits do not matter
        threshold = int(text[:12]) if text.isdigit() else 0
        if not text.isdigit():
            self.error(file, clause.threshold.span, f"count must be a whole number, got {text}")
        elif threshold < 2:
            self.error(
                file,
                clause.threshold.span,
                f"count must be at least 2, got {threshold}",
                "to act on every matching event, leave out the count clause",
            )
        elif threshold > MAX_COUNT:
            got = text if len(text) <= 12 else f"{text[:12]}..."
            self.error(file, clause.threshold.span, f"count must be at most {MAX_COUNT}, got {got}")
        seconds = self.names.duration(clause.within, file)
        keys, sources = self._window_keys(clause.keys, file, rule_key, rule_key_sources)
        return Window(seconds, keys, sources, threshold)

    def _suppress(
        self,
        clause: ast.Clause | None,
        file: ast.RuleFile,
        rule_key: tuple[ast.Expr, ...],
        rule_key_sources: tuple[str, ...],
    ) -> Window | None:
        if not isinstance(clause, ast.SuppressClause):
            return None
        seconds = self.names.duration(clause.duration, file)
        keys, sources = self._window_keys(clause.keys, file, rule_key, rule_key_sources)
        return Window(seconds, keys, sources)

    def _group(self, clause: ast.Clause | None, file: ast.RuleFile) -> Window | None:
        if not isinstance(clause, ast.GroupClause):
            return None
        wait = self.names.duration(clause.wait, file)
        if wait > MAX_GROUP_WAIT:
            self.error(
                file,
                clause.wait.span,
                f"a group waits at most {format_duration(MAX_GROUP_WAIT)}, got {clause.wait.value}"
                " (its first alert's pages wait that long)",
                "a digest (docs/channels.md) gathers a longer period's alerts",
            )
        keys, sources = self._keys(clause.keys, file)
        return Window(wait, keys, sources)

    def _resolve(
        self, rule: ast.RuleDef, clauses: dict[str, ast.Clause], file: ast.RuleFile
    ) -> Resolve | None:
        when = clauses.get("resolve when")
        after = clauses.get("resolve after")
        if not isinstance(when, ast.ResolveWhenClause):
            when = None
        if not isinstance(after, ast.ResolveAfterClause):
            after = None
        if when is None and after is None:
            return None
        condition = None
        if when is not None:
            condition = self._expression(when.expr, file, condition=True)
            refuse_outside_conditions(condition, file, self.errors, "'when'")
            if "by" not in clauses:
                self.error(
                    file,
                    when.span,
                    f"'resolve when' in rule '{rule.id.value}' cannot tell which alert an event"
                    " is about: the rule has no 'by', so any event for which the condition holds"
                    " would resolve its open alert, whatever that alert is about",
                    _by_hint(rule),
                )
        return Resolve(
            when=condition,
            when_source=file.text(when.expr.span) if when is not None else "",
            after=self.names.duration(after.duration, file) if after is not None else None,
        )

    def _escalate(self, clause: ast.Clause | None, file: ast.RuleFile) -> str | None:
        if not isinstance(clause, ast.EscalateClause):
            return None
        policy = clause.policy.value
        if self.policies is not None and policy not in self.policies:
            self.error(
                file,
                clause.policy.span,
                f"unknown escalation policy '{policy}'",
                did_you_mean(policy, self.policies)
                or (
                    "escalation policies are defined in the on-call file ([oncall] path in the"
                    " config file)"
                ),
            )
        return policy

    def _notify(self, clause: ast.Clause | None, file: ast.RuleFile) -> tuple[NotifyTarget, ...]:
        if not isinstance(clause, ast.NotifyClause):
            return ()
        targets: list[NotifyTarget] = []
        seen: set[str] = set()
        for target in clause.targets:
            channel = target.channel.value
            if channel not in self.channels:
                self.error(
                    file,
                    target.channel.span,
                    f"unknown channel '{channel}'",
                    did_you_mean(channel, self.channels)
                    or f"the channels are {one_of(sorted(self.channels))}",
                )
            elif channel in seen:
                self.error(file, target.channel.span, f"channel '{channel}' is listed twice")
            seen.add(channel)
            for group in target.groups:
                if self.groups is not None and group.value not in self.groups:
                    self.error(file, group.span, *unknown_group(group.value, self.groups))
            targets.append(NotifyTarget(channel, tuple(group.value for group in target.groups)))
        return tuple(targets)

    def _template(self, name: ast.Text, file: ast.RuleFile) -> None:
        value = name.value.strip().strip("/")
        if not value:
            self.error(file, name.span, "the template name is empty")
        elif self.templates is not None and value not in self.templates:
            self.error(
                file,
                name.span,
                f"unknown template '{name.value}'",
                did_you_mean(value, self.templates)
                or "a template is a folder of the templates folder ([rules] templates)",
            )

    def _labels(self, clause: ast.Clause | None, file: ast.RuleFile) -> dict[str, str]:
        labels: dict[str, str] = {}
        if isinstance(clause, ast.LabelsClause):
            for label in clause.labels:
                if label.key.value in labels:
                    self.error(file, label.key.span, f"duplicate label '{label.key.value}'")
                labels[label.key.value] = label.value.value
        return labels

    # Expressions --------------------------------------------------------------------------------

    def _expression(self, expr: ast.Expr, file: ast.RuleFile, *, condition: bool) -> ast.Expr:
        """A whole expression of a clause, resolved and kind-checked. With `condition`, it
        stands where a true/false test is needed."""
        resolved = self.names.expression(expr, file, condition=condition)
        check_kinds(resolved, file, self.errors, condition=condition)
        if not condition:
            refuse_outside_conditions(resolved, file, self.errors, "a condition ('when')")
        return resolved


def _by_hint(rule: ast.RuleDef) -> str:
    """How to give a rule its key; the trap is a `by` right after `count` or `suppress`, which
    belongs to that clause."""
    hint = "give the rule a key with a 'by' clause of its own, e.g. 'by vehicle_id'"
    for clause in rule.clauses:
        if isinstance(clause, ast.CountClause | ast.SuppressClause) and clause.keys:
            return (
                f"{hint}; the 'by' of '{clause.keyword}' on line {clause.span.line} keys only"
                f" that clause: write the rule's 'by' before '{clause.keyword}'"
            )
    return hint


def unknown_group(group: str, known: Collection[str]) -> tuple[str, str]:
    """The error and hint for a recipient group not in `known`: the `[recipients]` groups, and
    `oncall:SCHEDULE` and `person:NAME` for the schedules and people of oncall.toml."""
    prefix, colon, name = group.partition(":")
    if not colon:
        plain = [choice for choice in known if ":" not in choice]
        return f"unknown recipient group '{group}'", did_you_mean(group, plain) or (
            "recipient groups are defined under [recipients] in the config file"
        )
    kinds = {"oncall": ("schedule", "schedules"), "person": ("person", "people")}
    if prefix not in kinds:
        guesses = [f"{other}:{name}" for other in kinds]
        return f"unknown recipient '{group}'", did_you_mean(group, guesses) or (
            "a recipient is a [recipients] group, oncall:SCHEDULE or person:NAME"
        )
    what, defined = kinds[prefix]
    names = [c.removeprefix(prefix + ":") for c in known if c.startswith(prefix + ":")]
    return f"unknown {what} '{name}'", did_you_mean(name, names) or (
        f"{defined} are defined in the on-call file ([oncall] path in the config file)"
    )
