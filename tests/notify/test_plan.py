"""Planning: which recipients each channel gets, one notification per recipient."""

from __future__ import annotations

from pathlib import Path

from alertd.config import Settings
from alertd.model import NotifyTarget
from alertd.notify.plan import plan
from alertd.notify.render import Renderer
from tests.notify.conftest import TEMPLATES, make_alert, make_settings

NOW = 1_767_225_601.0


def settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        recipients={"managers": ["m1@example.com", "m2@example.com"], "safety": ["m2@example.com"]},
        channels={
            "email": {"to": ["ops@example.com"], "urgent_to": ["oncall@example.com"]},
            "sms": {"to": "+15550100002", "urgent_to": ["+15550100001", "+15550100002"]},
            "slack": {"channel": "#fleet"},
            "push": {"provider": "ntfy", "topic": "fleet"},
            "webhook": {"url": "http://127.0.0.1:9/hook"},
            "partner": {"kind": "webhook", "url": "http://127.0.0.1:9/partner"},
        },
    )


def recipients(tmp_path: Path, **alert: object) -> list[tuple[str, str, str]]:
    s = settings(tmp_path)
    found = plan(make_alert(**alert), s, Renderer.load(TEMPLATES, s.notify), NOW)
    return [(n.channel, n.kind, n.recipient) for n in found]


def test_default_recipients_per_channel(tmp_path: Path) -> None:
    targets = tuple(NotifyTarget(c) for c in ("email", "sms", "slack", "push", "webhook"))
    assert recipients(tmp_path, notify=targets) == [
        ("email", "email", "ops@example.com"),
        ("sms", "sms", "+15550100002"),
        ("slack", "slack", "#fleet"),
        ("push", "push", "fleet"),
        ("webhook", "webhook", "http://127.0.0.1:9/hook"),
    ]


def test_urgent_adds_the_urgent_recipients_once(tmp_path: Path) -> None:
    targets = (NotifyTarget("email"), NotifyTarget("sms"))
    assert recipients(tmp_path, notify=targets, priority="urgent") == [
        ("email", "email", "ops@example.com"),
        ("email", "email", "oncall@example.com"),
        ("sms", "sms", "+15550100002"),
        ("sms", "sms", "+15550100001"),
    ]


def test_named_groups_replace_the_defaults_and_are_deduplicated(tmp_path: Path) -> None:
    targets = (NotifyTarget("email", ("managers", "safety")), NotifyTarget("email"))
    assert recipients(tmp_path, notify=targets) == [
        ("email", "email", "m1@example.com"),
        ("email", "email", "m2@example.com"),
    ]


def test_an_unknown_group_falls_back_to_the_defaults(tmp_path: Path) -> None:
    assert recipients(tmp_path, notify=(NotifyTarget("email", ("nobody",)),)) == [
        ("email", "email", "ops@example.com")
    ]


def test_extra_named_channels_reuse_a_kind(tmp_path: Path) -> None:
    assert recipients(tmp_path, notify=(NotifyTarget("partner"),)) == [
        ("partner", "webhook", "http://127.0.0.1:9/partner")
    ]


def test_a_channel_without_recipients_still_gets_a_row(tmp_path: Path) -> None:
    s = make_settings(tmp_path, channels={"email": {"host": "localhost"}})
    alert = make_alert(notify=(NotifyTarget("email"),))
    (notification,) = plan(alert, s, Renderer.load(TEMPLATES, s.notify), NOW)
    assert notification.recipient == ""
    assert notification.id == f"{alert.id}.1"


def test_each_notification_carries_the_rendered_content_and_ids(tmp_path: Path) -> None:
    s = settings(tmp_path)
    alert = make_alert(notify=(NotifyTarget("email", ("managers",)), NotifyTarget("slack")))
    found = plan(alert, s, Renderer.load(TEMPLATES, s.notify), NOW)
    assert [n.id for n in found] == [f"{alert.id}.1", f"{alert.id}.2", f"{alert.id}.3"]
    assert found[0].content is found[1].content  # rendered once per channel
    assert found[0].content["subject"] == "[HIGH] Critical Safety Event — V-17, D-4"
    assert found[2].content["priority"] == "high"
    assert all(n.created_at == NOW and n.next_attempt_at == NOW for n in found)
