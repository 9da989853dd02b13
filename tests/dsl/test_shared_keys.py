"""Rules' key functions give one shared copy of each key of strings and nulls."""

import pytest

from alertd.dsl import compile_text, runtime

RULES = compile_text(
    """
    rule a { when true suppress 1h by vehicle_id }
    rule b { when true count 3 within 10m by vehicle_id suppress 1h by vehicle_id, driver_id }
    """
)


def keys(event: dict[str, object]) -> list[tuple[object, ...]]:
    a, b = RULES
    assert a.suppress is not None and b.count is not None and b.suppress is not None
    return [a.suppress.key(event), b.count.key(event), b.suppress.key(event)]


def test_equal_keys_of_strings_are_one_object_across_rules_and_events() -> None:
    first = keys({"vehicle_id": "V-1", "driver_id": None})
    again = keys({"vehicle_id": "".join(["V-", "1"]), "driver_id": None})  # another string
    assert first == again == [("V-1",), ("V-1",), ("V-1", None)]
    assert first[0] is first[1] is again[0] is again[1]
    assert first[2] is again[2]


@pytest.mark.parametrize("value", [1, 1.0, True, 2.5])
def test_keys_with_numbers_or_booleans_keep_their_own_values(value: object) -> None:
    (key, _, _) = keys({"vehicle_id": value})
    assert key == (value,) and type(key[0]) is type(value)
    assert keys({"vehicle_id": value})[0] is not key  # not shared: 1, 1.0 and true are equal


def test_lists_and_objects_are_keyed_by_their_json_text_as_before() -> None:
    assert keys({"vehicle_id": {"b": 1, "a": [2]}})[0] == ('{"a":[2],"b":1}',)


def test_the_shared_keys_start_over_past_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "SHARED_KEYS_KEPT", 3)
    for n in range(10):
        keys({"vehicle_id": f"flood-{n}"})
    assert len(runtime.shared_key_of.__self__) <= 3  # type: ignore[attr-defined]
    a = RULES[0]
    assert a.suppress is not None
    key = a.suppress.key({"vehicle_id": "V-2"})
    assert a.suppress.key({"vehicle_id": "V-2"}) is key
