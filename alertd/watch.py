"""`[rules] watch = true`: a change to a rule or template file, or to the on-call file,
triggers a reload.

The folders are watched rather than the files, because editors save by writing a new file and
renaming it over the old one, which a watch on the old file would miss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import watchfiles

log = logging.getLogger("alertd.watch")

DEBOUNCE_MS = 300  # an editor's save, or `git checkout` of many files, becomes one reload


def _relevant(
    rule_paths: Iterable[Path], templates: Path, files: Iterable[Path] = ()
) -> Callable[[Path], bool]:
    rule_files = {p.resolve() for p in rule_paths if not p.is_dir()} | {f.resolve() for f in files}
    rule_dirs = [p.resolve() for p in rule_paths if p.is_dir()]
    template_dir = templates.resolve()

    def relevant(path: Path) -> bool:
        if path in rule_files:
            return True
        if path.suffix == ".rules" and any(path.is_relative_to(d) for d in rule_dirs):
            return True
        return path.is_relative_to(template_dir)

    return relevant


def watched_folders(
    rule_paths: Iterable[Path], templates: Path, files: Iterable[Path] = ()
) -> list[Path]:
    folders = {(p if p.is_dir() else p.parent).resolve() for p in rule_paths}
    folders |= {f.parent.resolve() for f in files}
    if templates.is_dir():
        folders.add(templates.resolve())
    return sorted(f for f in folders if f.is_dir())


async def watch_rules(
    rule_paths: Iterable[Path],
    templates: Path,
    on_change: Callable[[list[str]], Awaitable[object]],
    stop: asyncio.Event,
    *,
    files: Iterable[Path] = (),
) -> None:
    """Call `on_change(changed paths)` after each burst of changes until `stop` is set; `files`
    are watched too (the on-call file)."""
    rule_paths, files = list(rule_paths), list(files)
    folders = watched_folders(rule_paths, templates, files)
    if not folders:
        log.warning("rules.watch is on but none of the rule or template folders exist")
        return
    relevant = _relevant(rule_paths, templates, files)
    # awatch puts its watches in place before its first await, so a line logged once this task
    # first yields is written only when changes can no longer be missed: operators and tests
    # may edit files as soon as they read it.
    asyncio.get_running_loop().call_soon(
        lambda: log.info(
            "watching rule and template files", extra={"folders": [str(f) for f in folders]}
        )
    )
    async for changes in watchfiles.awatch(
        *folders,
        watch_filter=lambda _change, path: relevant(Path(path)),
        debounce=DEBOUNCE_MS,
        stop_event=stop,
    ):
        await on_change(sorted(path for _change, path in changes))
