"""A helper process stops when the process that started it is killed (no orphans)."""

import subprocess
import sys
import time
from pathlib import Path

import psutil

WAIT_S = 15.0
CHILD = """
import time
from bench_app.parent_watch import exit_with_parent
exit_with_parent(poll_s=0.05)
print("watching", flush=True)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=open(sys.argv[2], "w"))
print(child.pid, flush=True)
time.sleep(60)
"""


def test_the_helper_stops_once_its_parent_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "child.out"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    deadline = time.monotonic() + WAIT_S
    while "watching" not in out.read_text():
        assert time.monotonic() < deadline, "the child never started watching"
        time.sleep(0.05)
    parent.kill()  # as SIGKILL would: the parent's clean-up never runs
    parent.wait()
    parent.stdout.close()
    child.wait(WAIT_S)  # psutil.TimeoutExpired if it ran on
    assert not child.is_running()
