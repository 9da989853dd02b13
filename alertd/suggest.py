"""Did you mean: the name someone most likely meant, among the names alertd knows.

One rule for every place a name can be mistyped (rule files, the config, templates, rule unit
tests, the API, the command line), so that a typo is caught alike wherever it is made. A known
name is close to the one written (case aside) when

- one slip of a key turns one into the other: a letter left out, added or changed, or two
  neighbours swapped (`bu` for `by`, `saftey` for `safety`); or
- most of their letters agree, in order: difflib's similarity ratio is at least 0.6 (`warn`
  for `warning`, `geoclel` for `geocell`).

Of the close names, the most similar is suggested (ties: the first in sorted order). This
module imports nothing of alertd, so the config can use it without loading the rule language.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import SequenceMatcher

MIN_RATIO = 0.6
"""difflib's own default cutoff for close matches."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most likely meant, or None when none is close."""
    written = word.lower()
    best: tuple[float, str] | None = None
    matcher = SequenceMatcher(b=written)
    for choice in sorted(set(choices)):
        known = choice.lower()
        matcher.set_seq1(known)
        ratio = matcher.ratio()
        if ratio < MIN_RATIO and not (len(known) > 1 and _one_slip(written, known)):
            continue
        if best is None or ratio > best[0]:
            best = (ratio, choice)
    return None if best is None else best[1]


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """`did you mean 'x'?` (a hint of its own), or None when no choice is close."""
    close = closest(word, choices)
    return None if close is None else f"did you mean {close!r}?"


def aside(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` to end a message with, or "" when no choice is close."""
    hint = did_you_mean(word, choices)
    return f" ({hint})" if hint else ""


def _one_slip(a: str, b: str) -> bool:
    """Whether one letter left out, added or changed, or two neighbours swapped, turns `a`
    into `b`."""
    if abs(len(a) - len(b)) > 1:
        return False
    first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
    if first is None:  # one is the other with a letter added at the end
        return True
    if len(a) != len(b):
        shorter, longer = (a, b) if len(a) < len(b) else (b, a)
        return shorter[first:] == longer[first + 1 :]
    if a[first + 1 :] == b[first + 1 :]:
        return True
    return a[first : first + 2] == b[first : first + 2][::-1] and a[first + 2 :] == b[first + 2 :]
