"""SQLite's dialect, as alertd's modules write their statements, turned into PostgreSQL's.

The state's modules (the store, the outbox, the feed, reply codes, silences, holds) are written
once, against SQLite's dialect. `translate` turns each statement into PostgreSQL's, once per
statement text (cached), so every behaviour has one implementation and only the dialect is
kept apart, here:

- `?` placeholders become psycopg's `%s`; `LIMIT ?` takes -1 as "no limit", as SQLite does;
- `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, `INSERT OR REPLACE` an upsert on the
  table's primary key (`_KEYS`);
- `(SELECT value FROM json_each(?))` over a JSON array of texts becomes
  `json_array_elements_text`; an event field as text (the alert filters) a JSON path query;
- a statement no rule covers is given whole, by its SQLite text (`register`, called by the
  module that writes it, beside it).

No import of the driver here: the SQLite path pays nothing for it.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import sqlite3

    from alertd.pgdb import Cursor as PgCursor
    from alertd.pgdb import PgConnection

    Connection: TypeAlias = sqlite3.Connection | PgConnection
    """A connection to the state database: SQLite's, or PostgreSQL's speaking as it does."""
    Cursor: TypeAlias = sqlite3.Cursor | PgCursor

_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # table: (its primary key, every column in order)
    "suppression": (
        ("rule_id", "key"),
        ("rule_id", "key", "fired_at", "until", "suppressed", "expires_at"),
    ),
    "count_window": (
        ("rule_id", "key"),
        ("rule_id", "key", "within", "times", "events", "expires_at", "first", "tail_from"),
    ),
    "count_window_chunk": (
        ("rule_id", "key", "first"),
        ("rule_id", "key", "first", "times"),
    ),
    "key_state": (
        ("rule_id", "key"),
        ("rule_id", "key", "newest", "start", "kept", "expires_at"),
    ),
    "absence": (
        ("rule_id", "key"),
        ("rule_id", "key", "last", "alert_id", "event", "expires_at"),
    ),
    "open_alert": (("rule_id", "key"), ("rule_id", "key", "alert_id")),
    "timers": (("kind", "ref"), ("kind", "ref", "due", "payload")),
    "steady_clock": (('"only"',), ('"only"', "ahead")),
    "state_probe": (('"only"',), ('"only"', "at")),
    "schema_version": (('"only"',), ('"only"', "version")),
    "reply_codes": (("number", "code"), ("number", "code", "alert_id", "given_at", "freed_at")),
}

_FIELD_TEXT_SQLITE = (
    "CASE json_type(event, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'"
    " WHEN 'null' THEN 'null' WHEN 'object' THEN NULL WHEN 'array' THEN NULL"
    " ELSE CAST(json_extract(event, ?) AS TEXT) END"
)
_FIELD_TEXT_PG = (
    "CASE jsonb_typeof(jsonb_path_query_first(event::jsonb, ?::jsonpath))"
    " WHEN 'null' THEN 'null' WHEN 'object' THEN NULL WHEN 'array' THEN NULL"
    " ELSE jsonb_path_query_first(event::jsonb, ?::jsonpath) #>> '{}' END"
)

_WHOLE: dict[str, str] = {
    "UPDATE silences SET ends_at = ?, starts_at = min(starts_at, ?), updated_at = ? WHERE id = ?": (
        "UPDATE silences SET ends_at = %s, starts_at = LEAST(starts_at, %s), updated_at = %s"
        " WHERE id = %s"
    ),
}
"""Statements no rule of `translate` covers, by their SQLite text. The store's and the feed's
schema scripts are none of PostgreSQL's business: its migrations make those tables."""

_INSERT = re.compile(
    r"^\s*INSERT OR (?P<how>IGNORE|REPLACE) INTO (?P<table>\w+)\s*(?P<columns>\([^)]*\))?",
    re.IGNORECASE,
)


def table_keys(table: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The primary key of a table `INSERT OR REPLACE` writes, and its columns in order."""
    return _KEYS[table]


def register(sqlite: str, postgresql: str) -> None:
    """Give the PostgreSQL text of a statement whose SQLite text no rule translates (a module
    with SQL of its own says so where it writes it)."""
    _WHOLE[sqlite] = postgresql
    translate.cache_clear()


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """`sql` in SQLite's dialect, as alertd writes it, in PostgreSQL's."""
    whole = _WHOLE.get(sql) or _WHOLE.get(sql.strip())
    if whole is not None:
        return whole
    text = sql.replace("%", "%%")
    text = text.replace(_FIELD_TEXT_SQLITE, _FIELD_TEXT_PG)
    text = re.sub(r"\bBEGIN IMMEDIATE\b", "BEGIN", text)
    text = re.sub(
        r"\(SELECT value FROM json_each\(\?\)\)",
        "(SELECT value FROM json_array_elements_text(?::json) AS value)",
        text,
    )
    text = re.sub(r"\bLIMIT \?", "LIMIT NULLIF(?, -1)", text)
    match = _INSERT.match(text)
    if match is not None:
        table = match["table"]
        text = f"INSERT INTO {table} {match['columns'] or ''}" + text[match.end() :]
        if match["how"].upper() == "IGNORE":
            text += " ON CONFLICT DO NOTHING"
        else:
            key, every = _KEYS[table]
            columns = (
                [c.strip() for c in match["columns"].strip("()").split(",")]
                if match["columns"]
                else list(every)
            )
            rest = [c for c in columns if c not in key]
            update = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
            text += f" ON CONFLICT ({', '.join(key)}) DO " + (
                f"UPDATE SET {update}" if rest else "NOTHING"
            )
    return text.replace("?", "%s")
