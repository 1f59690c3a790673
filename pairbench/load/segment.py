"""Load segments, sent by one long-lived load generator process per run.

The generator (pairbench.load.generator) runs in its own process so the harness stays
free of gevent's monkey-patching and so its CPU can be watched: a saturated generator
measures itself, not the app. It stays up between segments, so a segment costs its own
seconds and not Locust's start-up.
"""

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import psutil

from bench_app.target import Target
from bench_app.technique import Technique
from pairbench.env.server import LOOPBACK, free_port, load_factor, stop_process
from pairbench.profiles import LOAD_WORKERS_WAIT_S, SEGMENT_STRETCH

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
WILDCARD_HOSTS = {"*", "0.0.0.0", "::"}  # a master bound to one listens on every address
CPU_POLL_S = 0.5
START_TIMEOUT_S = 120.0  # the generator's imports, on a busy machine
GRACE_S = 60.0  # a segment's own start and stop (users finishing requests), beyond its time


class LoadError(Exception):
    """The load generator failed or was pointed somewhere it must not go."""


@dataclass(frozen=True)
class SegmentResult:
    started: float
    measure_start: float  # epoch seconds: samples sent before it are warm-up
    measure_end: float  # no request was sent after it
    ended: float
    generator_cpu_max: float  # the busiest generator process's (master or worker), % of a core
    load_workers: int = 0  # Locust workers that sent the load (0: the generator alone)
    short_of_minimum: str = ""  # why a closed-loop segment has fewer than its minimum, if so


@dataclass(frozen=True)
class LoadWorkers:
    """Locust's distributed mode for closed-loop segments: `local` worker processes the
    harness starts, plus `remote` ones the user starts on other hosts
    (`python -m pairbench.load.worker --master HOST:PORT`), all joining the generator, their
    master, listening on `bind`:`port` (a free port if None: local workers only)."""

    local: int = 0
    remote: int = 0
    bind: str = LOOPBACK
    port: int | None = None

    @property
    def total(self) -> int:
        return self.local + self.remote

    def local_master(self, port: int) -> str:
        """Where local workers find the master: the address it listens on, or loopback when
        it listens on every address."""
        host = LOOPBACK if self.bind in WILDCARD_HOSTS else self.bind
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def require_loopback(base_url: str, own_host: str | None = None) -> None:
    """Load only ever goes to this machine, or to the host the user named as their own."""
    host = urlsplit(base_url).hostname or ""
    if not is_loopback(host) and host != own_host:
        raise LoadError(
            f"refusing to send load to {host!r}: only loopback addresses are allowed, unless "
            f"you name the host as your own with --own-target {host}"
        )


def has_own_workload(technique: Technique) -> bool:
    """Whether a technique brings its own Locust user (its `scenario`), more than a GET.

    Such a workload (ETags kept by a browser, bursts after expiry) exists only as Locust
    code, so it is measured closed-loop only.
    """
    return technique.scenario is not None


