"""A PostgreSQL server of the test's own, in a temporary folder, for tests that stop and start
the server itself (the shared one of tests/postgres.py must stay up for the other tests).

It needs the server's binaries (`initdb`, `pg_ctl`: Debian's postgresql package puts them in
/usr/lib/postgresql/N/bin); without them the test skips, saying so (fails in CI: tests/needs.py).
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.needs import unavailable


class PrivateServer:
    """One server in `folder`, listening on 127.0.0.1:`port` with trust authentication."""

    def __init__(self, bindir: Path, folder: Path, as_user: list[str]) -> None:
        self.bindir = bindir
        self.folder = folder
        self.as_user = as_user
        with socket.socket() as probe:  # a free port (the server binds it right after)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, capture_output=True, timeout=60, cwd=self.folder
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.folder / "data"),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--no-sync",
        )

    def pg_ctl(self, action: str, *args: str) -> None:
        """`pg_ctl action`, waiting for it to be done (start, stop, restart)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            str(self.bindir / "pg_ctl"),
            "--pgdata",
            str(self.folder / "data"),
            "--log",
            str(self.folder / "server.log"),
            "--options",
            options,
            "--wait",
            action,
            *args,
        )


@contextlib.contextmanager
def private_server() -> Iterator[PrivateServer]:
    """A server started in a fresh folder, stopped and removed afterwards."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        unavailable(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to start a server"
            " of the test's own: install the postgresql package"
        )
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root, and no postgres user to run a PostgreSQL server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp_path: the server's user must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="alertd-pg-"))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = PrivateServer(found[-1].parent, folder, as_user)
    try:
        server.init()
        server.pg_ctl("start")
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.pg_ctl("stop", "--mode", "immediate")
        shutil.rmtree(folder, ignore_errors=True)
