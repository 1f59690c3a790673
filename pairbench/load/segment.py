"""One load segment against one variant's URL, its load generator in its own process.

Closed loop: Locust, headless, N users back to back. Open loop: pairbench.load.open_loop, a
fixed arrival rate. Either runs as a subprocess so the harness stays free of gevent's
monkey-patching and so its CPU can be watched: a saturated generator measures itself,
not the app.
"""

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench_app.technique import Technique
from pairbench.env.server import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = REPO_ROOT / "scenarios" / "locustfile.py"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
CPU_POLL_S = 0.5
GRACE_S = 60.0  # Locust's own start-up and shut-down, on top of the run time


class LoadError(Exception):
    """The load generator failed or was pointed somewhere it must not go."""


@dataclass(frozen=True)
class SegmentResult:
    started: float
    ended: float
    generator_cpu_max: float


def require_loopback(base_url: str) -> None:
    """Load only ever goes to this machine."""
    host = urlsplit(base_url).hostname or ""
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise LoadError(f"refusing to send load to {host!r}: only loopback addresses are allowed")


def _samples_started(samples_path: Path) -> bool:
    """Whether Locust has recorded a request yet (the file holds more than its header)."""
    try:
        return samples_path.stat().st_size > 200
    except FileNotFoundError:
        return False


def has_own_workload(technique: Technique) -> bool:
    """Whether a technique brings its own Locust user (its `scenario`), more than a GET.

    Such a workload (ETags kept by a browser, bursts after expiry) exists only as Locust
    code, so it is measured closed-loop only.
    """
    return technique.scenario is not None


def run_segment(
    base_url: str, technique: str, target: str, users: int, seconds: float, samples_path: Path
) -> SegmentResult:
    """Load `target` with `users` closed-loop users for `seconds`; raw samples go to a CSV."""
    require_loopback(base_url)
    samples_path = samples_path.resolve()  # Locust runs in the repository, not our directory
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{math.ceil(seconds)}s", "--host", base_url,
        "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    environment = {
        **os.environ,
        "PAIRBENCH_TARGET": target,
        "PAIRBENCH_TECHNIQUE": technique,
        "PAIRBENCH_SAMPLES": str(samples_path),
    }
    return _watched(command, environment, seconds, samples_path, "Locust")


def run_open_segment(
    base_url: str, target: str, rate: float, seconds: float, samples_path: Path
) -> SegmentResult:
    """Send `rate` requests per second to `target` for `seconds`, timed from their due times."""
    require_loopback(base_url)
    samples_path = samples_path.resolve()
    command = [
        sys.executable, "-m", "pairbench.load.open_loop", "--base-url", base_url, "--path", target,
        "--rate", f"{rate:.6g}", "--seconds", f"{seconds:g}", "--out", str(samples_path),
    ]  # fmt: skip
    return _watched(command, dict(os.environ), seconds, samples_path, "the open-loop generator")


def _watched(
    command: list[str], environment: dict[str, str], seconds: float, samples_path: Path, name: str
) -> SegmentResult:
    """Run a load generator to completion, sampling its CPU once it has started sending."""
    log_path = samples_path.with_suffix(".log")
    started = time.time()
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, env=environment, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    cpu_max = 0.0
    try:
        watched = psutil.Process(process.pid)
        deadline = time.monotonic() + seconds + GRACE_S
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise LoadError(f"{name} did not stop within {seconds + GRACE_S:.0f} s; killed it")
            try:
                cpu = watched.cpu_percent(interval=CPU_POLL_S)
            except psutil.NoSuchProcess:
                break
            # Locust's own import burns CPU before it sends anything; count only the load.
            if _samples_started(samples_path):
                cpu_max = max(cpu_max, cpu)
    finally:
        stop_process(process)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise LoadError(f"{name} exited with code {process.returncode}; its log ends with:\n{tail}")
    log_path.unlink()
    return SegmentResult(started, time.time(), cpu_max)
