"""Every Prometheus metric alertd exports, in one registry.

One module so that names stay consistent and `/metrics` is a single `generate_latest` call.
Hot paths add up counts per batch and increment once, not once per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from alertd.engine.errors import STATE_REASONS

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_RECEIVED = Counter(
    "alertd_events_received", "Events accepted for evaluation.", registry=REGISTRY
)

# Why a POST /v1/events was refused: the `reason` label of the two counters below, documented in
# docs/api.md. A literal type, so that mypy refuses a reason that is not in the list.
Rejection = Literal[
    "unauthorized",  # 401: no Bearer token, or one that is not configured
    "bad_signature",  # 401: signed ingestion, and the signature is missing, wrong or stale
    "too_large",  # 413: body, decompressed body or batch over its limit
    "unsupported_media_type",  # 415: Content-Type, charset or Content-Encoding
    "malformed",  # 400: a body, or items in it, that are not JSON objects
    "invalid_event",  # 400: objects alertd refuses: a bad timestamp, too deep, a string too long
    "timeout",  # 408: the body did not arrive within [server] body_timeout
    "overloaded",  # 503: shedding load or shutting down
    "unavailable",  # 503: the state could not record the batch (disk full, read-only, locked...)
]
REJECTIONS: tuple[Rejection, ...] = get_args(Rejection)

INGEST_REJECTIONS = Counter(
    "alertd_ingest_rejections",
    "POST /v1/events requests refused, by reason: " + ", ".join(REJECTIONS) + ".",
    ["reason"],
    registry=REGISTRY,
)
EVENTS_REJECTED = Counter(
    "alertd_events_rejected",
    "Events in refused POST /v1/events batches that were read far enough to count them, by the "
    "same reasons.",
    ["reason"],
    registry=REGISTRY,
)
for _reason in REJECTIONS:  # every series exists from the start, so rate() sees the first one
    INGEST_REJECTIONS.labels(_reason)
HTTP_REQUESTS = Counter(
    "alertd_http_requests",
    "HTTP requests answered, by route and status code.",
    ["route", "status"],
    registry=REGISTRY,
)
HTTP_CONNECTIONS_OPEN = Gauge(
    "alertd_http_connections_open", "HTTP connections open now.", registry=REGISTRY
)
HTTP_CONNECTIONS_CLOSED = Counter(
    "alertd_http_connections_closed",
    "HTTP connections alertd closed itself, by reason: header_timeout (no whole request head in "
    "time), send_timeout (the client stopped taking its answer), max_connections (room for a "
    "new one).",
    ["reason"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "alertd_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route.",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
ALERTS_SILENCED = Counter(
    "alertd_alerts_silenced",
    "Alerts recorded silenced (a silence or maintenance window covered them when they fired or "
    "when an escalation step fell due), per rule.",
    ["rule"],
    registry=REGISTRY,
)
RULE_DECISIONS = Counter(
    "alertd_rule_decisions",
    "Decisions per rule: fired, suppressed or counting.",
    ["rule", "decision"],
    registry=REGISTRY,
)
EVALUATION_ERRORS = Counter(
    "alertd_evaluation_type_mismatches",
    "Comparisons that met mismatched types at run time and evaluated to false, per rule.",
    ["rule"],
    registry=REGISTRY,
)
RULE_ERRORS = Counter(
    "alertd_rule_evaluation_errors",
    "Events a rule could not evaluate (its condition or a key raised); each counted as no match "
    "for that rule, per rule.",
    ["rule"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "alertd_notifications",
    "Notification delivery outcomes per channel: sent, failed, retried, dead.",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TEMPLATE_ERRORS = Counter(
    "alertd_template_errors",
    "Templates that failed at run time; the built-in fallback was sent instead.",
    ["channel"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "alertd_delivery_latency_seconds",
    "From the alert being recorded to its notification being accepted by the provider.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
NOTIFICATIONS_HELD = Counter(
    "alertd_notifications_held",
    "Notifications held back, by channel and by what held them: grouped (a rule's `group by` "
    "wait), capped (the recipient's max_per_recipient), quiet (quiet hours), digested (a "
    "digest's period). One that is released and held again counts again.",
    ["channel", "hold"],
    registry=REGISTRY,
)
NOTIFICATION_BUNDLES = Counter(
    "alertd_notification_bundles",
    "Messages that list several held notifications, by channel and kind: group, cap (the "
    "summary once the cap allows), quiet (at the end of quiet hours), digest.",
    ["channel", "kind"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "alertd_outbox_pending", "Notifications waiting to be delivered.", registry=REGISTRY
)
STATE_UNAVAILABLE = Gauge(
    "alertd_state_unavailable",
    "1 while the state store cannot be written (a full disk, a read-only file, an I/O error, a "
    "lock held past the busy timeout): events are refused with 503 until a write succeeds.",
    registry=REGISTRY,
)
STATE_OUTAGES = Counter(
    "alertd_state_outages",
    "Times the state store stopped taking writes, by the reason of the first refused write: "
    + ", ".join(STATE_REASONS)
    + ".",
    ["reason"],
    registry=REGISTRY,
)
for _state_reason in STATE_REASONS:
    STATE_OUTAGES.labels(_state_reason)
RELOADS = Counter(
    "alertd_rule_reloads",
    "Rule reloads, by result: success or failure.",
    ["result"],
    registry=REGISTRY,
)
LAST_RELOAD_SUCCESS = Gauge(
    "alertd_last_reload_successful",
    "1 if the last rule reload succeeded, 0 if it failed.",
    registry=REGISTRY,
)
ALERT_ACTIONS = Counter(
    "alertd_alert_actions",
    "Actions on alerts (ack, unack, resolve, escalate), by action, through what (api, cli, "
    "rule, ...) and outcome: changed, or repeat (done already; nothing changed).",
    ["action", "via", "outcome"],
    registry=REGISTRY,
)
TIMER_SWEEP_SECONDS = Histogram(
    "alertd_timer_sweep_seconds",
    "Event-loop time of each run of due timers (escalation steps, ...), from the first due "
    "timer read to the last notification enqueued; the commit is not counted.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
    registry=REGISTRY,
)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format every scraper reads

_request_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}


def observe_request(route: str, status: int, seconds: float) -> None:
    """Count one answered request; label lookups are cached because this runs per request."""
    children = _request_children.get((route, status))
    if children is None:
        children = (HTTP_REQUESTS.labels(route, str(status)), HTTP_DURATION.labels(route))
        _request_children[(route, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def count_growth(counter: Counter, totals: Mapping[str, int], seen: dict[str, int]) -> None:
    """Add to a per-rule counter what running totals (kept elsewhere) grew by since `seen`."""
    for rule_id, total in totals.items():
        new = total - seen.get(rule_id, 0)
        if new:
            counter.labels(rule_id).inc(new)
            seen[rule_id] = total


def exposition() -> bytes:
    """The registry in Prometheus text format, for GET /metrics."""
    return generate_latest(REGISTRY)
