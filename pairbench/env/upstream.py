"""Start and stop the upstream stub (pairbench.env.upstream_stub) and read its counters.

The stub runs in its own process on loopback, like the app: the app reaches it over
real sockets, and what it counts (connections accepted, requests served) is read from
its control port before and after each load segment.
"""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pairbench.env.server import LOOPBACK, ServerError, free_port, stop_process
from pairbench.env.upstream_stub import StubConfig

START_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class UpstreamCounts:
    """What the stub has seen: TCP connections accepted and requests served."""

    connections: int
    requests: int

    def __sub__(self, earlier: "UpstreamCounts") -> "UpstreamCounts":
        return UpstreamCounts(
            self.connections - earlier.connections, self.requests - earlier.requests
        )


@dataclass(frozen=True)
class Upstream:
    """A running stub: its service URL (for the app) and its control URL (for us)."""

    url: str
    control_url: str
    config: StubConfig

    def counts(self) -> UpstreamCounts:
        response = httpx.get(f"{self.control_url}/stats", timeout=READ_TIMEOUT_S)
        response.raise_for_status()
        found = response.json()
        return UpstreamCounts(int(found["connections"]), int(found["requests"]))


def _wait_ready(upstream: Upstream, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"the upstream stub exited with code {process.returncode} while starting; "
                f"see {log_path}"
            )
        try:
            upstream.counts()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise ServerError(
        f"the upstream stub did not start within {START_TIMEOUT_S:.0f} s; see {log_path}"
    )


@contextmanager
def running_upstream(
    log_path: Path, log: Callable[[str], None] = print, config: StubConfig | None = None
) -> Iterator[Upstream]:
    """Serve the stub on loopback for the duration of the block."""
    config = config or StubConfig()
    port, control_port = free_port(), free_port()
    upstream = Upstream(f"http://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{control_port}", config)
    command = [
        sys.executable,
        "-m",
        "pairbench.env.upstream_stub",
        "--port",
        str(port),
        "--control-port",
        str(control_port),
        "--latency-ms",
        f"{config.latency_ms:g}",
        "--payload-bytes",
        str(config.payload_bytes),
        "--stall-share",
        f"{config.stall_share:g}",
        "--stall-ms",
        f"{config.stall_ms:g}",
        "--capacity",
        str(config.capacity),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        # A session of its own: Ctrl-C reaches only the harness, which stops it in order.
        process = subprocess.Popen(
            command, stdout=log_file, stderr=log_file, start_new_session=True
        )
    try:
        _wait_ready(upstream, process, log_path)
        log(f"upstream stub ready at {upstream.url} ({config.latency_ms:g} ms per call)")
        yield upstream
    finally:
        stop_process(process)
