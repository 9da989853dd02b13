"""Alert ids are ULIDs that sort in the order alerts were raised."""

from __future__ import annotations

from ulid import ULID

from alertd.engine.ids import AlertIds, _successor, alert_id_floor, new_alert_id
from tests.engine.builders import T0


def test_ids_of_one_millisecond_count_up_from_a_random_start() -> None:
    ids = [new_alert_id(T0 + 0.0004) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    parsed = [ULID.from_str(value) for value in ids]
    assert {ulid.milliseconds for ulid in parsed} == {int(T0 * 1000)}
    randomness = [int.from_bytes(ulid.bytes[6:], "big") for ulid in parsed]
    assert randomness == list(range(randomness[0], randomness[0] + 1000))


def test_an_engines_own_minter_counts_up_across_every_character() -> None:
    ids = AlertIds()
    first = ids(T0)
    ids._tail = 32**4 - 2  # white box: jump to where the counted characters carry
    made = [first] + [ids(T0) for _ in range(3)]
    assert made == sorted(made) and len(set(made)) == 4
    randomness = [int.from_bytes(ULID.from_str(value).bytes[6:], "big") for value in made[1:]]
    assert randomness == list(range(randomness[0], randomness[0] + 3))
    assert made[1].endswith("ZZZZ") and made[2].endswith("0000")
    assert ULID.from_str(ids(T0 + 0.001)).milliseconds == int(T0 * 1000) + 1


def test_two_minters_in_one_millisecond_do_not_collide() -> None:
    first, second = AlertIds(), AlertIds()
    made = {first(T0) for _ in range(100)} | {second(T0) for _ in range(100)}
    assert len(made) == 200


def test_a_new_millisecond_gets_fresh_randomness() -> None:
    first, second = new_alert_id(T0), new_alert_id(T0 + 0.001)
    assert first < second
    assert ULID.from_str(second).milliseconds == int(T0 * 1000) + 1


def test_the_successor_carries_and_gives_up_when_the_random_part_is_full() -> None:
    prefix = "01KDVDNA3V"
    assert _successor(prefix + "0000000000000000") == prefix + "0000000000000001"
    assert _successor(prefix + "000000000000000Z") == prefix + "0000000000000010"
    assert _successor(prefix + "00000000000009ZZ") == prefix + "0000000000000A00"
    assert _successor(prefix + "ZZZZZZZZZZZZZZZZ") is None


def test_the_floor_of_a_time_sorts_before_every_id_of_that_millisecond() -> None:
    assert alert_id_floor(T0) <= new_alert_id(T0) < alert_id_floor(T0 + 0.001)
    assert alert_id_floor(T0).endswith("0" * 16)
