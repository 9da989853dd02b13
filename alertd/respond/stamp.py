"""Each page made answerable where it lands, as it is planned (an `Incidents` stamp).

A channel's message is rendered once per alert and notice; what differs per recipient is added
here, to that recipient's notification alone:

- SMS: the number's reply code for the alert, on the last line (`Reply 12a to ack, 12c to
  resolve`), the text cut to make room for it within `[notify] sms_max_segments`;

Nothing is stamped without `[server] public_url`: replies could not reach alertd, and an
invitation to answer that cannot work is worse than none.
"""

from __future__ import annotations

from collections.abc import Sequence

from alertd.config import Settings
from alertd.notify.notification import Notification
from alertd.notify.sms_encoding import cap_sms_ending
from alertd.respond.codes import ReplyCodes
from alertd.respond.replies import reply_line


class Stamper:
    """Stamps pages with reply codes."""

    def __init__(self, settings: Settings, codes: ReplyCodes) -> None:
        self.settings = settings
        self.codes = codes

    def __call__(self, pages: Sequence[Notification], escalates: bool, now: float) -> None:
        if not self.settings.server.public_url:
            return
        for page in pages:
            if page.recipient and page.kind == "sms":
                code = self.codes.give(page.recipient, page.alert_id, now)
                text = cap_sms_ending(
                    str(page.content.get("text", "")),
                    reply_line(code, escalates=escalates),
                    self.settings.notify.sms_max_segments,
                )
                page.content = {**page.content, "text": text}
