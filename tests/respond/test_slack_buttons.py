"""Answering a page in Slack: the daemon's real stack, a local server playing Slack's Web API
(slack-sdk posts and updates through it), and clicks posted to the hook signed as Slack
documents it."""

from __future__ import annotations

import asyncio
import time

from tests.respond.conftest import ADMIN, ALICE, Stack, blocks, buttons, click


async def test_a_page_carries_acknowledge_and_resolve_buttons(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    (message,) = await stack.slack_posted(1)
    assert message["channel"] == "#fleet-alerts"
    assert buttons(message) == [("alertd_ack", alert_id), ("alertd_resolve", alert_id)]


async def test_a_click_acks_and_the_message_is_updated_in_place(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.delivered(alert_id)

    answer = await stack.click(click("alertd_ack", alert_id))

    assert answer.status_code == 200
    alert = await stack.alert(alert_id)
    assert (alert["status"], alert["acked_by"], alert["acked_via"]) == ("acked", "alice", "slack")
    (update,) = await stack.slack_updated(1)
    assert (update["channel"], update["ts"]) == ("C0FLEET", "1767225600.000001")
    text = blocks(update)[0]["text"]["text"]
    assert "*Acknowledged* by alice via slack" in text
    assert buttons(update) == [("alertd_resolve", alert_id)]
    assert len(stack.slack.posted) == 1  # edited, not posted again
    # alice was paged by SMS too: she hears of it there
    acked = (await stack.sms_to(ALICE, 2))[-1]
    assert acked.startswith("ACKED Critical Safety Event: v-1042 by alice (slack)")


async def test_an_ack_while_the_page_is_in_flight_edits_the_page_once_it_is_sent(
    stack: Stack,
) -> None:
    """Acked seconds after the page, before Slack has answered it: the update waits for the
    page's receipt and edits it, rather than posting a second message to the channel."""
    stack.slack.gate = asyncio.Event()
    alert_id = await stack.fire("v-1042")
    await stack.slack_posted(1)  # the page reached Slack, unanswered
    acked = await stack.client.post(f"/v1/alerts/{alert_id}/ack", headers=ADMIN, json={})
    assert acked.status_code == 200, acked.text
    # The ack's SMS to alice is out: its Slack update had every chance to go too.
    assert (await stack.sms_to(ALICE, 2))[-1].startswith("ACKED Critical Safety Event: v-1042")
    assert len(stack.slack.posted) == 1, "the update was posted as a message of its own"
    stack.slack.gate.set()
    (update,) = await stack.slack_updated(1)
    assert (update["channel"], update["ts"]) == ("C0FLEET", "1767225600.000001")
    assert "*Acknowledged*" in blocks(update)[0]["text"]["text"]
    assert len(stack.slack.posted) == 1


async def test_repeated_clicks_are_harmless(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.delivered(alert_id)
    for _ in range(3):
        assert (await stack.click(click("alertd_ack", alert_id))).status_code == 200
    resolved = await stack.click(click("alertd_resolve", alert_id, user="U0SOMEONE"))
    assert resolved.status_code == 200
    assert (await stack.click(click("alertd_ack", alert_id))).status_code == 200  # stale

    alert = await stack.alert(alert_id)
    assert (alert["status"], alert["resolved_by"], alert["resolved_via"]) == (
        "resolved",
        "someone",  # not in the on-call file: the Slack user's name
        "slack",
    )
    assert [entry["action"] for entry in alert["timeline"] if entry["via"] == "slack"] == [
        "acked",
        "resolved",
    ]
    updates = await stack.slack_updated(2)
    assert len(updates) == 2
    assert buttons(updates[-1]) == []
    assert "resolved" in blocks(updates[-1])[0]["text"]["text"].lower()


async def test_a_request_older_than_five_minutes_is_refused(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.delivered(alert_id)
    old = str(int(time.time()) - 6 * 60)  # a captured request, replayed: validly signed

    replayed = await stack.click(click("alertd_ack", alert_id), timestamp=old)

    assert replayed.status_code == 401
    assert replayed.json()["error"] == (
        "X-Slack-Request-Timestamp is over 5 minutes from alertd's time"
    )
    assert (await stack.alert(alert_id))["status"] == "firing"


async def test_a_bad_signature_is_401_and_changes_nothing(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    await stack.delivered(alert_id)
    forged = await stack.click(click("alertd_ack", alert_id), secret="not-the-signing-secret")
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid X-Slack-Signature"
    unsigned = await stack.client.post("/v1/hooks/slack", content=click("alertd_ack", alert_id))
    assert unsigned.status_code == 401
    assert (await stack.alert(alert_id))["status"] == "firing"
    assert stack.slack.updated == []
