"""The user's ASGI app served by pairbench (uvicorn in a subprocess), and who serves each
side of a pair during a segment.

`pairbench ab --app module:app` serves the app itself from the current directory, once;
with `--rev` it serves it once per revision, each from a worktree of its own
(pairbench.ab.revisions), side by side on their own loopback ports, with the user's
environment (the same Python, the same DATABASE_URL and REDIS_URL: the same services).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench_app.technique import Technique
from pairbench.env.server import LOOPBACK, START_TIMEOUT_S, ServerError, free_port, stop_process
from pairbench.load.segment_apps import SegmentApp, SegmentApps
from pairbench.profiles import REQUEST_TIMEOUT_S
from pairbench.results import APP_SHARED

POLL_S = 0.1


@dataclass(frozen=True)
class ServedApp:
    """One app process pairbench serves: where it answers and its pid (its memory watched)."""

    base_url: str
    pid: int


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_answering(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Until the app answers any HTTP request (a user's app has no health route we know)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"your app exited with code {process.returncode} while starting; its log "
                f"({log_path}) ends with:\n{_tail(log_path)}"
            )
        try:
            httpx.get(base_url + "/", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(POLL_S)
    raise ServerError(
        f"your app did not answer at {base_url} within {START_TIMEOUT_S:.0f} s; its log "
        f"({log_path}) ends with:\n{_tail(log_path)}"
    )


class UserApp:
    """`app` ("module:attribute", an ASGI app) served by uvicorn from `app_dir` on a free
    loopback port: started, then waited for, so that two start side by side."""

    def __init__(self, app: str, app_dir: Path, log_path: Path) -> None:
        self.port, self.log_path = free_port(), log_path
        command = [
            sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", LOOPBACK,
            "--port", str(self.port), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        python_path = os.pathsep.join(filter(None, [str(app_dir), os.environ.get("PYTHONPATH")]))
        environment = {**os.environ, "PYTHONPATH": python_path}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                command, cwd=app_dir, env=environment, stdout=log_file, stderr=log_file
            )

    @property
    def served(self) -> ServedApp:
        return ServedApp(f"http://{LOOPBACK}:{self.port}", self.process.pid)

    def wait(self) -> None:
        _wait_answering(self.served.base_url, self.process, self.log_path)

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def serving_sides(
    app: str, app_dirs: Mapping[str, Path], log_dir: Path
) -> Iterator[dict[str, ServedApp]]:
    """One app process per directory in `app_dirs` (variant -> directory), for the block;
    variants given the same directory share one process."""
    started: dict[Path, UserApp] = {}
    try:
        for variant, app_dir in app_dirs.items():
            if app_dir not in started:
                started[app_dir] = UserApp(app, app_dir, log_dir / f"app.{variant}.log")
        for one in started.values():
            one.wait()
        yield {variant: started[app_dir].served for variant, app_dir in app_dirs.items()}
    finally:
        for one in started.values():
            one.stop()


Side = tuple[str, str]  # (pair, variant): one side of one pair


class PairApps(SegmentApps):
    """Each segment of a pair goes to its side's app: the same one for two endpoints of one
    app, a revision's own for `--rev`, the URL's for an app the user runs. Processes
    pairbench serves have their memory watched."""

    def __init__(self, base_urls: Mapping[Side, str], pids: Mapping[Side, int]) -> None:
        self._clients = {
            url: httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S)
            for url in dict.fromkeys(base_urls.values())
        }
        first = next(iter(self._clients))
        super().__init__(first, self._clients[first], None, lambda _: None)
        self.base_urls, self.pids = dict(base_urls), dict(pids)

    @contextmanager
    def serving(self, technique: Technique, variant: str) -> Iterator[SegmentApp]:
        base_url = self.base_urls[technique.key, variant]
        pid = self.pids.get((technique.key, variant))
        pids = [] if pid is None else [pid]
        yield SegmentApp(base_url, self._clients[base_url], pid, pids, APP_SHARED)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
