"""An alert's whole timeline, as people read it: stored changes, with the firing and the
notifications filled in from the alert and its outbox rows.

The changes (acked, unacked, resolved, escalated) are stored as they happen. That it fired,
and whom each notice went to, the alert row and the outbox already say: they are not written
twice on the hot path, only put in their place here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alertd.engine.state import AlertRecord, TimelineEntry
from alertd.notify.notification import DeliveryState


def full_timeline(
    record: AlertRecord,
    stored: Iterable[TimelineEntry],
    deliveries: Sequence[DeliveryState],
) -> list[TimelineEntry]:
    """Oldest first; at the same moment, the firing, then the changes, then the
    notifications they made. `notified` entries are one per notice and channel, listing the
    recipients (`detail`: channel, kind, notice, recipients)."""
    alert = record.alert
    fired = TimelineEntry(alert.received_at, "fired", alert.rule_id, "rule")
    entries: list[tuple[float, int, int, TimelineEntry]] = [(fired.at, 0, 0, fired)]
    entries += [(entry.at, 1, index, entry) for index, entry in enumerate(stored)]
    groups: dict[tuple[float, str, str], list[DeliveryState]] = {}
    for delivery in deliveries:
        groups.setdefault((delivery.created_at, delivery.notice, delivery.channel), []).append(
            delivery
        )
    for index, ((at, notice, channel), sent) in enumerate(groups.items()):
        detail = {
            "channel": channel,
            "kind": sent[0].kind,
            "notice": notice,
            "recipients": [delivery.recipient for delivery in sent],
        }
        entries.append((at, 2, index, TimelineEntry(at, "notified", None, None, detail)))
    entries.sort(key=lambda item: item[:3])
    return [entry for *_, entry in entries]