def _read_lines(stream: IO[bytes], lines: "queue.Queue[bytes]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(b"")  # end of output: the generator is gone


class LoadGenerator:
    """The harness's handle on the generator process: one command, one reply.

    A segment loads `base_url` (the run's app) unless it is given an app of its own. The
    process starts at once; it is ready (its Locust master listening, every load worker
    joined) once `wait_ready` returns, which the first segment calls if nobody has, so a
    run can do other work while the generator spends its first seconds importing.
    """

    def __init__(
        self,
        base_url: str,
        log_path: Path,
        workers: LoadWorkers = LoadWorkers(),
        own_host: str | None = None,
    ) -> None:
        require_loopback(base_url, own_host)
        self.base_url, self.log_path, self.own_host = base_url, log_path, own_host
        command = [sys.executable, "-m", "pairbench.load.generator"]
        port = workers.port or free_port()
        if workers.total:
            command += ["--workers", str(workers.total), "--master-bind", workers.bind]
            command += ["--master-port", str(port)]
        self.worker_processes: list[subprocess.Popen[bytes]] = []
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                bufsize=0,
                cwd=REPO_ROOT,
            )
        assert self.process.stdout is not None
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(
            target=_read_lines, args=(self.process.stdout, self._lines), daemon=True
        )
        self._reader.start()
        self._watched = psutil.Process(self.process.pid)
        # Started alongside, they wait for the master to listen (their imports take seconds).
        self._start_workers(workers.local, workers.local_master(port))
        self._load_workers = workers.total
        self._ready = False

    def wait_ready(self) -> None:
        """Until its Locust master listens and every load worker has joined (at once if
        they have); LoadError, and the generator stopped, if they do not in time."""
        if self._ready:
            return
        try:
            self._reply(START_TIMEOUT_S, watch_cpu=False)  # its Locust master is listening
            if self._load_workers:
                self._send({"op": "workers"})  # answered once every worker has joined
                self._reply(LOAD_WORKERS_WAIT_S + GRACE_S, watch_cpu=False)
        except LoadError:
            self.close()
            raise
        self._ready = True

    def _start_workers(self, count: int, master: str) -> None:
        """Local Locust workers, joining the master at `master` (HOST:PORT)."""
        command = [sys.executable, "-m", "pairbench.load.worker", "--exit-with-parent"]
        with open(self.log_path, "ab") as log_file:
            for _ in range(count):
                self.worker_processes.append(
                    subprocess.Popen(
                        [*command, "--master", master],
                        stdin=subprocess.DEVNULL,
                        stdout=log_file,
                        stderr=log_file,
                        cwd=REPO_ROOT,
                    )
                )

    def closed(
        self,
        technique: str,
        target: Target,
        users: int,
        warmup: tuple[float, float],
        seconds: float,
        samples_path: Path,
        min_requests: int = 0,
        base_url: str | None = None,
        answers_path: Path | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> SegmentResult:
        """`users` closed-loop users on `target`: warm-up within `warmup` (min, max) seconds
        until latency settles, then `seconds` measured, or longer until `min_requests` of the
        variant's own succeeded: up to SEGMENT_STRETCH times, and that times the machine's
        runnable processes per core (a request takes as much longer on a busy machine);
        raw samples go to a CSV, a few answers (their bodies) to `answers_path`
        (pairbench.load.answer_sample). `request` (method, headers, body) is what each user
        sends when it is more than a GET (`pairbench ab`)."""
        max_seconds = seconds * SEGMENT_STRETCH * load_factor()
        return self._segment(
            {
                **({"request": dict(request)} if request is not None else {}),
                "op": "closed",
                "base_url": self._app(base_url),
                "technique": technique,
                "target": target.to_json(),
                "users": users,
                "warmup_min": warmup[0],
                "warmup_max": warmup[1],
                "seconds": seconds,
                "min_requests": min_requests,
                "max_seconds": max_seconds,
                "samples": str(samples_path.resolve()),
                "answers": str(answers_path.resolve()) if answers_path else "",
            },
            warmup[1] + max_seconds,
        )

    def open(
        self,
        target: Target,
        rate: float,
        warmup_s: float,
        seconds: float,
        samples_path: Path,
        base_url: str | None = None,
        answers_path: Path | None = None,
    ) -> SegmentResult:
        """`rate` requests per second on `target` for warm-up + `seconds`, from due times;
        raw samples to a CSV, a few answers to `answers_path`, as in closed loop."""
        return self._segment(
            {
                "op": "open",
                "base_url": self._app(base_url),
                "target": target.to_json(),
                "rate": rate,
                "warmup_min": warmup_s,
                "warmup_max": warmup_s,
                "seconds": seconds,
                "samples": str(samples_path.resolve()),
                "answers": str(answers_path.resolve()) if answers_path else "",
            },
            warmup_s + seconds,
        )

    def _app(self, base_url: str | None) -> str:
        """The app a segment loads: its own if given (on loopback too), else the run's."""
        if base_url is None:
            return self.base_url
        require_loopback(base_url, self.own_host)
        return base_url

    def close(self) -> None:
        """Ask the generator to quit; stop it if it does not; release its pipes."""
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is not None:
            try:
                if self.process.poll() is None:
                    stdin.write(b'{"op": "quit"}\n')
                    stdin.flush()
            except OSError:
                pass  # it is gone already
            finally:
                try:
                    stdin.close()
                except OSError:
                    pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        stop_process(self.process)
        for worker in self.worker_processes:  # the master's quit has let them go by now
            stop_process(worker)
        self._reader.join(timeout=5)
        if stdout is not None:
            stdout.close()

    def _send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(command).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise self._failure(f"stopped before it was told to {command['op']}") from None

    def _segment(self, command: dict[str, Any], seconds: float) -> SegmentResult:
        self.wait_ready()
        self._send(command)
        reply, cpu_max = self._reply(seconds + GRACE_S, watch_cpu=True)
        return SegmentResult(
            reply["started"],
            reply["measure_start"],
            reply["measure_end"],
            reply["ended"],
            max(cpu_max, reply.get("workers_cpu_max", 0.0)),
            reply.get("load_workers", 0),
            reply.get("short_of_minimum", ""),
        )

    def _reply(self, timeout_s: float, watch_cpu: bool) -> tuple[dict[str, Any], float]:
        """The generator's next reply, watching its CPU (percent of one core) meanwhile."""
        deadline = time.monotonic() + timeout_s
        cpu_max = 0.0
        try:
            self._watched.cpu_percent(interval=None)  # starts the measuring interval
        except psutil.NoSuchProcess:
            pass
        while True:
            try:
                line = self._lines.get(timeout=CPU_POLL_S)
                break
            except queue.Empty:
                pass
            if time.monotonic() > deadline:
                stop_process(self.process)
                raise self._failure(f"did not answer within {timeout_s:.0f} s; killed it")
            if watch_cpu:
                try:
                    cpu_max = max(cpu_max, self._watched.cpu_percent(interval=None))
                except psutil.NoSuchProcess:
                    pass
        if not line:
            self.process.wait()
            raise self._failure(f"exited with code {self.process.returncode}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise self._failure(f"failed a segment: {reply.get('error')}")
        return reply, cpu_max

    def _failure(self, what: str) -> LoadError:
        try:
            tail = self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            tail = ""
        return LoadError(f"the load generator {what}; its log ({self.log_path}) ends with:\n{tail}")


@contextmanager
def running_generator(
    base_url: str,
    log_path: Path,
    workers: LoadWorkers = LoadWorkers(),
    own_host: str | None = None,
) -> Iterator[LoadGenerator]:
    """A load generator for the block's segments, ready, stopped (killed if need be) after it."""
    with starting_generator(base_url, log_path, workers, own_host) as generator:
        generator.wait_ready()
        yield generator


@contextmanager
def starting_generator(
    base_url: str,
    log_path: Path,
    workers: LoadWorkers = LoadWorkers(),
    own_host: str | None = None,
) -> Iterator[LoadGenerator]:
    """A load generator started (not waited for: LoadGenerator.wait_ready) for the block,
    stopped (killed if need be) after it."""
    generator = LoadGenerator(base_url, log_path, workers, own_host)
    try:
        yield generator
    finally:
        generator.close()
