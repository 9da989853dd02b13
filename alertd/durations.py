"""Durations as people write them (`90s`, `5m`, `2h`, `1d`), shared by the rule language and
the config file so that both accept exactly the same spellings."""

from __future__ import annotations

import re

UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Return the duration in seconds.

    Accepts one or more `<number><unit>` parts (`1h30m`), units ms, s, m, h, d.
    Raises ValueError with a message fit for a user when the text is not a duration.
    """
    spec = text.strip()
    pos = 0
    total = 0.0
    while pos < len(spec):
        match = _DURATION.match(spec, pos)
        if match is None:
            raise ValueError(
                f"invalid duration {text!r}: expected a number and a unit (ms, s, m, h, d), "
                "such as 90s, 5m, 2h or 1d"
            )
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if not spec:
        raise ValueError("invalid duration '': expected a number and a unit such as 5m")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of a duration: 300 -> '5m', 90 -> '90s', 5400 -> '1h30m'."""
    if seconds <= 0:
        return "0s"
    millis = round(seconds * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        whole, millis = divmod(millis, size)
        if whole:
            parts.append(f"{whole}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts)
