"""The HMAC scheme of webhooks and signed ingestion, against answers computed outside alertd."""

from __future__ import annotations

from alertd.signing import sign, signature_error

# Computed once with OpenSSL, not with alertd's sign():
#   printf '%s' '1767225600.{"type":"breakdown","vehicle_id":"v-7"}' |
#     openssl dgst -sha256 -hmac 'whsec-known-answer-0001'
KNOWN_SECRET = "whsec-known-answer-0001"
KNOWN_TIMESTAMP = "1767225600"
KNOWN_BODY = b'{"type":"breakdown","vehicle_id":"v-7"}'
KNOWN_SIGNATURE = "sha256=b1c793f652722dbdf39c16768eced5e93f14e72716519c4a311397259916bf11"


def test_sign_gives_the_documented_hmac() -> None:
    assert sign(KNOWN_SECRET, KNOWN_TIMESTAMP, KNOWN_BODY) == KNOWN_SIGNATURE


def test_a_known_good_signature_is_accepted_within_the_tolerance() -> None:
    headers = {"x-alertd-timestamp": KNOWN_TIMESTAMP, "x-alertd-signature": KNOWN_SIGNATURE}
    now = float(KNOWN_TIMESTAMP)
    assert signature_error(KNOWN_SECRET, headers, KNOWN_BODY, now + 299) is None
    assert signature_error(KNOWN_SECRET, headers, KNOWN_BODY, now - 299) is None


def test_signatures_bind_the_body_the_secret_and_the_time() -> None:
    headers = {"x-alertd-timestamp": KNOWN_TIMESTAMP, "x-alertd-signature": KNOWN_SIGNATURE}
    now = float(KNOWN_TIMESTAMP)
    assert signature_error(KNOWN_SECRET, headers, KNOWN_BODY + b" ", now) == (
        "signature does not match the body"
    )
    assert signature_error("other", headers, KNOWN_BODY, now) == (
        "signature does not match the body"
    )
    assert signature_error(KNOWN_SECRET, headers, KNOWN_BODY, now + 301) == (
        "X-Alertd-Timestamp is more than 300s from the server's time"
    )
    assert signature_error(KNOWN_SECRET, {}, KNOWN_BODY, now) == (
        "missing X-Alertd-Signature or X-Alertd-Timestamp header"
    )


def test_a_timestamp_that_is_no_time_is_refused() -> None:
    for stamp in ["nan", "inf", "-inf", "soon"]:
        headers = {"x-alertd-timestamp": stamp, "x-alertd-signature": sign("s", stamp, b"{}")}
        assert signature_error("s", headers, b"{}", now=1000.0) is not None, stamp
