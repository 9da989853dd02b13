"""Answering a page by SMS: the daemon's real stack, a local server playing Twilio's Messages
API (the real twilio SDK sends to it), and inbound replies posted to the hook signed as Twilio
documents it. alertd's public URL is not its local address (as behind a reverse proxy): the
signature covers the URL Twilio was given."""

from __future__ import annotations

from tests.respond.conftest import ALICE, AUTH_TOKEN, BOB, FROM, PUBLIC_URL, Stack, twilio_signature


def twiml(message: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{message}</Message></Response>'
    )


async def test_a_signed_reply_acks_as_the_person_who_owns_the_number(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    (sms,) = await stack.sms_to(ALICE, 1)
    assert sms.endswith("\nReply 1a to ack, 1c to resolve")

    answer = await stack.reply(ALICE, "1a")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text == twiml("Acknowledged #1: Critical Safety Event, v-1042")
    alert = await stack.alert(alert_id)
    assert (alert["status"], alert["acked_by"], alert["acked_via"]) == ("acked", "alice", "sms")
    acked = [entry for entry in alert["timeline"] if entry["action"] == "acked"]
    assert [(entry["by"], entry["via"]) for entry in acked] == [("alice", "sms")]

    again = await stack.reply(ALICE, "ack 1")
    assert again.text == twiml("#1 is already acknowledged by alice: Critical Safety Event, v-1042")


async def test_a_bad_signature_is_403_and_changes_nothing(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.sms_to(ALICE, 1)

    forged = await stack.reply(ALICE, "1a", token="not-the-auth-token")
    assert forged.status_code == 403
    assert forged.json()["error"] == "missing or invalid X-Twilio-Signature"

    unsigned = await stack.client.post(
        "/v1/hooks/twilio",
        data={"From": ALICE, "To": FROM, "Body": "1a"},
    )
    assert unsigned.status_code == 403

    # signed for one body, sent with another: the signature no longer matches
    form = {"From": ALICE, "To": FROM, "Body": "1c"}
    signature = twilio_signature(AUTH_TOKEN, f"{PUBLIC_URL}/v1/hooks/twilio", form)
    altered = await stack.client.post(
        "/v1/hooks/twilio",
        data={**form, "Body": "1a"},
        headers={"X-Twilio-Signature": signature},
    )
    assert altered.status_code == 403

    # signed for the local address rather than the public URL Twilio was given
    local = f"{stack.client.base_url}/v1/hooks/twilio"
    misdirected = await stack.client.post(
        "/v1/hooks/twilio",
        data=form,
        headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, local, form)},
    )
    assert misdirected.status_code == 403

    alert = await stack.alert(alert_id)
    assert alert["status"] == "firing"
    assert "acked" not in [entry["action"] for entry in alert["timeline"]]


async def test_a_code_not_sent_to_that_number_does_nothing(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.sms_to(ALICE, 1)

    answer = await stack.reply(BOB, "1a")  # bob has no code 1: it went to alice

    assert answer.status_code == 200
    assert answer.text == twiml("Code 1 was not sent to this number; nothing changed.")
    assert (await stack.alert(alert_id))["status"] == "firing"
    unknown = await stack.reply(ALICE, "7a")
    assert "No alert has code 7; nothing changed." in unknown.text


async def test_a_resolve_frees_the_code_for_the_next_alert(stack: Stack) -> None:
    first = await stack.fire("v-1042")
    assert (await stack.sms_to(ALICE, 1))[0].endswith("Reply 1a to ack, 1c to resolve")
    second = await stack.fire("v-7")
    assert (await stack.sms_to(ALICE, 2))[1].endswith("Reply 2a to ack, 2c to resolve")

    resolved = await stack.reply(ALICE, "1C")

    assert resolved.text == twiml("Resolved #1: Critical Safety Event, v-1042")
    alert = await stack.alert(first)
    assert (alert["status"], alert["resolved_by"], alert["resolved_via"]) == (
        "resolved",
        "alice",
        "sms",
    )
    assert (await stack.alert(second))["status"] == "firing"
    late = await stack.reply(ALICE, "1a")  # the code is free, and not given again yet
    assert late.text == twiml("#1 is already resolved by alice: Critical Safety Event, v-1042")

    await stack.fire("v-99")
    third = (await stack.sms_to(ALICE, 4))[-1]  # the resolved notice went out before it
    assert third.endswith("Reply 1a to ack, 1c to resolve")  # the lowest free code, again


async def test_an_unreadable_reply_is_answered_with_how_to_reply(stack: Stack) -> None:
    answer = await stack.reply(ALICE, "on my way")
    assert answer.text == twiml(
        "alertd did not understand that. Reply with the code and a letter: "
        "12a to ack, 12c to resolve, 12e to escalate."
    )


async def test_replies_are_limited_per_number(stack: Stack) -> None:
    answers = [(await stack.reply(ALICE, "ok")).text for _ in range(11)]
    assert all("<Message>" in text for text in answers[:10])
    assert answers[10] == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    other = await stack.reply(BOB, "ok")  # another number is not held back
    assert "<Message>" in other.text
