"""`alertd migrate`: bring the state database up to date, and start nothing.

The daemon migrates at start too; this is for doing it alone, ahead of a rollout (several
nodes on PostgreSQL then start on a schema that is ready). Works for both stores: the SQLite
file at `[state] path`, or the PostgreSQL database at `[state] url` (under its advisory lock,
so it is safe while nodes start). Prints what it applied. Exit 0; 1 when the database cannot
be opened or is newer than this alertd.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from alertd.config import Settings
from alertd.engine.errors import StateStoreError
from alertd.migrations import POSTGRES_VERSION, VERSION, migrate
from alertd.sqlitedb import connect

if TYPE_CHECKING:
    from alertd.dialect import Connection

EXIT_OK, EXIT_FAILED = 0, 1


def main(settings: Settings, args: argparse.Namespace) -> int:
    state = settings.state
    connection: Connection
    try:
        if state.url:
            # psycopg takes ~0.1 s to import: for PostgreSQL only
            from alertd.pgdb import connect as connect_postgres  # noqa: PLC0415

            connection = connect_postgres(state.url, lock_timeout=state.busy_timeout)
            where, version = connection.name, POSTGRES_VERSION
        else:
            connection = connect(state.path, busy_timeout=state.busy_timeout)
            where, version = str(state.path), VERSION
        try:
            before = migrate(connection, where)
        finally:
            connection.close()
    except StateStoreError as error:
        print(f"alertd migrate: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if before == version:
        print(f"{where}: up to date (schema version {version}); nothing applied")
    else:
        print(
            f"{where}: applied migrations {before + 1} to {version} "
            f"(schema version {before} -> {version})"
        )
    return EXIT_OK
