"""Directories a run cannot use: read-only, or on a filesystem too small for it.

Permission bits do not stop root, so as root a read-only directory is a read-only
tmpfs mount; where mounting is not allowed (a container without CAP_SYS_ADMIN) the
test that needs one is skipped, and says why.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` with mount `options` for the block; skips if not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mount = ["mount", "-t", "tmpfs", "-o", options, "pairbench-test", str(path)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


@contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """A directory nothing can be written to by this user, for the block."""
    if os.geteuid() != 0:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    with tmpfs(path, "ro,size=1m") as mounted:
        yield mounted


@contextmanager
def tiny_filesystem(path: Path) -> Iterator[Path]:
    """A writable directory on a filesystem of 1 MB, far less than a run asks for."""
    with tmpfs(path, "size=1m") as mounted:
        yield mounted
