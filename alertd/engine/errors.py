"""Errors the engine raises: about the input it was given, or about its state database.

    ValueError
     ├── InvalidEvent          one event the engine cannot evaluate (not an object, ...)
     │    └── EventTimeError   its timestamp field cannot be read as a time
     └── InvalidBatch          a batch with at least one InvalidEvent; nothing was processed
    RuntimeError
     └── StateStoreError       the state database cannot be used now (disk full, read-only,
                               an I/O error, locked, ...); `reason` says which

Rule conditions and keys never raise out of the engine: a failure there is counted against the
rule and treated as "no match" for that event (see `Engine.rule_errors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args


class InvalidEvent(ValueError):
    """An event the engine cannot evaluate; the message says why, fit to show a user."""


class EventTimeError(InvalidEvent):
    """An event's timestamp field holds something that is not a time alertd can read."""


class InvalidBatch(ValueError):
    """Events in a batch were invalid; the batch was rejected whole, no state was changed.

    `errors` lists `(index in the batch, error)` for every invalid event, in batch order.
    """

    def __init__(self, errors: Sequence[tuple[int, InvalidEvent]]) -> None:
        self.errors: tuple[tuple[int, InvalidEvent], ...] = tuple(errors)
        first_index, first_error = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"event {first_index}: {first_error}{more}")


def describe_value(value: object) -> str:
    """What kind of JSON value this is, for messages: "a string", "an array", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


StateReason = Literal["full", "read_only", "io_error", "busy", "corrupt", "unreachable"]
"""Why the state cannot be used, in words every store shares (readiness, logs and metrics show
them): its disk is full; it is read-only; reading or writing it failed; another writer held it
past the busy timeout; it is damaged; its server cannot be reached (a database server)."""
STATE_REASONS: tuple[StateReason, ...] = get_args(StateReason)

WHY: dict[StateReason, str] = {
    "full": "its disk is full",
    "read_only": "it is read-only",
    "io_error": "reading or writing it failed",
    "busy": "another writer held its lock too long",
    "corrupt": "it is damaged",
    "unreachable": "its database cannot be reached",
}
"""Each reason in words, for the answers and the log."""


class StateStoreError(RuntimeError):
    """The state database cannot be opened, read or written now; the message names the file.

    A condition of the store, not a bug in alertd: whatever was being written is not, and the
    same call may succeed once the condition ends (space is freed, the lock is let go). A store
    raises it for such conditions only; an error that says alertd used the store wrongly (bad
    SQL, a closed connection) is raised as it is, as a bug.
    """

    def __init__(self, message: str, reason: StateReason = "io_error") -> None:
        super().__init__(message)
        self.reason: StateReason = reason
