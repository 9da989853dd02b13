"""`POST /v1/hooks/twilio`: a reply to an alert SMS, as Twilio's inbound-message webhook
brings it (form fields `From`, `To`, `Body`, ...), answered with TwiML.

Nothing is done unless `X-Twilio-Signature` is Twilio's signature of this very request: the
URL Twilio was told to call (`[server] public_url` + the path and query) and the form, signed
with the auth token of the SMS channel the reply came to (`To` is its `from`; with no such
channel, any SMS channel's). Anything else is a 403, and nothing changes.

A signed reply acts as the person of the on-call file who owns the `From` number (or as the
number itself), through `sms`, on the alert its code stands for on that number; a code that
was never sent to that number does nothing. The answer says what happened, or why not. A
number is allowed REPLIES_PER_WINDOW replies a window; past that it is answered with silence
(no SMS), so that an auto-responder and alertd cannot keep answering each other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import parse_qsl

from alertd.clock import Clock
from alertd.config import Settings
from alertd.core import Core
from alertd.engine.state import AlertRecord
from alertd.incidents import ActionRefused
from alertd.incidents.lifecycle import DONE
from alertd.notify.channels.sms import signed_by_twilio, twiml_answer
from alertd.notify.render import key_text
from alertd.oncall.model import same_address
from alertd.respond.answers import HookAnswer, refused
from alertd.respond.replies import HOW_TO_REPLY, Reply, parse_reply
from alertd.respond.throttle import Throttle

log = logging.getLogger("alertd.respond")

PATH = "/v1/hooks/twilio"
SIGNATURE_HEADER = "x-twilio-signature"
REPLIES_PER_WINDOW = 10
WINDOW = 600.0  # seconds
TWIML = "text/xml; charset=utf-8"


class SmsHook:
    """Answers Twilio's inbound-message webhook."""

    def __init__(self, settings: Settings, core: Core, clock: Clock) -> None:
        self.settings = settings
        self.core = core
        self.throttle = Throttle(REPLIES_PER_WINDOW, WINDOW, clock)

    async def answer(self, body: bytes, headers: Mapping[str, str], query: str) -> HookAnswer:
        """The answer to one webhook request (`headers` with lower-cased names; `query` the
        raw query string, "" for none)."""
        public_url = self.settings.server.public_url
        if not public_url:
            log.warning("an SMS reply arrived but [server] public_url is not set: refused")
            return _refused("[server] public_url is not set: replies cannot be checked")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        signature = headers.get(SIGNATURE_HEADER, "")
        url = public_url + PATH + (f"?{query}" if query else "")
        channel = self._signed_for(url, form, signature) if signature else None
        if channel is None:
            log.warning("an SMS webhook without a valid X-Twilio-Signature: refused")
            return _refused("missing or invalid X-Twilio-Signature")
        sender = form.get("From", "")
        if not self.throttle.allow(same_address(sender)):
            log.warning("SMS replies from %s over the limit: not answered", sender)
            return _twiml(None)
        return _twiml(await self._reply(channel, sender, form.get("Body", "")))

    def _signed_for(self, url: str, form: dict[str, str], signature: str) -> str | None:
        """The SMS channel whose auth token signed the request; None when none did."""
        channels = [
            name
            for name, table in self.settings.channels.items()
            if self.settings.channel_kind(name) == "sms" and table.get("auth_token")
        ]
        to = same_address(form.get("To", ""))

        def not_to_it(name: str) -> bool:  # the channel it came to first
            return same_address(str(self.settings.channels[name].get("from", ""))) != to

        channels.sort(key=not_to_it)
        for name in channels:
            token = str(self.settings.channels[name]["auth_token"])
            if signed_by_twilio(token, url, form, signature):
                return name
        return None

    async def _reply(self, channel: str, sender: str, text: str) -> str:
        """Do what the reply says; what to answer."""
        reply = parse_reply(text)
        if reply is None:
            return f"alertd did not understand that. {HOW_TO_REPLY}"
        found = await self.core.reply_code(sender, reply.code)
        if found.entry is None:
            if found.given_elsewhere:
                return f"Code {reply.code} was not sent to this number; nothing changed."
            return f"No alert has code {reply.code}; nothing changed. {HOW_TO_REPLY}"
        who = self.core.person_at(channel, sender) or sender
        outcome = await self._act(found.entry.alert_id, reply, who)
        log.info(
            "SMS reply",
            extra={"code": reply.code, "action": reply.action, "by": who, "answer": outcome},
        )
        return outcome

    async def _act(self, alert_id: str, reply: Reply, who: str) -> str:
        code = reply.code
        try:
            acted = await self.core.act(alert_id, reply.action, who, "sms")
        except ActionRefused as refused:
            record = refused.record
            if record.status == "resolved":
                return f"#{code} is already resolved{_by(record.resolved_by)}: {summary(record)}"
            return f"#{code} cannot be {DONE[reply.action]}: {refused.message}"
        if acted is None:
            return f"The alert of #{code} is no longer kept; nothing changed."
        record = acted.detail.record
        if not acted.changed:
            if record.status == "acked":
                return f"#{code} is already acknowledged{_by(record.acked_by)}: {summary(record)}"
            return f"#{code} is already {record.status}{_by(record.resolved_by)}: {summary(record)}"
        return f"{DONE[reply.action].capitalize()} #{code}: {summary(record)}"


def summary(record: AlertRecord) -> str:
    """An alert in a few words: its rule's name and its key (`Critical Safety Event, v-1042`)."""
    alert = record.alert
    key = key_text(alert.key)
    return f"{alert.rule_name}, {key}" if key else alert.rule_name


def _by(who: str | None) -> str:
    return f" by {who}" if who else ""


def _twiml(text: str | None) -> HookAnswer:
    return HookAnswer(200, TWIML, twiml_answer(text).encode())


def _refused(why: str) -> HookAnswer:
    return refused(403, why)
