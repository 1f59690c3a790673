"""The memory available to a process: the least cgroup limit on its path, else the host's."""

from pathlib import Path

from bench_app.memory_limit import host_memory_bytes, memory_available_bytes


def fake_process(tmp_path: Path, cgroup_line: str) -> tuple[Path, Path]:
    """A /proc with process 7 in the cgroup `cgroup_line` names, and an empty cgroup root."""
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "7").mkdir(parents=True)
    (proc / "7" / "cgroup").write_text(cgroup_line + "\n")
    root.mkdir()
    return proc, root


def test_cgroup_v2_the_least_limit_up_the_path_counts(tmp_path: Path) -> None:
    proc, root = fake_process(tmp_path, "0::/app/worker")
    (root / "app" / "worker").mkdir(parents=True)
    (root / "app" / "worker" / "memory.max").write_text("max\n")
    (root / "app" / "memory.max").write_text("1073741824\n")
    assert memory_available_bytes(7, root, proc) == 1073741824


def test_cgroup_v1_memory_controller(tmp_path: Path) -> None:
    proc, root = fake_process(tmp_path, "4:memory:/box\n3:cpu:/box")
    (root / "memory" / "box").mkdir(parents=True)
    (root / "memory" / "box" / "memory.limit_in_bytes").write_text("536870912\n")
    assert memory_available_bytes(7, root, proc) == 536870912


def test_without_a_limit_the_hosts_memory(tmp_path: Path) -> None:
    proc, root = fake_process(tmp_path, "0::/")
    (root / "memory.max").write_text("max\n")
    assert memory_available_bytes(7, root, proc) == host_memory_bytes()
    assert memory_available_bytes(8, root, proc) == host_memory_bytes()  # no such process


def test_this_process_has_some() -> None:
    assert 0 < memory_available_bytes() <= host_memory_bytes()
