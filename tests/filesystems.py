"""File systems of a test's own, to break: a small tmpfs to fill, an ext4 image to turn
read-only. Mounting needs root (CI runs as root); elsewhere the test is skipped, saying why.

Why not `chmod` or `chattr +i` on the state file: a process keeps writing through the file
descriptors it opened before (and root ignores permission bits), so the daemon would not
notice. What does turn a state file read-only under a running daemon is its file system going
read-only, as ext4 does by itself on an error with `errors=remount-ro` (Debian's default for
the root file system): `read_only_after_an_error` triggers exactly that.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def _mount_or_skip(what: str, *command: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"mounting {what} needs root (CI runs as root)")
    mounted = _run(*command)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount {what} here: {mounted.stderr.strip()}")


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (created), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    _mount_or_skip("a tmpfs", "mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _run("umount", "--lazy", str(folder))


@contextlib.contextmanager
def ext4_image(folder: Path, image: Path, size: str = "16M") -> Iterator[Path]:
    """An ext4 file system in `image`, mounted on `folder` with `errors=remount-ro`."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 is not installed (Debian: e2fsprogs)")
    _run("truncate", "-s", size, str(image))
    made = _run("mkfs.ext4", "-q", "-F", str(image))
    assert made.returncode == 0, made.stderr
    folder.mkdir(parents=True, exist_ok=True)
    _mount_or_skip(
        "an ext4 image", "mount", "-o", "loop,errors=remount-ro", str(image), str(folder)
    )
    try:
        yield folder
    finally:
        _run("umount", "--lazy", str(folder))


def read_only_after_an_error(folder: Path) -> None:
    """Make the ext4 file system mounted on `folder` report an error, which with
    `errors=remount-ro` turns it read-only under whoever has files open on it."""
    device = _run("findmnt", "--noheadings", "--output", "SOURCE", str(folder)).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"this kernel has no {trigger} to make ext4 fail")
    trigger.write_text("alertd test: the file system turns read-only\n")


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its file system has no room left; returns the file
    (delete it to give the room back)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 512, b"\0"):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler
