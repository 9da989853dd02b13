"""Finding where a key of a TOML text is written (tomllib gives no positions)."""

from alertd.oncall.tomlpos import Place, TomlPositions

TEXT = '''\
title = """
[people.fake]
name = "not a key"
"""
[people.alice]
name = "Alice"
"sms" = "+15550100"

[[schedules.ops.rotations]]
members = ["alice",
           "bob"]

[[schedules.ops.rotations]]
shift = "1d"
people.bob.email = "bob@example.com"
[maintenance.m]
matchers = [{name = "a"}, {name = "b", value = "c"}]
'''


def where(place: Place) -> tuple[int, int, int]:
    return place.line, place.column, place.width


def test_keys_of_tables_and_arrays_of_tables() -> None:
    places = TomlPositions(TEXT)
    assert where(places.key(["people", "alice"])) == (5, 2, 12)
    assert where(places.key(["people", "alice", "name"])) == (6, 1, 4)
    assert where(places.key(["people", "alice", "sms"])) == (7, 1, 5)
    assert where(places.key(["schedules", "ops", "rotations", 1])) == (13, 3, 23)
    assert where(places.key(["schedules", "ops", "rotations", 1, "shift"])) == (14, 1, 5)


def test_lines_of_a_multi_line_string_are_not_keys() -> None:
    places = TomlPositions(TEXT)
    assert where(places.key(["people", "fake", "name"])) == (1, 1, 1)  # nowhere: the start
    assert where(places.key(["title"])) == (1, 1, 5)


def test_dotted_keys_belong_to_the_table_they_are_written_in() -> None:
    places = TomlPositions(TEXT)
    path = ["schedules", "ops", "rotations", 1, "people", "bob", "email"]
    assert where(places.key(path)) == (15, 12, 5)


def test_values_and_strings_in_them() -> None:
    places = TomlPositions(TEXT)
    assert where(places.value(["people", "alice", "name"])) == (6, 8, 7)
    assert where(places.value(["schedules", "ops", "rotations", 0, "members"], "bob")) == (
        11,
        12,
        5,
    )


def test_keys_of_inline_tables_are_found_after_their_array() -> None:
    places = TomlPositions(TEXT)
    assert where(places.key(["maintenance", "m", "matchers", 1, "value"])) == (17, 40, 5)
    assert where(places.value(["maintenance", "m", "matchers", 1, "value"])) == (17, 48, 3)


def test_a_table_written_only_through_its_subtables_is_found_at_the_first() -> None:
    assert where(TomlPositions(TEXT).key(["schedules"])) == (9, 3, 23)
