"""Acknowledge and Resolve links in alert emails: `{public_url}/v1/act/{token}`.

The token is signed (alertd.signing, with `[server] link_secret`, else a secret kept in the
state folder) and names the alert, the action, the channel and the address the email went to;
it expires LINK_LIFETIME after the email was made. Following the link (GET) shows a small page
with the alert and one button, and changes nothing: mail scanners open every link of an email.
The button POSTs to the same URL, which acts, via `email`, as the person of the on-call file
who owns that address (or as the address). A token that was changed, not made by this alertd,
or is past its time gets a page saying so, and nothing changes.

The pages are plain HTML with no script, sent with a policy that allows nothing else, and no
`Referer`: the token in the URL is a key, and must not leak to another site.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from alertd.clock import Clock
from alertd.config import Settings
from alertd.core import Core
from alertd.engine.state import AlertRecord
from alertd.incidents import ActionRefused
from alertd.incidents.lifecycle import DONE, Action
from alertd.respond.answers import HookAnswer
from alertd.respond.sms_hook import summary
from alertd.signing import BadToken, kept_secret, read_token, sign_token

log = logging.getLogger("alertd.respond")

PATH = "/v1/act/"
LINK_LIFETIME = 7 * 86_400.0  # seconds
SECRET_FILE = "link-secret"
LINK_ACTIONS: tuple[Action, ...] = ("ack", "resolve")
LABELS: dict[str, str] = {"ack": "Acknowledge", "resolve": "Resolve"}
HEADERS = (
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
)


def link_secret(settings: Settings) -> bytes:
    """The secret links are signed with. Raises OSError when it has to be made and cannot."""
    return kept_secret(settings.server.link_secret, settings.state.path.parent / SECRET_FILE)


@dataclass(frozen=True, slots=True)
class Link:
    """What a valid token allows: this action on this alert, for this address."""

    alert_id: str
    action: Action
    channel: str
    recipient: str


def make_link(
    public_url: str, secret: bytes, link: Link, now: float, lifetime: float = LINK_LIFETIME
) -> str:
    """The URL of a link, valid until `now + lifetime`."""
    claims = {
        "alert": link.alert_id,
        "action": link.action,
        "channel": link.channel,
        "to": link.recipient,
        "until": round(now + lifetime),
    }
    return f"{public_url}{PATH}{sign_token(secret, claims)}"


class Expired(BadToken):
    """A token that was valid, and is past its time."""


def read_link(secret: bytes, token: str, now: float) -> Link:
    """The link a token stands for. Raises BadToken (Expired past its time)."""
    claims = read_token(secret, token)
    link = _link(claims)
    if link is None:
        raise BadToken("it was not made by this alertd")
    if not now <= claims["until"]:
        raise Expired("it has expired: links work for 7 days after the email was sent")
    return link


def _link(claims: dict[str, Any]) -> Link | None:
    fields = (claims.get(name) for name in ("alert", "action", "channel", "to"))
    alert_id, action, channel, recipient = fields
    until = claims.get("until")
    if not all(isinstance(value, str) for value in (alert_id, action, channel, recipient)):
        return None
    if action not in LINK_ACTIONS or not isinstance(until, int | float):
        return None
    return Link(str(alert_id), action, str(channel), str(recipient))


class LinkPages:
    """Answers GET and POST /v1/act/{token}."""

    def __init__(self, settings: Settings, core: Core, clock: Clock, secret: bytes) -> None:
        self.settings = settings
        self.core = core
        self.clock = clock
        self.secret = secret

    async def show(self, token: str) -> HookAnswer:
        """The confirmation page: what the link would do, and a button. Changes nothing."""
        link, refusal = self._read(token)
        if link is None:
            return refusal
        detail = await self.core.alert(link.alert_id)
        if detail is None:
            return _gone()
        record = detail.record
        label = LABELS[link.action]
        state = _state(record)
        button = (
            f'<form method="post"><button type="submit">{label}</button></form>'
            if _applies(record, link.action)
            else f"<p>Nothing to do: {html.escape(state)}.</p>"
        )
        body = (
            f"<h1>{label} this alert?</h1>{_alert(record)}"
            f"<p>It is {html.escape(state)}.</p>{button}"
        )
        return page(200, f"{label}: {summary(record)}", body)

    async def act(self, token: str) -> HookAnswer:
        """Do what the link says (the confirmation page's button)."""
        link, refusal = self._read(token)
        if link is None:
            return refusal
        who = self.core.person_at(link.channel, link.recipient) or link.recipient
        try:
            acted = await self.core.act(link.alert_id, link.action, who, "email")
        except ActionRefused as refused:
            text = f"Nothing changed: {refused.message}."
            return page(
                409, "Nothing changed", f"{_alert(refused.record)}<p>{html.escape(text)}</p>"
            )
        if acted is None:
            return _gone()
        record = acted.detail.record
        log.info(
            "email link",
            extra={"alert_id": link.alert_id, "action": link.action, "by": who},
        )
        if not acted.changed:
            heading = f"Already {_state(record)}"
        else:
            heading = f"{DONE[link.action].capitalize()}{_by(who)}"
        return page(200, heading, f"<h1>{html.escape(heading)}</h1>{_alert(record)}")

    def _read(self, token: str) -> tuple[Link | None, HookAnswer]:
        try:
            return read_link(self.secret, token, self.clock.now()), _gone()
        except Expired as expired:
            return None, _invalid(410, str(expired))
        except BadToken as bad:
            log.warning("an action link that is not valid: %s", bad)
            return None, _invalid(403, str(bad))


def _applies(record: AlertRecord, action: Action) -> bool:
    if action == "ack":
        return record.status == "firing"
    return record.status != "resolved"


def _state(record: AlertRecord) -> str:
    if record.status == "acked":
        return f"acknowledged{_by(record.acked_by)}"
    if record.status == "resolved":
        return f"resolved{_by(record.resolved_by)}"
    return record.status


def _by(who: str | None) -> str:
    return f" by {who}" if who else ""


def _alert(record: AlertRecord) -> str:
    alert = record.alert
    return (
        f"<p><b>{html.escape(summary(record))}</b> ({html.escape(alert.priority)})</p>"
        f'<p class="id">Alert {html.escape(alert.id)}</p>'
    )


def _gone() -> HookAnswer:
    return page(404, "No such alert", "<p>This alert is no longer kept; nothing changed.</p>")


def _invalid(status: int, why: str) -> HookAnswer:
    body = f"<p>This link cannot be used: {html.escape(why)}. Nothing changed.</p>"
    return page(status, "This link is not valid", body)


STYLE = (
    "body{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em;color:#222}"
    "button{font-size:1.2em;padding:.5em 1.5em}.id{color:#666}"
)


def page(status: int, title: str, body: str) -> HookAnswer:
    """A whole page; `body` is HTML made here (every value in it escaped)."""
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - alertd</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HookAnswer(status, "text/html; charset=utf-8", text.encode(), HEADERS)
