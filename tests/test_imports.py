"""The habit of STYLE.md: each third-party library is imported by one module of alertd, which
translates its errors, so that replacing a library touches one file."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import orjson

from alertd import jsonutil

PACKAGE = Path(__file__).resolve().parents[1] / "alertd"

NOT_YET = {("orjson", "engine/sqlite_store.py")}
"""Importers still to move to the one module (owned by another team at the moment)."""

SECOND_USES = {("jinja2", "console/render.py")}
"""A library used for a second, separate purpose: the console's own trusted, autoescaping page
templates, apart from the notification sandbox of notify/render.py."""


def third_party_importers() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                where = path.relative_to(PACKAGE).as_posix()
                ours_or_stdlib = top == "alertd" or top in sys.stdlib_module_names
                if not ours_or_stdlib and (top, where) not in NOT_YET | SECOND_USES:
                    found[top].add(where)
    return found


def test_each_third_party_library_is_imported_by_one_module() -> None:
    importers = third_party_importers()
    assert importers["orjson"] == {"jsonutil.py"}
    assert importers["yaml"] == {"yamlutil.py"}
    assert {library: files for library, files in importers.items() if len(files) > 1} == {}


def test_json_calls_are_orjsons_own_not_wrappers() -> None:
    """Going through alertd.jsonutil costs the hot paths nothing."""
    assert jsonutil.loads is orjson.loads
    assert jsonutil.dumps is orjson.dumps


TOP = ("__main__.py", "cli.py", "daemon.py", "commands/", "server/", "console/")
"""What may import alertd.server and alertd.daemon: the command line, the daemon, the server
and the console (the API's neighbour: it shares its stream and JSON views)."""


def alertd_imports(path: Path) -> set[str]:
    """The alertd modules `path` imports, by full name (`from alertd import x` as alertd.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "alertd"}


def test_nothing_below_the_server_and_the_daemon_imports_them() -> None:
    """The core (alertd.core, alertd.pipeline) and all under it answer in plain data; the API's
    JSON and the process's lifecycle are the layers above, which call it."""
    above = ("alertd.server", "alertd.daemon")
    offenders = {
        where: sorted(name for name in alertd_imports(path) if name.startswith(above))
        for path in PACKAGE.rglob("*.py")
        if not (where := path.relative_to(PACKAGE).as_posix()).startswith(TOP)
    }
    assert {where: names for where, names in offenders.items() if names} == {}
