"""The plain data that flows through alertd: compiled rules, decisions and alerts.

The rule compiler produces `Rule`s, the engine turns an event into `Decision`s (a fired one
carries an `Alert`), and the notifier turns an `Alert` into notifications. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from alertd.jsonutil import dumps, loads

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")

DecisionKind = Literal["fired", "suppressed", "counting", "absorbed", "resolved"]
DECISION_KINDS: tuple[DecisionKind, ...] = (
    "fired",
    "suppressed",
    "counting",
    "absorbed",  # a match folded into the open alert of its key (a rule with `resolve`)
    "resolved",  # `resolve when` held for the key of an open alert, or `resolve after` ran
)

# The five channel kinds every rule may name; alertd.toml says where each goes.
CHANNEL_KINDS: tuple[str, ...] = ("email", "sms", "slack", "push", "webhook")

Event = Mapping[str, Any]
"""A decoded JSON object. The engine never mutates events."""

Key = tuple[Hashable, ...]
"""The values of a rule's `by` expressions for one event; `()` when the rule has no `by`."""

Condition = Callable[[Event], bool]
KeyFunction = Callable[[Event], Key]


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a rule (or any part of one) was written: 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{shown_path(self.path)}:{self.line}:{self.column}"


def shown_path(path: str) -> str:
    """A file's path as people are shown it: relative to the working folder when it is in it
    (`rules/fleet.rules`, as `alertd check` names it), absolute otherwise."""
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except (OSError, ValueError):  # elsewhere, relative already, or no working folder (deleted)
        return path


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One entry of a rule's `notify` clause: `email(managers, safety_team)`."""

    channel: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CountSpec:
    """`count THRESHOLD within WITHIN by KEY...`: fire on the Nth match inside the window."""

    threshold: int
    within: float  # seconds
    key: KeyFunction
    key_source: tuple[str, ...] = ()  # the `by` expressions as written, for display


@dataclass(frozen=True, slots=True)
class SuppressSpec:
    """`suppress DURATION by KEY...`: after a fire, hold further fires for the key."""

    duration: float  # seconds
    key: KeyFunction
    key_source: tuple[str, ...] = ()


DEFAULT_FORGET = 7 * 86_400.0
"""`forget`: a rule's key unseen this long (seconds) is dropped with all it keeps."""


@dataclass(frozen=True, slots=True)
class SequenceSpec:
    """What a rule keeps per key of the events of its scope: the values its prev() calls read
    (alertd.dsl.previous) and the run its `for` clause times. The engine offers such a rule
    every event of its scope, matching or not (alertd.engine.sequence)."""

    condition: Callable[[Event, tuple[Any, ...]], bool]  # given the values kept for the key
    # An event's key and the values to keep of it (None: the rule's key, and nothing).
    scope: Callable[[Event], tuple[Key, tuple[Any, ...]]] | None = None
    size: int = 0  # how many values that is
    hold: float | None = None  # `for`, seconds
    forget: float = DEFAULT_FORGET
    # The step as generated code (alertd.dsl.sequence_step), to be bound to a store's table;
    # None: made from `condition` and `scope` (a rule built by hand).
    step: Callable[..., Any] | None = None
    # Its form writing straight into a store's dicts (alertd.dsl.sequence_step.TRACKED_STEP).
    tracked: Callable[..., Any] | None = None
    # What the kept values are: a digest of the prev() arguments, in order ("": none, or a
    # rule built by hand). The rule's table of key states is named by it with the rule's id
    # (alertd.engine.sequence.states_id).
    kept: str = ""


@dataclass(frozen=True, slots=True)
class AbsentSpec:
    """`absent DURATION [by KEY]`: the rule fires when a key that matched sees no matching
    event for `duration` seconds, and resolves when one arrives (alertd.engine.absence)."""

    duration: float  # seconds
    key: KeyFunction
    key_source: tuple[str, ...] = ()
    forget: float = DEFAULT_FORGET


@dataclass(frozen=True, slots=True)
class ResolveSpec:
    """`resolve when CONDITION` and/or `resolve after DURATION`: the rule keeps one open alert
    per key (its `by`), folds later matches into it, and resolves it when an event of the
    rule's scope meets `when`, or when no match came for `after` seconds."""

    when: Condition | None = None
    when_source: str = ""  # as written
    after: float | None = None  # seconds
    # The events `when` is tried on: the rule's event types and those `when` names (None: any).
    event_types: frozenset[str] | None = None


