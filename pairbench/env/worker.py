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


class StartingWorker:
    """A job worker process, started; `wait_ready` waits until it dequeues. The run starts
    it and the app together: both spend their first second importing."""

    def __init__(self, environment: Mapping[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._offset = log_path.stat().st_size if log_path.exists() else 0
        self._started = time.perf_counter()
        self._ready = False
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench_app.worker"],
                env=dict(environment),
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # Ctrl-C reaches only the harness, which stops it in order
            )

    def wait_ready(self, log: Callable[[str], None] = print) -> None:
        """Until it says it is ready (at once if it has); ServerError (and stopped) if it
        exits or takes too long."""
        if self._ready:
            return
        timeout_s = START_TIMEOUT_S * load_factor()  # its start is imports, like the app's
        deadline = self._started + timeout_s
        while READY_LINE not in self._output():
            if self.process.poll() is not None or time.perf_counter() > deadline:
                stop_process(self.process)
                raise ServerError(
                    f"the job worker did not say it was ready ({READY_LINE!r}) within "
                    f"{timeout_s:.0f} s, or exited; its log ({self.log_path}) ends:\n"
                    f"{self._output()[-2000:]}"
                )
            time.sleep(POLL_S)
        self._ready = True
        log(f"job worker ready ({time.perf_counter() - self._started:.1f} s)")

    def _output(self) -> str:
        return self.log_path.read_bytes()[self._offset :].decode(errors="replace")


def start_worker(environment: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A worker process, ready (connected, dequeuing) when this returns."""
    worker = StartingWorker(environment, log_path)
    worker.wait_ready(log=lambda message: None)
    return worker.process


@contextmanager
def starting_worker(environment: Mapping[str, str], log_path: Path) -> Iterator[StartingWorker]:
    """The job worker, started (not waited for) for the duration of the block; SIGTERM
    after it lets the worker finish its jobs in hand."""
    worker = StartingWorker(environment, log_path)
    try:
        yield worker
    finally:
        stop_process(worker.process)


@contextmanager
def running_worker(
    environment: Mapping[str, str], log_path: Path, log: Callable[[str], None] = print
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the job worker, ready, for the duration of the block."""
    with starting_worker(environment, log_path) as worker:
        worker.wait_ready(log)
        yield worker.process
