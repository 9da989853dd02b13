"""What an SMS reply says, and the line every alert SMS ends with to invite one.

    Reply 12a to ack, 12c to resolve, 12e to escalate

A reply is a code and an action, in either order, with or without a space, in any case:
`12a`, `12 A`, `ack 12`, `12c`, `resolve 12`, `12e`, `escalate #12`. The letters are the
initials of what they do (a: acknowledge, c: close, that is resolve, e: escalate) or the word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertd.incidents.lifecycle import Action

WORDS: dict[str, Action] = {
    "a": "ack",
    "ack": "ack",
    "c": "resolve",
    "resolve": "resolve",
    "e": "escalate",
    "escalate": "escalate",
}
"""What a reply may call each action, lower-cased."""

_WORD = "|".join(sorted(WORDS, key=len, reverse=True))
_CODE_FIRST = re.compile(rf"#?(\d{{1,6}})\s*({_WORD})", re.IGNORECASE)
_WORD_FIRST = re.compile(rf"({_WORD})\s*#?(\d{{1,6}})", re.IGNORECASE)

HOW_TO_REPLY = "Reply with the code and a letter: 12a to ack, 12c to resolve, 12e to escalate."


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    action: Action


def parse_reply(text: str) -> Reply | None:
    """The code and action a reply names; None when it names none (one word of text around
    it, such as a trailing full stop, is not allowed: a reply is the code and the action)."""
    body = text.strip().rstrip(".!")
    found = _CODE_FIRST.fullmatch(body)
    if found is not None:
        return Reply(int(found[1]), WORDS[found[2].lower()])
    found = _WORD_FIRST.fullmatch(body)
    if found is not None:
        return Reply(int(found[2]), WORDS[found[1].lower()])
    return None


def reply_line(code: int, *, escalates: bool) -> str:
    """The invitation an alert SMS ends with; escalation is offered only to an alert that has
    an escalation policy (a reply `12e` to one without would only be refused)."""
    line = f"Reply {code}a to ack, {code}c to resolve"
    return f"{line}, {code}e to escalate" if escalates else line
