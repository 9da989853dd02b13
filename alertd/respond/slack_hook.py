"""`POST /v1/hooks/slack`: a click on an alert message's Acknowledge or Resolve button, as
Slack's interactivity request brings it (form field `payload`, a `block_actions` JSON).

Nothing is done unless `X-Slack-Signature` is Slack's signature of this very body and
timestamp under the `signing_secret` of a Slack channel (`[channels.NAME]` of kind slack), and
the timestamp is no more than five minutes from alertd's clock (a captured request cannot be
replayed later): 401 otherwise. A signed click acts as the person of the on-call file whose
`slack` address is the clicking user's id (or as the Slack user), through `slack`.

Slack wants an answer within three seconds: the action is given ACT_WITHIN to commit, and the
answer is 200 either way (the action goes on if it takes longer). The message itself is edited
by the status update the action sends (alertd.notify.channels.slack: `chat.update`), so it
shows the new state and who, as every other message of the alert does. A second click, or a
click on a stale message, changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from alertd import jsonutil
from alertd.clock import Clock
from alertd.config import Settings
from alertd.core import Core
from alertd.incidents import ActionRefused
from alertd.incidents.lifecycle import Action
from alertd.notify.channels.slack import ACK_ACTION, RESOLVE_ACTION, signed_by_slack
from alertd.respond.answers import HookAnswer, refused

log = logging.getLogger("alertd.respond")

PATH = "/v1/hooks/slack"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
TOLERANCE = 300.0  # seconds between Slack's timestamp and alertd's clock
ACT_WITHIN = 2.0  # seconds the action is waited for before Slack is answered
ACTIONS: dict[str, Action] = {ACK_ACTION: "ack", RESOLVE_ACTION: "resolve"}


class SlackHook:
    """Answers Slack's interactivity requests."""

    def __init__(self, settings: Settings, core: Core, clock: Clock) -> None:
        self.settings = settings
        self.core = core
        self.clock = clock
        self._running: set[asyncio.Task[None]] = set()

    async def answer(self, body: bytes, headers: Mapping[str, str]) -> HookAnswer:
        """The answer to one interactivity request (`headers` with lower-cased names)."""
        secrets = {
            name: str(table["signing_secret"])
            for name, table in self.settings.channels.items()
            if self.settings.channel_kind(name) == "slack" and table.get("signing_secret")
        }
        if not secrets:
            return refused(
                401, "Slack buttons are not set up: no Slack channel has a signing_secret"
            )
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            return refused(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
        now = self.clock.now()
        try:
            stale = not abs(now - float(timestamp)) <= TOLERANCE  # a NaN is stale too
        except ValueError:
            stale = True
        if stale:
            log.warning("a Slack request with a stale or invalid timestamp: refused")
            return refused(401, "X-Slack-Request-Timestamp is over 5 minutes from alertd's time")
        channel = next(
            (
                name
                for name, secret in secrets.items()
                if signed_by_slack(secret, body, timestamp, signature, now)
            ),
            None,
        )
        if channel is None:
            log.warning("a Slack request without a valid X-Slack-Signature: refused")
            return refused(401, "invalid X-Slack-Signature")
        payload = _payload(body)
        if payload is None:
            return refused(400, "expected a form field `payload` holding a JSON object")
        clicks = _clicks(payload)
        if clicks:
            who = self._who(channel, payload.get("user"))
            task = asyncio.create_task(self._act(clicks, who))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            await asyncio.wait([task], timeout=ACT_WITHIN)  # not cancelled if it takes longer
        return HookAnswer(200, "text/plain; charset=utf-8", b"")

    def _who(self, channel: str, user: Any) -> str:
        """The person whose `slack` address is the user's id, else the user's name or id."""
        if not isinstance(user, dict):
            return ""
        user_id = str(user.get("id", ""))
        person = self.core.person_at(channel, user_id) if user_id else None
        return person or str(user.get("username") or user.get("name") or user_id)

    async def _act(self, clicks: list[tuple[Action, str]], who: str) -> None:
        for action, alert_id in clicks:
            try:
                acted = await self.core.act(alert_id, action, who, "slack")
            except ActionRefused as refusal:
                outcome = refusal.message
            except Exception:
                log.exception("a Slack click could not be done", extra={"alert_id": alert_id})
                continue
            else:
                outcome = "no such alert" if acted is None else acted.message
            log.info(
                "Slack click",
                extra={"alert_id": alert_id, "action": action, "by": who, "outcome": outcome},
            )


def _payload(body: bytes) -> dict[str, Any] | None:
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        payload = jsonutil.loads(form.get("payload", ""))
    except jsonutil.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


def _clicks(payload: dict[str, Any]) -> list[tuple[Action, str]]:
    """(action, alert id) for each of alertd's buttons in a `block_actions` payload."""
    if payload.get("type") != "block_actions" or not isinstance(payload.get("actions"), list):
        return []
    return [
        (ACTIONS[click["action_id"]], click["value"])
        for click in payload["actions"]
        if isinstance(click, dict)
        and click.get("action_id") in ACTIONS
        and isinstance(click.get("value"), str)
        and click["value"]
    ]
