"""Answering a page from its email: a real aiosmtpd server receives the daemon's email, and the
test follows its links as a person (and a mail scanner) would."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

import pytest

from alertd.respond.links import BadToken, Expired, Link, make_link, read_link
from tests.respond.conftest import LINK_SECRET, PUBLIC_URL, Stack

ALICE_MAIL = "alice@example.com"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def links(message: EmailMessage) -> dict[str, str]:
    """The email's action links, as local paths (the public URL is the proxy's)."""
    text, html = parts(message)
    found = dict(
        re.findall(rf"^(Acknowledge|Resolve): ({re.escape(PUBLIC_URL)}\S+)\r?$", text, re.M)
    )
    assert set(found) == {"Acknowledge", "Resolve"}
    for url in found.values():
        assert f'href="{url}"' in html
    return {label: url.removeprefix(PUBLIC_URL) for label, url in found.items()}


async def test_the_link_shows_a_page_and_only_its_button_acts(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    (message,) = await stack.emails_to(ALICE_MAIL, 1)
    ack = links(message)["Acknowledge"]
    assert ack.startswith("/v1/act/")

    shown = await stack.client.get(ack)  # what a mail scanner does
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "text/html; charset=utf-8"
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert "<h1>Acknowledge this alert?</h1>" in shown.text
    assert "Critical Safety Event, v-1042" in shown.text
    assert '<form method="post"><button type="submit">Acknowledge</button></form>' in shown.text
    alert = await stack.alert(alert_id)
    assert alert["status"] == "firing"
    assert "acked" not in [entry["action"] for entry in alert["timeline"]]

    done = await stack.client.post(ack)
    assert done.status_code == 200
    assert "<h1>Acknowledged by alice</h1>" in done.text
    alert = await stack.alert(alert_id)
    assert (alert["status"], alert["acked_by"], alert["acked_via"]) == ("acked", "alice", "email")

    again = await stack.client.post(ack)
    assert "<h1>Already acknowledged by alice</h1>" in again.text
    shown = await stack.client.get(ack)
    assert "Nothing to do: acknowledged by alice." in shown.text
    assert "<form" not in shown.text

    resolved = await stack.client.post(links(message)["Resolve"])
    assert "<h1>Resolved by alice</h1>" in resolved.text
    late = await stack.client.post(ack)
    assert late.status_code == 409
    assert "Nothing changed: it is resolved by alice" in late.text


def tampered(path: str) -> list[str]:
    """The link's token with its claims or its signature changed, or cut short."""
    token = path.removeprefix("/v1/act/")
    claims, _, mac = token.partition(".")
    flip = {"A": "B"}.get(claims[5], "A")
    return [
        f"/v1/act/{claims[:5]}{flip}{claims[6:]}.{mac}",
        f"/v1/act/{claims}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}",
        f"/v1/act/{claims}",
        f"/v1/act/{token[:-10]}",
    ]


async def test_a_tampered_token_fails_and_changes_nothing(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    (message,) = await stack.emails_to(ALICE_MAIL, 1)
    for path in tampered(links(message)["Resolve"]):
        for method in ("GET", "POST"):
            answer = await stack.client.request(method, path)
            assert answer.status_code == 403, (method, path, answer.text)
            assert "This link cannot be used" in answer.text
    assert (await stack.alert(alert_id))["status"] == "firing"


async def test_an_expired_link_fails_and_says_so(stack: Stack) -> None:
    alert_id = await stack.fire("v-1042")
    made = time.time() - 8 * 86_400  # eight days ago: a week's links have run out
    link = Link(alert_id, "ack", "email", ALICE_MAIL)
    url = make_link(PUBLIC_URL, LINK_SECRET.encode(), link, made)
    answer = await stack.client.post(url.removeprefix(PUBLIC_URL))
    assert answer.status_code == 410
    assert "it has expired: links work for 7 days" in answer.text
    assert (await stack.alert(alert_id))["status"] == "firing"


def test_a_token_reads_back_only_with_its_secret_and_in_its_time() -> None:
    secret = b"s" * 32
    link = Link("01KDTEST0000000000000000AA", "resolve", "email", "alice@example.com")
    token = make_link("", secret, link, 1000.0).removeprefix("/v1/act/")
    assert read_link(secret, token, 1000.0 + 7 * 86_400) == link
    with pytest.raises(Expired):
        read_link(secret, token, 1001.0 + 7 * 86_400)
    with pytest.raises(BadToken, match="changed, or was not made by this alertd"):
        read_link(b"t" * 32, token, 1000.0)
