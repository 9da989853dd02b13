"""Hostile event text through every channel at once, each to its real local server.

The key and the event carry the hostile value, so the shipped templates put it in every
channel's text: the email subject and bodies, the SMS, the Slack message, the push title and
body, and the webhook's JSON. Each server must receive exactly one well-formed message.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest
from aiohttp import web

from alertd.clock import FakeClock
from alertd.model import NotifyTarget
from alertd.notify.dispatcher import Dispatcher
from alertd.notify.outbox import Outbox
from tests.notify.conftest import HttpServer, Request, enqueue_alert, make_alert, make_settings
from tests.notify.test_email import Mailbox, port_of, start_smtp
from tests.notify.test_sms import SID, twilio

CHANNELS = ("email", "sms", "slack", "push", "webhook")

HOSTILE = {
    "script": "<script>alert('x')</script>",
    "mention": "<!channel> <!here> <@U024BE7LH>",
    "header": "V-17\r\nBcc: x@example.com",
    "huge": "A" * 10_000,
    "surrogate": "V-\ud800\udfff-\udc00",
}


async def respond_ok(request: Request) -> web.StreamResponse:
    if request.path.endswith("chat.postMessage"):
        return web.json_response({"ok": True, "channel": "C1", "ts": "1.1"})
    return web.json_response({"id": "ok"})


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_text_is_escaped_stripped_or_capped_everywhere(
    tmp_path: Path, http_server: HttpServer, case: str
) -> None:
    value = HOSTILE[case]
    http_server.handler = respond_ok
    sms_server = HttpServer(handler=twilio([]))
    await sms_server.start()
    mailbox = Mailbox()
    smtp = await start_smtp(mailbox)
    settings = make_settings(
        tmp_path,
        channels={
            "email": {
                "host": "127.0.0.1",
                "port": port_of(smtp),
                "from": "a@fleet.example.com",
                "to": "ops@example.com",
            },
            "sms": {
                "account_sid": SID,
                "auth_token": "t",
                "from": "+1555",
                "to": "+1556",
                "base_url": sms_server.url,
            },
            "slack": {"token": "xoxb", "channel": "#fleet", "base_url": f"{http_server.url}/api/"},
            "push": {"provider": "ntfy", "base_url": f"{http_server.url}/ntfy", "topic": "fleet"},
            "webhook": {"url": f"{http_server.url}/hook"},
        },
    )
    alert = make_alert(
        key=(value,),
        event={"type": "safety_event", "vehicle_id": value, "note": value},
        notify=tuple(NotifyTarget(c) for c in CHANNELS),
    )
    clock = FakeClock()
    outbox = Outbox(tmp_path / "alertd.db")
    enqueue_alert(outbox, settings, alert, clock.now())
    await Dispatcher(settings, outbox, clock).run(burst=True)
    smtp.close()
    await sms_server.stop()

    # Nothing else goes out: one message per channel, every one delivered.
    assert [(s.channel, s.state) for s in outbox.states(alert.id)] == [
        (c, "sent") for c in CHANNELS
    ]
    ((_sender, recipients, mail),) = mailbox.received
    (sms_request,) = sms_server.requests
    by_path = {r.path: r for r in http_server.requests}
    assert sorted(by_path) == ["/api/chat.postMessage", "/hook", "/ntfy"]
    for raw in [sms_request.body, *(r.body for r in http_server.requests)]:
        raw.decode("utf-8")  # valid UTF-8: no lone surrogate reached a provider

    # Email: only the configured recipient, no injected header, one-line subject, HTML escaped.
    assert recipients == ["ops@example.com"]
    assert mail["Bcc"] is None
    subject = str(mail["Subject"])
    assert "\r" not in subject and "\n" not in subject and len(subject) <= 200
    html = _part(mail, "html")
    text = _part(mail, "plain")
    assert "<script>" not in html and "<!channel>" not in html
    assert len(text) < 20_000 and len(html) < 40_000  # each value capped at 2,000 characters

    # SMS: no control characters, at most three segments.
    body = {k: v[0] for k, v in parse_qs(sms_request.body.decode()).items()}["Body"]
    assert "\r" not in body and len(body) <= 3 * 153

    # Slack: markup in event text is escaped, so no mention or link can be forged.
    slack = orjson.loads(by_path["/api/chat.postMessage"].body)
    slack_text = slack["attachments"][0]["blocks"][0]["text"]["text"]
    for forged in ("<!channel>", "<!here>", "<@U024BE7LH>", "<script>"):
        assert forged not in slack_text and forged not in slack["text"]
    assert len(slack_text) <= 3000

    # Push (ntfy): one-line title, capped body.
    push = orjson.loads(by_path["/ntfy"].body)
    assert "\n" not in push["title"] and "\r" not in push["title"]
    assert len(push["message"]) <= 1000

    # Webhook: the event arrives intact as JSON data (escaped by JSON, surrogates replaced).
    hook = orjson.loads(by_path["/hook"].body)
    expected = (
        value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if case == "surrogate"
        else value
    )
    assert hook["event"]["note"].replace("\ufffd", "") == expected.replace("\ufffd", "")

    if case == "script":
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    if case == "mention":
        assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U024BE7LH&gt;" in slack_text
    if case == "header":
        assert "Bcc: x@example.com" in subject  # flattened into the subject's text
    if case == "huge":
        assert body.endswith("...") and len(body) == 3 * 153 - 2  # "[" and "]" take two septets
    if case == "surrogate":
        assert "\ufffd" in subject and "\ufffd" in body


def _part(message: Any, subtype: str) -> str:
    parsed = email.message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body((subtype,))
    assert part is not None
    return str(part.get_content())
