"""Start and stop the target app (uvicorn in a subprocess) on a free loopback port.

The target is bench_app unless told otherwise: `pairbench ab --app module:app` serves a
user's ASGI app the same way (an `AppTarget`), waited for by any HTTP answer, since it
has no /health route we know.

With `workers` > 1 uvicorn serves it from that many processes sharing the port (its own
--workers: a supervisor and its children). Everything in-process is then per process: the
cost meter (per request, so still exact), the in-process caches (bounded_cache's memo,
cache_aside's local TTL cache, stampede's and request_coalescing's single-flight: each
process has its own, so a hit rate or a dedup holds within one process only), the event
loop's lag and /metrics (each answered by whichever process takes the request). The
app's memory is the sum over its worker processes.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 30.0  # on an idle machine; load_factor() times it on a busy one
MAX_LOAD_FACTOR = 10.0
POLL_S = 0.1
STOP_TIMEOUT_S = 10.0


class ServerError(Exception):
    """The target app did not start; the message includes the tail of its log."""


@dataclass(frozen=True)
class AppTarget:
    """What uvicorn serves: an ASGI app ("module:attribute", or a factory of one), the
    directory its module is imported from and run in (None: as installed), and whether it
    answers GET /health with its process id (then each worker process is waited for)."""

    app: str
    factory: bool = False
    app_dir: Path | None = None
    reports_process: bool = False

    def uvicorn_arguments(self) -> list[str]:
        found = [self.app, *(["--factory"] if self.factory else [])]
        return found + (["--app-dir", str(self.app_dir)] if self.app_dir is not None else [])


BENCH_APP = AppTarget("bench_app.main:create_app", factory=True, reports_process=True)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def app_environment(
    database_url: str, redis_url: str, scale: float, upstream_url: str | None = None
) -> dict[str, str]:
    """The environment the target app (and its job worker) read their settings from."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PAIRBENCH_SCALE": str(scale),
    }
    if upstream_url is not None:  # the upstream stub (pairbench.env.upstream)
        environment["PAIRBENCH_UPSTREAM_URL"] = upstream_url
    return environment


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def load_factor() -> float:
    """How many times longer than on an idle machine a start may take here: the processes
    that want each core we may run on (the 1-minute load average per core), at least 1, at
    most MAX_LOAD_FACTOR. A start is mostly CPU (an app process imports for ~1.4 s of it),
    so its time grows with the queue for a core: with 8 test runs on 2 cores a two-worker
    app took over 30 s to answer."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(max(1.0, os.getloadavg()[0] / (cores or 1)), MAX_LOAD_FACTOR)


def _ask(url: str, deadline: float) -> httpx.Response | str:
    """GET `url`, allowed the time left (a cold worker's first answer connects to the
    database, seconds on a busy machine: cut short, it would only be asked again): its
    response, or what went wrong."""
    try:
        return httpx.get(url, timeout=max(deadline - time.monotonic(), 0.1))
    except httpx.ConnectError:
        return "connection refused (not listening yet)"
    except httpx.HTTPError as error:
        return f"no answer ({type(error).__name__})"


def _health(base_url: str, deadline: float) -> tuple[str | None, str]:
    """One /health check: the process that answered 200 (None otherwise) and what the
    check got."""
    response = _ask(f"{base_url}/health", deadline)
    if isinstance(response, str):
        return None, response
    if response.status_code != 200:
        return None, f"{response.status_code}: {response.text[:200]}"
    pid = str(response.json()["process"])
    return pid, f"200 from process {pid}"


def _any_answer(base_url: str, deadline: float) -> tuple[str | None, str]:
    """One GET / of an app with no /health we know: any HTTP answer says it serves ("" for
    the process that answered, which it does not tell)."""
    response = _ask(f"{base_url}/", deadline)
    if isinstance(response, str):
        return None, response
    return "", f"HTTP {response.status_code}"


def _wait_serving(
    base_url: str,
    process: subprocess.Popen[bytes],
    workers: int,
    log_path: Path,
    target: AppTarget = BENCH_APP,
) -> None:
    """Until each of the app's `workers` processes has answered /health with 200 (each check
    on a new connection), or, for a target that does not report its process, until it
    answers anything; within START_TIMEOUT_S times the machine's load_factor()."""
    factor = load_factor()
    timeout_s = START_TIMEOUT_S * factor
    deadline = time.monotonic() + timeout_s
    check, needed = (_health, workers) if target.reports_process else (_any_answer, 1)
    seen: set[str] = set()
    last = "nothing yet"
    while len(seen) < needed and time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"the target app exited with code {process.returncode} while starting; "
                f"its log ({log_path}) ends with:\n{_tail(log_path)}"
            )
        pid, last = check(base_url, deadline)
        if pid is not None:
            seen.add(pid)
        else:
            time.sleep(POLL_S)
    if len(seen) < needed:
        processes = f"each of its {workers} worker processes" if workers > 1 else "it"
        awaited = (
            f"{base_url}/health with 200 from {processes}"
            if target.reports_process
            else f"GET {base_url}/ with any HTTP status"
        )
        raise ServerError(
            f"the target app did not answer {awaited} "
            f"within {timeout_s:.0f} s ({START_TIMEOUT_S:.0f} s times {factor:.1f}, the "
            f"machine's runnable processes per core; {len(seen)} answered; the last check "
            f"got: {last}): a process answers once it has imported the app and run its "
            f"start-up{' (which reaches the database)' if target.reports_process else ''}; "
            f"its log ({log_path}) ends with:\n{_tail(log_path)}"
        )