def no_key(event: Event) -> Key:
    """The key of a rule without `by`: one for all its events."""
    return ()


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """`group by KEY... wait WAIT`: the notifications of alerts with equal KEY, fired within
    WAIT of the group's first, go out as one (alertd.storms)."""

    wait: float  # seconds
    key: KeyFunction
    key_source: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """A rule ready to run: its condition and keys are compiled Python callables."""

    id: str
    name: str
    condition: Condition
    priority: Priority = "medium"
    description: str = ""
    event_types: frozenset[str] | None = None  # None: the rule may match any event type
    count: CountSpec | None = None
    suppress: SuppressSpec | None = None
    notify: tuple[NotifyTarget, ...] = ()
    template: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    location: SourceLocation | None = None
    condition_source: str = ""  # the `when` expression as written
    escalate: str | None = None  # `escalate POLICY`: the escalation policy of oncall.toml
    key: KeyFunction = no_key  # the rule-level `by`
    key_source: tuple[str, ...] = ()  # its expressions as written
    resolve: ResolveSpec | None = None
    sequence: SequenceSpec | None = None  # state kept over the events of its scope, per key
    absent: AbsentSpec | None = None  # fires on a key's silence, not on its matches
    group: GroupSpec | None = None  # `group by ... wait ...`


def event_text(event: Event) -> str:
    """An event as the JSON text a counting window keeps (values JSON cannot hold become
    strings)."""
    return dumps(event, default=str).decode()


class CountEvents(Sequence[Event]):
    """The events a counting rule's alert lists, oldest first (the newest `max_count_events`).

    Held as the JSON texts its window kept, and the firing match's event as it came, until
    something reads them: most alerts are only stored, which writes the texts as they are
    (`json`), and decoding every alert's events on the engine's hot path made a counting rule
    slower than before issue 9 (bench/README.md, "A leaner daemon path"). Read, they are
    decoded once. Immutable, so one instance may be shared.
    """

    __slots__ = ("_events", "_newest", "_texts")

    def __init__(self, texts: tuple[str, ...] = (), newest: Event | None = None) -> None:
        self._texts: tuple[str, ...] | None = texts
        self._newest = newest
        self._events: list[Event] | None = None

    @classmethod
    def of(cls, events: Iterable[Event]) -> CountEvents:
        """Events already decoded (an alert read back from a store, a preview)."""
        made = cls()
        made._texts = None
        made._events = list(events)
        return made

    def json(self) -> str:
        """The events as one JSON array (what the stores write), encoding only what is not
        text yet."""
        if self._texts is None:
            assert self._events is not None
            return dumps(self._events, default=str).decode()
        texts = self._texts if self._newest is None else (*self._texts, event_text(self._newest))
        return f"[{','.join(texts)}]"

    def _decoded(self) -> list[Event]:
        events = self._events
        if events is None:
            assert self._texts is not None
            events = [loads(text) for text in self._texts]
            if self._newest is not None:
                events.append(self._newest)
            self._events = events
        return events

    def __len__(self) -> int:
        if self._texts is None:
            return len(self._decoded())
        return len(self._texts) + (self._newest is not None)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[Event]:
        return iter(self._decoded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CountEvents):
            return self._decoded() == other._decoded()
        return self._decoded() == other

    __hash__ = None  # type: ignore[assignment]  # compares by its events, like a list

    def __repr__(self) -> str:
        return f"CountEvents({self._decoded()!r})"


@dataclass(slots=True)
class Alert:
    """A rule fired: the record people are notified about and can acknowledge."""

    id: str  # ULID: sortable by creation time, unique across processes
    rule_id: str
    rule_name: str
    priority: Priority
    key: Key
    event: Mapping[str, Any]
    fired_at: float  # event time, epoch seconds
    received_at: float  # arrival time, epoch seconds
    suppressed_count: int = 0  # suppressed matches for this rule and key since the last fire
    labels: Mapping[str, str] = field(default_factory=dict)
    count_events: CountEvents = field(default_factory=CountEvents)
    description: str = ""
    notify: tuple[NotifyTarget, ...] = ()  # the rule's targets when it fired
    template: str | None = None
    group: GroupKey | None = None  # `group by ... wait ...`: the group it joins (alertd.storms)


@dataclass(frozen=True, slots=True)
class GroupKey:
    """The group a fired alert joins: its rule's `group by` values for its event, and how long
    the group's first alert waits for the others (`wait`, seconds)."""

    key: Key
    wait: float


@dataclass(slots=True)
class Decision:
    """What one rule decided about one event whose condition matched.

    Not frozen: one is built for every match on the hot path, and a frozen dataclass costs
    four times as much to build. Treat it as read-only all the same.
    """

    event_index: int | None  # None: no event caused it (a timer: `resolve after`, `absent`)
    rule_id: str
    kind: DecisionKind
    key: Key
    event_time: float  # for a timer's decision, when it ran
    alert: Alert | None = None  # set when kind == "fired"
    suppressed_until: float | None = None  # set when kind == "suppressed"
    count: int | None = None  # set when kind == "counting": matches now in the window
    alert_id: str | None = None  # set when kind is "absorbed" or "resolved": the open alert
    held: float | None = None  # a `for` rule's: how long its key's run had held (seconds)
