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
        ("'https://u:p@ss@h/x?a=1&api_key=k&b=&c#frag'", "'https://[redacted]@h/x?a=1&api_key=[redacted]&b=&c#frag'"),
        ("http://h/?bare-secret", "http://h/?[redacted]"),
        ("https://ops.example.com/alerts/01J", "https://ops.example.com/alerts/01J"),
        ('{"msg": "to \\"http://h/?access_token=abc\\""}', '{"msg": "to \\"http://h/?access_token=[redacted]\\""}'),
        ("no address at all: user@example.com?x=1", "no address at all: user@example.com?x=1"),
        # Presigned links: every credential-like parameter, whatever its case or prefix.
        ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Date=20261125&X-Amz-Signature=f00",
         "https://b.s3.amazonaws.com/k?X-Amz-Credential=[redacted]&X-Amz-Date=20261125&X-Amz-Signature=[redacted]"),
        ("https://a.blob.core.windows.net/c?sv=2024&sig=Zm9v&se=2026", "https://a.blob.core.windows.net/c?sv=2024&sig=[redacted]&se=2026"),
        ("https://h/cb#access_token=abc&state=xyz", "https://h/cb#access_token=[redacted]&state=xyz"),
        ("https://h/x?signal=weak&password=pw&PassWord=pw&code=123",
         "https://h/x?signal=weak&password=[redacted]&PassWord=[redacted]&code=[redacted]"),
    ],
)  # fmt: skip
def test_redact_urls_hides_user_info_and_credentials_in_free_text(text: str, redacted: str) -> None:
    assert redact_urls(text) == redacted


@pytest.mark.parametrize(
    "link",
    [
        "https://maps.google.com/?q=52.3702,4.8952",
        "https://www.google.com/maps/search/?api=1&query=52.3702%2C4.8952",
        "https://www.openstreetmap.org/?mlat=52.3702&mlon=4.8952#map=16/52.3702/4.8952",
        "https://fleet.example.com/vehicles/TRK-042?from=2026-11-25T21:00:00Z&tab=trips",
        "https://h/report?a=1&amp;b=2",  # HTML-escaped, as an autoescaped template writes it
    ],
)
def test_harmless_links_keep_their_query(link: str) -> None:
    assert redact_urls(f"see {link} now") == f"see {link} now"


def test_an_action_links_token_is_hidden_and_the_rest_kept() -> None:
    line = (
        '"text": "Acknowledge: https://alerts.example.com/ops/v1/act/eyJhbGVydCI6.Bh_Qo-5GQ\\n'
        'Resolve: https://alerts.example.com/ops/v1/act/eyJhbGVydCI6.Rbjwqi7tZ"'
    )
    assert redact_urls(line) == (
        '"text": "Acknowledge: https://alerts.example.com/ops/v1/act/[redacted]\\n'
        'Resolve: https://alerts.example.com/ops/v1/act/[redacted]"'
    )
