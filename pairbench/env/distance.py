"""Distance to a dependency: a delay proxy (pairbench.env.delay_proxy) in front of it.

`--db-rtt 0.5ms` puts a proxy between the app and PostgreSQL and gives the app the
proxy's address in its DATABASE_URL; likewise `--redis-rtt` (REDIS_URL) and
`--upstream-rtt` (the upstream stub's URL). The harness itself (seeding, versions) keeps
the direct address. The round trip can be changed while the proxy runs (the RTT sweep).
"""

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psutil

from pairbench.env.delay_proxy import READY_LINE
from pairbench.env.server import LOOPBACK, ServerError, free_port, stop_process

DATABASE, REDIS, UPSTREAM = "database", "redis", "upstream"
SWEPT = (DATABASE, REDIS)  # the RTT sweep moves both data stores together
DEFAULT_RTT_SWEEP_MS = (0.0, 0.25, 0.5, 1.0)
START_TIMEOUT_S = 10.0
CONTROL_TIMEOUT_S = 5.0
# A proxy busier than this share of a core under load starts to queue what it forwards.
MAX_PROXY_CPU_SHARE = 0.5
MAX_RTT_MS = 1000.0  # a second per round trip is already a satellite link
POSTGRES_PORT, REDIS_PORT = 5432, 6379
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|us|µs|s)?\s*$")
_UNIT_MS = {"ms": 1.0, "us": 0.001, "µs": 0.001, "s": 1000.0}


def parse_rtt_ms(text: str) -> float:
    """A round trip as given on the command line ("0.5ms", "500us", "1ms", "0") in ms."""
    found = _DURATION.match(text)
    if not found or (found.group(2) is None and float(found.group(1)) != 0):
        raise ValueError(
            f"{text!r} is not a round-trip time: give a number with its unit, "
            "e.g. 0.5ms, 500us or 0.001s (0 needs none)"
        )
    milliseconds = float(found.group(1)) * _UNIT_MS[found.group(2) or "ms"]
    if milliseconds > MAX_RTT_MS:
        raise ValueError(f"{text!r} is more than {MAX_RTT_MS:g} ms per round trip")
    return milliseconds


def parse_rtt_list(text: str) -> tuple[float, ...]:
    """An RTT sweep as given on the command line ("0,0.25ms,0.5ms,1ms")."""
    values = tuple(sorted({parse_rtt_ms(part) for part in text.split(",") if part.strip()}))
    if len(values) < 2:
        raise ValueError(f"{text!r}: an RTT sweep needs at least two distinct round trips")
    return values


@dataclass(frozen=True)
class Distance:
    """How far the app is from each dependency in a run: the RTT its proxy adds (absent:
    no proxy, loopback), and the RTT sweep's round trips, if any."""

    rtt_ms: Mapping[str, float] = field(default_factory=dict)
    sweep_ms: tuple[float, ...] = ()

    def proxied(self) -> list[str]:
        """The dependencies that get a proxy: those given an RTT, and the swept ones."""
        kinds = set(self.rtt_ms) | (set(SWEPT) if self.sweep_ms else set())
        return [kind for kind in (DATABASE, REDIS, UPSTREAM) if kind in kinds]

    def rtt_of(self, kind: str) -> float:
        return self.rtt_ms.get(kind, 0.0)

    def manifest_entry(self) -> dict[str, Any]:
        """What the manifest says of distance; `proxies` gets each proxy's measured cost."""
        return {
            "rtt_ms": {kind: self.rtt_of(kind) for kind in self.proxied()},
            "loopback": [
                kind for kind in (DATABASE, REDIS, UPSTREAM) if kind not in self.proxied()
            ],
            "sweep_ms": list(self.sweep_ms),
            "proxies": {},
        }

    @classmethod
    def loaded_in(cls, entry: Mapping[str, Any]) -> "Distance":
        """The distance a run's load was measured at, from its manifest_entry: each
        proxied dependency's RTT (0 for a swept one: its proxy stood there while loaded);
        not the sweep, which only the probe ran."""
        rtt_ms = entry.get("rtt_ms") or {}
        return cls({str(kind): float(rtt) for kind, rtt in rtt_ms.items()})


def proxy_target(kind: str, url: str) -> str:
    """Where a proxy in front of this service connects: HOST:PORT or a unix socket path."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if kind == DATABASE:
        port = parts.port or int(query.get("port", POSTGRES_PORT))
        host = parts.hostname or query.get("host", "")
        if host.startswith("/"):  # the embedded server's socket directory
            return f"{host}/.s.PGSQL.{port}"
        return f"{host or LOOPBACK}:{port}"
    if parts.scheme == "unix":
        return parts.path
    default = REDIS_PORT if kind == REDIS else (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or LOOPBACK}:{parts.port or default}"


def via_proxy(kind: str, url: str, port: int) -> str:
    """The service URL with the proxy's loopback address in place of the server's."""
    parts = urlsplit(url)
    query = [
        (name, value) for name, value in parse_qsl(parts.query) if name not in ("host", "port")
    ]
    if kind == REDIS and parts.scheme == "unix":
        database = dict(query).get("db", "0")
        return f"redis://{LOOPBACK}:{port}/{database}"
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{LOOPBACK}:{port}" if credentials else f"{LOOPBACK}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


@dataclass(frozen=True)
class DelayProxy:
    """A running proxy: the URL the app uses, and how to set and read it."""

    kind: str
    url: str  # the service URL through the proxy
    target: str
    control_port: int
    pid: int

    def command(self, line: str) -> str:
        with socket.create_connection((LOOPBACK, self.control_port), CONTROL_TIMEOUT_S) as conn:
            conn.sendall(line.encode() + b"\n")
            return conn.makefile().readline().strip()

    def set_rtt(self, rtt_ms: float) -> None:
        answer = self.command(f"rtt {rtt_ms:g}")
        if answer != "ok":
            raise ServerError(f"the {self.kind} delay proxy refused rtt {rtt_ms:g}: {answer}")

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.command("stats"))
        return found

    def cpu_s(self) -> float:
        """CPU seconds the proxy process has used so far: to the ns from Linux's schedstat
        (a round trip's share is µs; the ticks of user + system time are 10 ms)."""
        try:
            return int(Path(f"/proc/{self.pid}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            times = psutil.Process(self.pid).cpu_times()
            return float(times.user + times.system)


@contextmanager
def running_proxy(
    kind: str, url: str, rtt_ms: float, log_path: Path, log: Callable[[str], None] = print
) -> Iterator[DelayProxy]:
    """A delay proxy in front of the service at `url` for the duration of the block."""
    port, control_port = free_port(), free_port()
    target = proxy_target(kind, url)
    command = [
        sys.executable,
        "-m",
        "pairbench.env.delay_proxy",
        "--port",
        str(port),
        "--control-port",
        str(control_port),
        "--target",
        target,
        "--rtt-ms",
        f"{rtt_ms:g}",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log_file:
        # A session of its own: Ctrl-C reaches only the harness, which stops it in order.
        process = subprocess.Popen(
            command, stdout=log_file, stderr=log_file, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY_LINE not in log_path.read_bytes()[offset:].decode(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_bytes()[offset:].decode(errors="replace")[-2000:]
                raise ServerError(f"the {kind} delay proxy did not start; {log_path} ends:\n{tail}")
            time.sleep(0.05)
        proxy = DelayProxy(kind, via_proxy(kind, url, port), target, control_port, process.pid)
        log(f"{kind} delay proxy at {LOOPBACK}:{port} -> {target}, round trip {rtt_ms:g} ms")
        yield proxy
    finally:
        stop_process(process)
