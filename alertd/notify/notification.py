"""One notification: an alert rendered for one channel and one recipient, ready to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from alertd.model import Priority

NoticeKind = Literal["fired", "escalated", "acked", "resolved"]
"""What a notification tells its recipient about its alert: it fired (the first page), it
escalated (a later step of its escalation policy: nobody answered), someone acknowledged it,
it is resolved. The last two are status updates, to those it paged."""
NOTICES: tuple[NoticeKind, ...] = ("fired", "escalated", "acked", "resolved")
PAGES: tuple[NoticeKind, ...] = ("fired", "escalated")
"""The notices that page (and can be answered); the others tell how an alert went on."""


@dataclass(slots=True)
class Notification:
    """A row of the outbox, and what a channel's `send` receives.

    `content` is the rendered message (its keys depend on the channel kind, see
    `alertd.notify.render`) and is exactly what will be sent: it is rendered once, when the alert
    fires, and stored. `id` is `<alert id>.<n>`, stable across retries and restarts, so a
    receiver can de-duplicate on it (the webhook's `Idempotency-Key`).
    """

    id: str
    alert_id: str
    rule_id: str
    channel: str  # the name a rule uses: "email", or an extra [channels.NAME]
    kind: str  # email | sms | slack | push | webhook
    recipient: str  # an address, a phone number, a Slack channel, a device or topic, a URL
    priority: Priority
    content: dict[str, Any]
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    seq: int = field(default=0, compare=False)  # the outbox's insertion order
    notice: NoticeKind = "fired"
    # Storms (alertd.storms): what holds it back, `<kind>:<ref>` ("" when it goes at once), its
    # release time then being `next_attempt_at`; and for a message that lists several alerts
    # (a group, a cap's summary, quiet hours' or a digest's), their ids.
    hold: str = ""
    alerts: tuple[str, ...] = ()
    # A status update of a channel that edits messages in place (Slack): the receipts of the
    # alert's pages to the same recipient, which the dispatcher looks up just before sending.
    earlier: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What the outbox knows about one notification, for `GET /v1/alerts/{id}`."""

    id: str
    channel: str
    kind: str
    recipient: str
    state: str  # pending | sent | failed | dead
    attempts: int
    last_error: str | None
    created_at: float
    next_attempt_at: float | None
    sent_at: float | None
    receipt: str | None
    notice: NoticeKind = "fired"
    hold: str | None = None  # `<kind>:<ref>` of what held it (alertd.storms), if anything did
    bundles: tuple[BundleState, ...] = ()  # the messages it went out in, listed with others


@dataclass(frozen=True, slots=True)
class BundleState:
    """A message that lists several alerts (alertd.storms), as a notification in it sees it:
    its id (`<kind>-<ulid>`), what it is, how many alerts it lists, and its delivery state."""

    id: str
    kind: str  # group | cap | quiet | digest
    count: int
    state: str
    sent_at: float | None


@dataclass(frozen=True, slots=True)
class Paged:
    """One address an alert paged (a notice fired or escalated): on which channel, to whom;
    and the last status update it was told (notice and when), if any."""

    channel: str
    recipient: str
    told: NoticeKind | None = None
    told_at: float | None = None
