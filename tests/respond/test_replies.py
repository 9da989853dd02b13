"""What an SMS reply says, and the line that invites one."""

from __future__ import annotations

import pytest

from alertd.notify.sms_encoding import GSM7_SPLIT, cap_sms, cap_sms_ending
from alertd.respond.replies import Reply, parse_reply, reply_line


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("12a", Reply(12, "ack")),
        ("12 a", Reply(12, "ack")),
        ("12A", Reply(12, "ack")),
        (" 12a \n", Reply(12, "ack")),
        ("ack 12", Reply(12, "ack")),
        ("ACK 12", Reply(12, "ack")),
        ("Ack #12", Reply(12, "ack")),
        ("12 ack", Reply(12, "ack")),
        ("12c", Reply(12, "resolve")),
        ("resolve 12", Reply(12, "resolve")),
        ("Resolve 12.", Reply(12, "resolve")),
        ("12e", Reply(12, "escalate")),
        ("escalate 3", Reply(3, "escalate")),
        ("1a", Reply(1, "ack")),
    ],
)
def test_every_documented_form_of_a_reply_is_understood(text: str, reply: Reply) -> None:
    assert parse_reply(text) == reply


@pytest.mark.parametrize(
    "text", ["", "ok", "12", "a", "12x", "12 a please", "ack", "12ab", "stop", "a12b", "1234567a"]
)
def test_anything_else_is_not_a_reply(text: str) -> None:
    assert parse_reply(text) is None


def test_the_invitation_offers_escalation_only_to_an_alert_that_escalates() -> None:
    assert reply_line(12, escalates=True) == "Reply 12a to ack, 12c to resolve, 12e to escalate"
    assert reply_line(3, escalates=False) == "Reply 3a to ack, 3c to resolve"


def test_the_ending_fits_and_is_never_cut() -> None:
    ending = reply_line(12, escalates=True)
    assert cap_sms_ending("Short text", ending, 1) == f"Short text\n{ending}"
    long = "x" * 600
    for segments in (1, 2, 3):
        text = cap_sms_ending(long, ending, segments)
        assert text.endswith(f"...\n{ending}")
        assert cap_sms(text, segments) == text  # it fits as it is
    assert len(cap_sms_ending(long, ending, 2)) == 2 * GSM7_SPLIT
    # UCS-2 text (an emoji) fits in its own, smaller, segments
    text = cap_sms_ending("🚨" * 100, ending, 2)
    assert text.endswith(ending) and cap_sms(text, 2) == text
