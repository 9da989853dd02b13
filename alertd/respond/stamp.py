"""Each page made answerable where it lands, as it is planned (an `Incidents` stamp).

A channel's message is rendered once per alert and notice; what differs per recipient is added
here, to that recipient's notification alone:

- SMS: the number's reply code for the alert, on the last line (`Reply 12a to ack, 12c to
  resolve`), the text cut to make room for it within `[notify] sms_max_segments`;
- email: Acknowledge and Resolve links (alertd.respond.links) for that address, at the end of
  the text and of the HTML (before `</body>`).

Nothing is stamped without `[server] public_url`: replies could not reach alertd, and an
invitation to answer that cannot work is worse than none.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from alertd.config import Settings
from alertd.notify.notification import Notification
from alertd.notify.sms_encoding import cap_sms_ending
from alertd.respond.codes import ReplyCodes
from alertd.respond.links import LABELS, LINK_ACTIONS, Link, make_link
from alertd.respond.replies import reply_line

_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class Stamper:
    """Stamps pages with reply codes and action links."""

    def __init__(self, settings: Settings, codes: ReplyCodes, link_secret: bytes) -> None:
        self.settings = settings
        self.codes = codes
        self.link_secret = link_secret

    def __call__(self, pages: Sequence[Notification], escalates: bool, now: float) -> None:
        if not self.settings.server.public_url:
            return
        for page in pages:
            if not page.recipient:
                continue
            if page.kind == "sms":
                self._reply_code(page, escalates, now)
            elif page.kind == "email":
                self._links(page, now)

    def _reply_code(self, page: Notification, escalates: bool, now: float) -> None:
        code = self.codes.give(page.recipient, page.alert_id, now)
        text = cap_sms_ending(
            str(page.content.get("text", "")),
            reply_line(code, escalates=escalates),
            self.settings.notify.sms_max_segments,
        )
        page.content = {**page.content, "text": text}

    def _links(self, page: Notification, now: float) -> None:
        public_url = self.settings.server.public_url
        links = {
            action: make_link(
                public_url,
                self.link_secret,
                Link(page.alert_id, action, page.channel, page.recipient),
                now,
            )
            for action in LINK_ACTIONS
        }
        text = "\n".join(f"{LABELS[action]}: {url}" for action, url in links.items())
        anchors = " &middot; ".join(
            f'<a href="{html.escape(url)}">{LABELS[action]}</a>' for action, url in links.items()
        )
        block = f'<p style="font-size: 1.1em">{anchors}</p>\n'
        body = str(page.content.get("html", ""))
        end = _BODY_END.search(body)
        body = body[: end.start()] + block + body[end.start() :] if end else body + block
        page.content = {
            **page.content,
            "text": f"{str(page.content.get('text', '')).rstrip()}\n\n{text}\n",
            "html": body,
        }
