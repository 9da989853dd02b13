"""Regular expressions for `matches`, with RE2: matching time is linear in the length of the text.

Event text is untrusted. Python's `re` backtracks: `plate matches "^(a+)+$"` takes about a
second on a 24-character plate and a minute on 30, blocking the daemon. RE2 (the engine of
Prometheus and Alertmanager) never backtracks; in exchange it has no backreferences and no
lookaround, which `alertd check` refuses with the place and the reason. The only module that
imports `re2` (google-re2, Google's own binding), whose errors become `PatternError` here.

A pattern that is plain text, anchored or not (`"^Depot "`, `"-tmp$"`), needs no engine: it
runs as the string method that means the same (`startswith`, `endswith`, `find`), which is five
times faster than a call into RE2. Like every search here, it raises for anything but a string
(the fast path counts on Python refusing other kinds, alertd.dsl.fastpath).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import re2  # type: ignore[import-untyped]
from re2 import _re2

Search = Callable[[str], bool]
"""Whether the pattern is found in the text; raises for anything but a string."""

_PLAIN = re.compile(r"(\^?)([^\\.^$|?*+()\[\]{}]*)(\$?)")
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_HINTS = {
    "invalid escape sequence: \\": "backreferences such as \\1 are not supported (RE2 syntax)",
    "invalid perl operator: (?=": "lookahead (?=...) is not supported (RE2 syntax)",
    "invalid perl operator: (?!": "lookahead (?!...) is not supported (RE2 syntax)",
    "invalid perl operator: (?<": "lookbehind (?<=...) is not supported (RE2 syntax)",
    "invalid perl operator: (?P": "backreferences such as (?P=name) are not supported (RE2 syntax)",
    "invalid escape sequence: \\Z": "write \\z for the end of the text",
}


class PatternError(ValueError):
    """A pattern RE2 refuses: what is wrong, where in the pattern (an index, or None), and a
    hint when the pattern uses a feature RE2 does not have."""

    def __init__(self, message: str, fragment: str, offset: int | None, hint: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.fragment = fragment  # the part of the pattern RE2 quotes, "" when none
        self.offset = offset
        self.hint = hint


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Search:
    """The search function of a pattern (RE2 syntax). Raises PatternError."""
    regexp = _compile(pattern)
    plain = _PLAIN.fullmatch(pattern)
    if plain is None:
        return _searcher(regexp)
    start, text, end = plain.groups()
    if start and end:
        size = len(text)
        return lambda value: value.startswith(text) and len(value) == size
    if start:
        return lambda value: value.startswith(text)
    if end:
        return lambda value: value.endswith(text)
    return lambda value: value.find(text) != -1


def _compile(pattern: str) -> object:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.never_capture = True  # only whether it matches is asked
    regexp = _re2.RE2(pattern.encode("utf-8", "surrogatepass"), options)
    if not regexp.ok():
        raise _explain(pattern, regexp.error())
    return regexp


def _searcher(regexp: object) -> Search:
    match = regexp.Match  # type: ignore[attr-defined]

    def search(text: str) -> bool:
        data = text.encode("utf-8", "surrogatepass")  # lone surrogates: no match, no error
        return match(_UNANCHORED, data, 0, len(data))[0][0] != -1  # type: ignore[no-any-return]

    return search


def _explain(pattern: str, error: bytes | str) -> PatternError:
    """RE2 says what is wrong and quotes the fragment (`missing ): (a`): find it in the pattern."""
    message = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    message = message or "invalid pattern"
    _, _, fragment = message.partition(": ")
    if fragment == "(?P" and "(?P=" in pattern:
        fragment = "(?P="
    offset = pattern.find(fragment) if fragment else -1
    hint = next((h for prefix, h in _HINTS.items() if message.startswith(prefix)), None)
    if message.startswith("invalid escape sequence: \\") and not fragment[1:2].isdigit():
        hint = _HINTS.get(message[: len("invalid escape sequence: \\Z")])
    if message.startswith("invalid perl operator: (?P") and fragment != "(?P=":
        hint = None
    return PatternError(message, fragment, offset if offset >= 0 else None, hint)
