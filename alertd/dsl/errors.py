"""The one error type a rule file can produce, and the helpers that make its message useful.

    RuleErrors            every error found in one load, sorted by path, line and column
    └── .errors: [RuleError]   one mistake: where, what, the source line, and a hint
                 └── UnknownName   a macro or list no file checked defines

The checker's passes (names, kinds, rules) gather their errors in one `Collector`.

Nothing else ever escapes the parser, the checker or the compiler: a rule file is written by
people, and every mistake in it must be reported as `path:line:col: error: message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from alertd.diagnostics import format_error

if TYPE_CHECKING:
    from alertd.dsl import ast


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
        return format_error(
            self.path,
            self.line,
            self.column,
            self.message,
            self.suggestion,
            source_line=self.source_line,
            width=self.width,
        )

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


class Collector:
    """The errors the checker's passes find in parsed files, each with its source line: every
    pass adds to one collector, so that a person fixing a file gets the whole list at once."""

    def __init__(self) -> None:
        self.errors: list[RuleError] = []

    def __len__(self) -> int:
        return len(self.errors)

    def add(
        self,
        file: ast.RuleFile,
        span: ast.Span,
        message: str,
        hint: str | None = None,
        *,
        unknown: str | None = None,
    ) -> None:
        """Record an error at `span` of `file`; `unknown` is the macro or list name it is
        about, when no file checked defines it (see UnknownName)."""
        where = (file.path, span.line, span.column, message, hint)
        line = file.source_line(span.line)
        if unknown is None:
            self.errors.append(RuleError(*where, source_line=line, width=span.width))
        else:
            self.errors.append(UnknownName(unknown, *where, source_line=line, width=span.width))


class RuleErrors(Exception):
    """All the errors of one load; raised only when there is at least one."""

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors: list[RuleError] = sorted(errors, key=RuleError.sort_key)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(error.format() for error in self.errors)

    def __str__(self) -> str:
        return self.format()


def one_of(words: Sequence[str]) -> str:
    """`a, b or c`, for messages that list the allowed words."""
    quoted = [f"{w}" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
