"""The public form of recipients and URLs: what logs, API answers and errors may show."""

from __future__ import annotations

import pytest

from alertd.redact import public_recipient, public_url, redact_urls


@pytest.mark.parametrize(
    ("kind", "recipient", "shown"),
    [
        ("webhook", "http://bob:secret@hooks.example.com:8443/alerts?token=abc#x",
         "http://hooks.example.com:8443/alerts"),
        ("webhook", "https://hooks.example.com/alerts", "https://hooks.example.com/alerts"),
        ("push", "fleet-alerts-7f3a", "flee…"),  # an ntfy topic is its own password
        ("push", "d" * 40 + "-device-registration-token", "dddddddd…"),  # FCM: 8 characters
        ("push", "abc", "…"),
        ("push", "", ""),  # no recipient configured
        ("email", "ops@example.com", "ops@example.com"),
        ("sms", "+15550100002", "+15550100002"),
        ("slack", "#fleet-alerts", "#fleet-alerts"),
    ],
)  # fmt: skip
def test_each_kind_has_one_public_form(kind: str, recipient: str, shown: str) -> None:
    assert public_recipient(kind, recipient) == shown


def test_a_url_with_a_port_that_is_not_a_number_is_still_shown() -> None:
    assert public_url("http://u:p@host:abc/path?q=1") == "http://host:abc/path"
    assert public_url("http://[::1/hook?token=abc") == "http://[::1/hook?token=[redacted]"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("POST http://bob:secret@host/alerts?token=abc failed",
         "POST http://[redacted]@host/alerts?token=[redacted] failed"),
        ("'https://u:p@ss@h/x?a=1&b=&c#frag'", "'https://[redacted]@h/x?a=[redacted]&b=[redacted]&[redacted]#frag'"),
        ("http://h/?bare-secret", "http://h/?[redacted]"),
        ("https://ops.example.com/alerts/01J", "https://ops.example.com/alerts/01J"),
        ('{"msg": "to \\"http://h/?t=abc\\""}', '{"msg": "to \\"http://h/?t=[redacted]\\""}'),
        ("no address at all: user@example.com?x=1", "no address at all: user@example.com?x=1"),
    ],
)  # fmt: skip
def test_redact_urls_hides_user_info_and_query_values_in_free_text(
    text: str, redacted: str
) -> None:
    assert redact_urls(text) == redacted
