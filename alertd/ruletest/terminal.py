"""Colour and progress for people at a terminal; plain text for pipes, files and NO_COLOR."""

from __future__ import annotations

import os
from typing import TextIO

from alertd.clock import Clock

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def wants_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Painter:
    """Wraps text in ANSI colours, or leaves it alone."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[style] for style in styles)
        return f"\033[{codes}m{text}\033[0m"


class Progress:
    """A one-line event counter on a terminal, redrawn at most five times a second."""

    CHECK_EVERY = 4096  # events between clock reads: the counter costs nothing per event

    def __init__(self, stream: TextIO, clock: Clock) -> None:
        self._stream = stream
        self._clock = clock
        self._started = clock.monotonic()
        self._drawn_at = self._started
        self._count = 0
        self._visible = False

    def tick(self) -> None:
        self._count += 1
        if self._count % self.CHECK_EVERY:
            return
        now = self._clock.monotonic()
        if now - self._drawn_at >= 0.2:
            self._drawn_at = now
            rate = self._count / max(now - self._started, 1e-9)
            self._stream.write(f"\r\033[K{self._count:,} events, {rate:,.0f}/s")
            self._stream.flush()
            self._visible = True

    def clear(self) -> None:
        if self._visible:
            self._stream.write("\r\033[K")
            self._stream.flush()
            self._visible = False
