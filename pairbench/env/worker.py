"""Start and stop the job worker (bench_app.worker) in its own process, like the app."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench_app.worker import READY_LINE
from pairbench.env.server import ServerError, load_factor, stop_process

START_TIMEOUT_S = 30.0  # on an idle machine; load_factor() times it on a busy one
POLL_S = 0.1


def start_worker(environment: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A worker process, ready (connected, dequeuing) when this returns."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench_app.worker"],
            env=dict(environment),
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # Ctrl-C reaches only the harness, which stops it in order
        )
    timeout_s = START_TIMEOUT_S * load_factor()  # its start is imports, like the app's
    deadline = time.monotonic() + timeout_s
    while READY_LINE not in log_path.read_bytes()[offset:].decode(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            tail = log_path.read_bytes()[offset:].decode(errors="replace")[-2000:]
            raise ServerError(
                f"the job worker did not say it was ready ({READY_LINE!r}) within "
                f"{timeout_s:.0f} s, or exited; its log ({log_path}) ends:\n{tail}"
            )
        time.sleep(POLL_S)
    return process


@contextmanager
def running_worker(
    environment: Mapping[str, str], log_path: Path, log: Callable[[str], None] = print
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the job worker for the duration of the block; SIGTERM lets it finish its jobs."""
    started = time.perf_counter()
    process = start_worker(environment, log_path)
    log(f"job worker ready ({time.perf_counter() - started:.1f} s)")
    try:
        yield process
    finally:
        stop_process(process)
