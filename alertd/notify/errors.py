"""What can go wrong when alertd notifies someone, as one small hierarchy.

    NotifyError
    ├── ChannelConfigError   a [channels.NAME] table is invalid; the message names the key
    ├── TemplateError        a template file does not load or compile; the message has path:line
    └── DeliveryError        one send failed; says whether trying again may help

Every channel module translates its client library's errors into `DeliveryError` at the
boundary (`raise DeliveryError(...) from exc`), so the dispatcher never sees a library's own
exception types and the retry decision lives in one place (`alertd.notify.retry`).
"""

from __future__ import annotations

from dataclasses import dataclass

from alertd.diagnostics import format_error


class NotifyError(Exception):
    """Base of every notification error."""


class ChannelConfigError(NotifyError):
    """A channel's config table is missing a key or holds a bad value."""


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One template mistake: where (file and 1-based line; 0 when unknown) and what."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """`path:line: error: message`, always with a line (1 when unknown), so that a reader
        of the text (a reload's answer) finds the file in every problem."""
        return format_error(self.path, self.line or 1, 0, self.message)


class TemplateError(NotifyError):
    """Templates failed to load, compile or render: one `path:line: error: message` per line."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def at(cls, path: str, line: int, message: str) -> TemplateError:
        return cls([TemplateProblem(path, line, message)])


class DeliveryError(NotifyError):
    """A provider did not accept a notification.

    `retryable` says whether the same request may succeed later (connection errors, timeouts,
    5xx, 408, 429); `retry_after` is the provider's own hint in seconds, when it gave one;
    `status` is the HTTP or SMTP status code, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
