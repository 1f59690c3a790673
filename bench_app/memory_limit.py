"""The memory available to a process: its cgroup's limit if one is set, else the host's RAM.

What "memory < 80% of available" must be measured against. In a container the host's
RAM is not what the process may use: the kernel kills it at its cgroup's limit
(cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`), so the smallest limit on the
cgroup's path up to the root counts. No limit set ("max", or v1's huge number): the host.
"""

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")


def host_memory_bytes() -> int:
    """The host's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _cgroup_limits(pid: int | str, root: Path, proc: Path) -> list[int]:
    """Every memory limit on the process's cgroup path, from its own cgroup up to the root."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return []
    limits = []
    for line in lines:
        _, controllers, cgroup = line.split(":", 2)
        if controllers == "":  # cgroup v2: one unified hierarchy
            base, name = root, "memory.max"
        elif "memory" in controllers.split(","):  # cgroup v1: the memory controller's own
            base, name = root / "memory", "memory.limit_in_bytes"
        else:
            continue
        # Inside a container the path may name the host's view; what is mounted is ours.
        directory = base / cgroup.lstrip("/")
        while True:
            limit = _limit(directory / name)
            if limit is not None:
                limits.append(limit)
            if directory == base or base not in directory.parents:
                break
            directory = directory.parent
        limit = _limit(base / name)
        if limit is not None:
            limits.append(limit)
    return limits


def memory_available_bytes(
    pid: int | str = "self", root: Path = CGROUP_ROOT, proc: Path = PROC
) -> int:
    """The memory process `pid` may use: the least of its cgroup limits and the host's RAM."""
    return min([host_memory_bytes(), *_cgroup_limits(pid, root, proc)])
