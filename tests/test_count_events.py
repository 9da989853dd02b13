"""An alert's counted events: held as JSON texts (and the firing event as it came) or decoded,
the same events to every reader."""

from __future__ import annotations

import orjson

from alertd.model import CountEvents, event_text

EVENTS = [{"n": 1, "at": {"lat": 52.5}}, {"n": 2, "s": "\u00e9"}, {"n": 3, "on": True}]


def held(events: list[dict[str, object]]) -> CountEvents:
    """As the engine makes them: the window's texts, and the event of the match that fired."""
    return CountEvents(tuple(map(event_text, events[:-1])), events[-1])


def test_held_as_texts_they_read_as_the_events() -> None:
    counted = held(EVENTS)
    assert len(counted) == 3
    assert list(counted) == EVENTS and counted == EVENTS and counted == CountEvents.of(EVENTS)
    assert counted[0] == EVENTS[0] and counted[-1] is EVENTS[-1] and counted[1:] == EVENTS[1:]
    assert counted != EVENTS[:2] and counted != held(EVENTS[:2])


def test_either_form_writes_the_json_array_of_its_events() -> None:
    expected = orjson.dumps(EVENTS).decode()
    assert held(EVENTS).json() == expected
    assert CountEvents.of(EVENTS).json() == expected
    assert CountEvents(tuple(map(event_text, EVENTS))).json() == expected


def test_no_events() -> None:
    for empty in (CountEvents(), CountEvents.of([])):
        assert len(empty) == 0 and not empty and empty == [] and list(empty) == []
        assert empty.json() == "[]"
