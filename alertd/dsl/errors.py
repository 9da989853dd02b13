"""The one error type a rule file can produce, and the helpers that make its message useful.

    RuleErrors            every error found in one load, sorted by path, line and column
    └── .errors: [RuleError]   one mistake: where, what, the source line, and a hint
                 └── UnknownName   a macro or list no file checked defines

Nothing else ever escapes the parser, the checker or the compiler: a rule file is written by
people, and every mistake in it must be reported as `path:line:col: error: message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class RuleError(Exception):
    """One mistake in a rule file, with its 1-based line and column (0 when there is none)."""

    def __init__(
        self,
        path: str,
        line: int,
        column: int,
        message: str,
        suggestion: str | None = None,
        *,
        source_line: str | None = None,
        width: int = 1,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.suggestion = suggestion
        self.source_line = source_line
        self.width = max(1, width)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.message)

    def format(self) -> str:
        """`path:line:col: error: message`, then the source line, a caret, and the hint."""
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        lines = [f"{where}: error: {self.message}"]
        if self.source_line is not None and self.line:
            text = self.source_line.rstrip("\r\n")
            lines.append(text)
            # Keep tabs under tabs so the caret lines up however the terminal shows them.
            pad = "".join("\t" if ch == "\t" else " " for ch in text[: self.column - 1])
            width = min(self.width, max(1, len(text) - self.column + 1))
            lines.append(pad + "^" * width)
        if self.suggestion:
            lines.append(f"hint: {self.suggestion}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"RuleError({self.path!r}, {self.line}, {self.column}, {self.message!r})"


class UnknownName(RuleError):
    """A name used as a macro or a list that no file checked defines (`name`): the loader
    looks for it in the files beside them, which may not have been checked with them."""

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = name


class RuleErrors(Exception):
    """All the errors of one load; raised only when there is at least one."""

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors: list[RuleError] = sorted(errors, key=RuleError.sort_key)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(error.format() for error in self.errors)

    def __str__(self) -> str:
        return self.format()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance counting an adjacent swap as one edit (`geoclel` -> `geocell`)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def did_you_mean(word: str, choices: Iterable[str], max_distance: int = 2) -> str | None:
    """`did you mean 'x'?` for the closest choice within `max_distance` edits, else None."""
    best: tuple[int, str] | None = None
    for choice in sorted(set(choices)):
        distance = edit_distance(word.lower(), choice.lower())
        if (
            distance <= max_distance
            and distance < len(choice)
            and (best is None or distance < best[0])
        ):
            best = (distance, choice)
    return None if best is None else f"did you mean {best[1]!r}?"


def one_of(words: Sequence[str]) -> str:
    """`a, b or c`, for messages that list the allowed words."""
    quoted = [f"{w}" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
