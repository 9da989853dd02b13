"""Counts in the words people read: `1 event`, `2 events`, `3 type mismatches`."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` and the noun, singular for one, else `plural` (default: the noun with an s).
    Thousands are separated (`12,345 events`) so that long replays stay readable."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