def serving_pids(base_url: str, tries: int) -> set[str]:
    """The app processes that answered `tries` health checks, each on a new connection."""
    return {httpx.get(f"{base_url}/health", timeout=2).json()["process"] for _ in range(tries)}


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class AppServer:
    """The target app: uvicorn in a subprocess on one loopback port.

    A run serves most segments from one shared AppServer, and segments whose figures are
    the app's memory from AppServers of their own (pairbench.load.segment_apps), since
    Python rarely hands memory back once a process has grown.
    """

    def __init__(
        self,
        environment: Mapping[str, str],
        log_path: Path,
        port: int | None = None,
        host: str = LOOPBACK,
        workers: int = 1,
        target: AppTarget = BENCH_APP,
    ):
        self.environment = dict(environment)
        self.log_path = log_path
        self.host, self.workers, self.target = host, workers, target
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ServerError("the target app is not running")
        return self._process.pid

    @property
    def pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or its one process."""
        if self.workers == 1:
            return [self.pid]
        return [  # multiprocessing's resource tracker is a child too, serving nothing
            child.pid
            for child in psutil.Process(self.pid).children()
            if "resource_tracker" not in " ".join(child.cmdline())
        ]

    def start(self) -> float:
        """Start the app and wait until it serves (/health, or any answer: _wait_serving);
        the seconds that took."""
        if self._process is not None:
            raise ServerError("the target app is already running")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            *self.target.uvicorn_arguments(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
            *(["--workers", str(self.workers)] if self.workers > 1 else []),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                command,
                env=self.environment,
                stdout=log_file,
                stderr=log_file,
                cwd=self.target.app_dir,
            )
        try:
            _wait_serving(self.base_url, self._process, self.workers, self.log_path, self.target)
        except ServerError:
            self.stop()
            raise
        return time.perf_counter() - started

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None


@contextmanager
def serving_app(
    environment: Mapping[str, str],
    log_path: Path,
    log: Callable[[str], None] = print,
    port: int | None = None,
    host: str = LOOPBACK,
    workers: int = 1,
    target: AppTarget = BENCH_APP,
) -> Iterator[AppServer]:
    """Serve bench_app, or `target`, (on loopback unless told) for the duration of the block."""
    server = AppServer(environment, log_path, port, host, workers, target)
    try:
        seconds = server.start()
        processes = f", {workers} worker processes" if workers > 1 else ""
        log(f"target app ready at {server.base_url} ({seconds:.1f} s{processes})")
        yield server
    finally:
        server.stop()


@contextmanager
def running_app(
    environment: Mapping[str, str],
    log_path: Path,
    log: Callable[[str], None] = print,
    port: int | None = None,
    host: str = LOOPBACK,
    workers: int = 1,
) -> Iterator[str]:
    """Serve bench_app for the duration of the block; yields its base URL."""
    with serving_app(environment, log_path, log, port, host, workers) as server:
        yield server.base_url
