"""Storms: pages held back and sent together, so that a storm becomes a few readable messages.

A page (a fired or escalated notice; a resolved notice is never held) meets four holds, in this
order, each of which may hold it until a durable timer releases it (alertd.incidents.timers,
one timer per hold, its kind the hold's and its ref what it holds):

    group   the rule's `group by KEY wait D`: the alerts of a group (equal KEY, fired within D
            of the group's first) wait for the group's timer, D after its first alert
    digest  the channel's `digest`: pages of its priorities wait for the recipient's digest,
            `every` after the first of the period
    quiet   the channel's `quiet_hours`: pages below `below` wait for the window's end
    cap     the channel's `max_per_recipient = "N/D"`: past N messages to the recipient in the
            last D, pages wait until the cap allows one more; urgent pages count against the
            cap but never wait

When a hold's timer falls due, what it holds goes out per channel and recipient: one page as it
was, several as one message that lists them all (a bundle: alertd.storms.bundles), which then
meets the holds after the one that released it (a group released during quiet hours waits for
their end; a cap's summary counts against the cap, and waits again if urgent pages took the
slot meanwhile). Everything runs inside the caller's store transaction, releases inside the
timer sweep's: a kill -9 never sends a bundle twice nor loses a held page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from alertd import jsonutil, metrics
from alertd.clock import Clock
from alertd.config import Settings
from alertd.engine.ids import new_alert_id
from alertd.engine.state import StateStore, Timer
from alertd.incidents.manager import Setup
from alertd.incidents.timers import Timers
from alertd.model import PRIORITIES, Alert, GroupKey
from alertd.notify.notification import Notification
from alertd.storms.bundles import Bundle, render_bundle
from alertd.storms.held import HeldLog
from alertd.storms.policy import NO_POLICY, StormPolicy, storm_policy
from alertd.storms.quiet import quiet_until

log = logging.getLogger("alertd.storms")

HOLDS = ("group", "digest", "quiet", "cap")
"""The holds a page meets, in order; each is also the kind of the timers that release it."""

METRIC_LABELS = {"group": "grouped", "digest": "digested", "quiet": "quiet", "cap": "capped"}
"""How `alertd_notifications_held_total` names each hold."""

_PAGES = frozenset({"fired", "escalated"})  # the notices holds apply to; never status updates

_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}  # low: 0 ... urgent: 3


class Holds:
    """Decides which pages wait and releases them; the event loop is its only caller."""

    def __init__(
        self,
        store: StateStore,
        held: HeldLog,
        timers: Timers,
        clock: Clock,
        setup: Callable[[], Setup],
    ) -> None:
        self.store = store
        self.held = held
        self.timers = timers
        self.clock = clock
        self.setup = setup  # the current settings and templates (a reload replaces them)
        self._policies: dict[str, StormPolicy] = {}
        self._policies_of: Settings | None = None
        for kind in HOLDS:
            timers.handle(kind, self._release)

    def wall_clock_stepped(self, shift: float) -> None:
        """The wall clock was stepped, and the steady clock that timers count on is now
        `shift` seconds further ahead of it. The end of quiet hours is a time of the wall
        clock (07:00 local), not a delay: move each quiet hours' timer (and its rows' release
        time) with it, so that it still falls due at 07:00 on the wall clock. Group waits,
        digests and caps are delays, and keep counting."""
        for hold in self.held.holds("quiet"):
            self.timers.move("quiet", hold.partition(":")[2], shift)
            self.held.move(hold, shift)

    # --- pages as they are planned -----------------------------------------------------------

    def admit(self, pages: Iterable[Notification], now: float, alert: Alert | None) -> None:
        """Hold back those of these pages that must wait (setting their `hold` and release
        time); the others go now. `alert`: the alert they page for, when they are its first
        (its group, if its rule has one, applies to them)."""
        group = alert.group if alert is not None else None
        for page in pages:
            if page.notice not in _PAGES or not page.recipient:
                continue  # a status update, or a page to nobody: it fails visibly at once
            if group is None and not self.policy(page.channel).holds_anything:
                continue  # the storm's hot path: nothing could hold it
            first = 0 if group is not None and page.notice == "fired" else 1
            self._hold(page, now, first, group)

    def _hold(self, page: Notification, now: float, first: int, group: GroupKey | None) -> None:
        """Walk the holds from `first` on; the first that holds the page keeps it."""
        policy = self.policy(page.channel)
        for kind in HOLDS[first:]:
            ref: str | None = None
            delay = 0.0
            if kind == "group" and group is not None:
                ref, delay = _ref(page.rule_id, *group.key), group.wait
            elif kind == "digest" and policy.digest is not None:
                if page.priority in policy.digest.priorities:
                    ref, delay = _ref(page.channel, page.recipient), policy.digest.every
            elif kind == "quiet" and policy.quiet is not None:
                if _RANK[page.priority] < _RANK[policy.quiet.below]:
                    until = quiet_until(policy.quiet, now)
                    if until is not None:
                        ref, delay = _ref(page.channel, page.recipient), until - now
            elif kind == "cap" and policy.cap is not None:
                ref, delay = self._capped(page, now, policy)
            if ref is None:
                continue
            due = self.timers.due(kind, ref)
            if due is None:  # the first page it holds: it starts now
                due = self.timers.set(kind, ref, delay=delay)
            page.hold = f"{kind}:{ref}"
            page.next_attempt_at = due
            metrics.NOTIFICATIONS_HELD.labels(page.channel, METRIC_LABELS[kind]).inc()
            return
        page.hold = ""

    def _capped(
        self, page: Notification, now: float, policy: StormPolicy
    ) -> tuple[str | None, float]:
        """The cap's hold for this page and when it frees a slot; (None, 0) when the page goes
        now (and counts against the cap)."""
        cap = policy.cap
        assert cap is not None
        ref = _ref(page.channel, page.recipient)
        waiting = self.timers.due("cap", ref) is not None
        if page.priority != "urgent" and waiting:  # others wait already: behind them
            return ref, 0.0
        sends = self.held.sends_since(page.channel, page.recipient, now - cap.window)
        if page.priority == "urgent" or len(sends) < cap.count:
            self.held.sent(page.channel, page.recipient, now)
            return None, 0.0
        # Full: a slot frees when the Nth newest send leaves the window.
        return ref, sends[len(sends) - cap.count] + cap.window - now

    def policy(self, channel: str) -> StormPolicy:
        """The channel's storm settings (checked when the config was loaded)."""
        settings = self.setup().settings
        if settings is not self._policies_of:
            self._policies, self._policies_of = {}, settings
        found = self._policies.get(channel)
        if found is None:
            table = settings.channels.get(channel)
            found = (
                NO_POLICY
                if table is None
                else storm_policy(settings.channel_kind(channel), table, settings.notify.timezone)
            )
            self._policies[channel] = found
        return found

    # --- releases ----------------------------------------------------------------------------

    def _release(self, timer: Timer) -> list[Notification]:
        """A hold's timer fell due: what it holds goes out (or on to the next hold), one
        message per channel and recipient."""
        hold = f"{timer.kind}:{timer.ref}"
        now = self.clock.now()
        # A cap's summary meets the cap again (it counts, and urgent pages may have taken the
        # slot); the others go on to the holds after their own.
        first = HOLDS.index(timer.kind) + (timer.kind != "cap")
        released: list[Notification] = []
        for members in _by_destination(self.held.held(hold)):
            message = self._bundle(timer, members, now) if len(members) > 1 else None
            if message is None:  # alone (or listing alerts that are all gone: the first)
                message = members[0]
                message.created_at = message.next_attempt_at = now
            self._hold(message, now, first, None)
            if message is members[0]:
                self.held.release(message, hold)
                self.held.bundled(members[1:], message.id, now)
            else:
                self.held.add(message)
                self.held.bundled(members, message.id, now)
                metrics.NOTIFICATION_BUNDLES.labels(message.channel, timer.kind).inc()
            if not message.hold:
                released.append(message)
        return released

    def _bundle(
        self, timer: Timer, members: Sequence[Notification], now: float
    ) -> Notification | None:
        """One message listing the alerts of `members` (pages, or earlier bundles); None when
        none of them is stored any more."""
        alert_ids = list(dict.fromkeys(a for m in members for a in (m.alerts or (m.alert_id,))))
        first = members[0]
        key = jsonutil.loads(timer.ref)[1:] if timer.kind == "group" else []
        setup = self.setup()
        records = [r for r in map(self.store.get_alert, alert_ids) if r is not None]
        if not records:  # every alert pruned meanwhile (a hold longer than the retention)
            return None
        bundle = Bundle(timer.kind, key, records)
        content = render_bundle(setup.renderer, bundle, first.channel, first.kind, setup.settings)
        rules = {m.rule_id for m in members}
        return Notification(
            id=f"{timer.kind}-{new_alert_id(now)}",
            alert_id=alert_ids[0],
            rule_id=first.rule_id if len(rules) == 1 else "",
            channel=first.channel,
            kind=first.kind,
            recipient=first.recipient,
            priority=max((m.priority for m in members), key=_RANK.__getitem__),
            content=content,
            created_at=now,
            next_attempt_at=now,
            notice="escalated" if all(m.notice == "escalated" for m in members) else "fired",
            alerts=tuple(alert_ids),
        )


def _ref(*parts: object) -> str:
    """A timer ref from its parts: JSON, so that any key value reads back as it was."""
    return jsonutil.dumps(list(parts), default=str).decode()


def _by_destination(rows: Iterable[Notification]) -> list[list[Notification]]:
    """Rows per (channel, recipient), in the order each was first held."""
    found: dict[tuple[str, str], list[Notification]] = {}
    for row in rows:
        found.setdefault((row.channel, row.recipient), []).append(row)
    return list(found.values())
