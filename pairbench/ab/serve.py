"""The user's ASGI app served by pairbench, and who serves each side of a pair during a segment.

`pairbench ab --app module:app` serves the app as a run serves bench_app
(pairbench.env.server: uvicorn in a subprocess on a free port, `--app-workers` processes),
from the current directory, once; with `--rev` it serves it once per revision, each from a
worktree of its own (pairbench.ab.revisions), side by side on their own ports, with the
user's environment (the same Python, the same DATABASE_URL and REDIS_URL: the same
services).
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench_app.technique import Technique
from pairbench.console import Log
from pairbench.env.server import LOOPBACK, AppServer, AppTarget, serving_app
from pairbench.load.segment_apps import SegmentApp, SegmentApps
from pairbench.profiles import REQUEST_TIMEOUT_S
from pairbench.results import APP_SHARED


def user_environment(app_dir: Path) -> dict[str, str]:
    """The user's environment, with `app_dir` first on the import path: a revision's
    worktree wins over the checkout an editable install points at."""
    python_path = os.pathsep.join(filter(None, [str(app_dir), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": python_path}


@contextmanager
def serving_sides(
    app: str,
    app_dirs: Mapping[str, Path],
    log_dir: Path,
    log: Log,
    workers: int = 1,
    host: str = LOOPBACK,
) -> Iterator[dict[str, AppServer]]:
    """`app` served from each directory in `app_dirs` (side -> directory) for the block;
    sides given the same directory share one server."""
    with ExitStack() as stack:
        started: dict[Path, AppServer] = {}
        for side, app_dir in app_dirs.items():
            if app_dir in started:
                continue
            target, log_path = AppTarget(app, app_dir=app_dir), log_dir / f"app.{side}.log"
            started[app_dir] = stack.enter_context(
                serving_app(
                    user_environment(app_dir),
                    log_path,
                    log,
                    host=host,
                    workers=workers,
                    target=target,
                )
            )
        yield {side: started[app_dir] for side, app_dir in app_dirs.items()}


Side = tuple[str, str]  # (pair, variant): one side of one pair


class PairApps(SegmentApps):
    """Each segment of a pair goes to its side's app: the same one for two endpoints of one
    app, a revision's own for `--rev`, the URL's for an app the user runs. Processes
    pairbench serves have their memory watched."""

    def __init__(self, base_urls: Mapping[Side, str], servers: Mapping[Side, AppServer]) -> None:
        self._clients = {
            url: httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S)
            for url in dict.fromkeys(base_urls.values())
        }
        first = next(iter(self._clients))
        super().__init__(first, self._clients[first], None, lambda _: None)
        self.base_urls, self.servers = dict(base_urls), dict(servers)

    @contextmanager
    def serving(self, technique: Technique, variant: str) -> Iterator[SegmentApp]:
        base_url = self.base_urls[technique.key, variant]
        server = self.servers.get((technique.key, variant))
        pid, pids = (None, []) if server is None else (server.pid, server.pids)
        yield SegmentApp(base_url, self._clients[base_url], pid, pids, APP_SHARED)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
