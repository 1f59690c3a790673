"""Which app process serves a load segment: the run's shared app, or one of its own.

Most segments go to the shared app, which lives for the whole run and is never
restarted, so its /metrics and slow-query log cover every technique. Where a technique's
figures are the app's memory, another technique's allocations in the same process would
be read as its own, and memory they freed would hide its growth (Python reuses it before
asking the system for more). So:
- fresh_process: each segment is served by an app process started for it, on a port of
  its own, and stopped after it: a peak that is the segment's own;
- soak_process: each variant is served by one app process of its own, from its first
  segment to its technique's last: what a variant keeps stays from segment to segment, as
  a leak does in production. Then it is stopped: each soak process keeps its pooled
  database connections open (16 under standard's 16 users), and five of them alive at
  once with the shared app's ran the stock max_connections (100) out: a standard run
  failed to start listener_leak's third process, "PostgreSQL could not be reached".
The harness points the load generator, its resets and its per-segment watchers (loop lag,
jobs, memory) at the segment's app.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from bench_app.technique import Technique
from pairbench.console import Log
from pairbench.env.server import AppServer
from pairbench.profiles import REQUEST_TIMEOUT_S
from pairbench.results import APP_FRESH, APP_OWN, APP_SHARED


@dataclass(frozen=True)
class SegmentApp:
    """The app serving one segment: the harness's client of it, and its process."""

    base_url: str  # where the load generator sends the segment's requests
    client: httpx.Client  # base URL set: resets and per-segment figures go through it
    pid: int | None  # None: no process to watch (the run was given no app server)
    pids: list[int]  # every process serving requests (uvicorn's workers), for memory
    process: str  # results.APP_SHARED, APP_FRESH (for this segment alone) or APP_OWN (a soak)

    @property
    def fresh(self) -> bool:
        return self.process == APP_FRESH


class OwnApp:
    """An app process of the harness's own, beside the shared one, and a client of it."""

    def __init__(self, shared: AppServer, log_name: str) -> None:
        self.server = AppServer(shared.environment, shared.log_path.with_name(log_name))
        self.seconds = self.server.start()
        self.client = httpx.Client(base_url=self.server.base_url, timeout=REQUEST_TIMEOUT_S)

    def segment_app(self, process: str) -> SegmentApp:
        pid = self.server.pid
        return SegmentApp(self.server.base_url, self.client, pid, [pid], process)

    def stop(self) -> None:
        self.client.close()
        self.server.stop()


class SegmentApps:
    """Hands each segment its app; stops the soak processes when closed."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        shared: AppServer | None,
        log: Log,
        own_processes: bool = True,  # False: the shared app serves every segment
    ) -> None:
        self.base_url, self.client, self.shared, self.log = base_url, client, shared, log
        self.own_processes = own_processes
        self._soaks: dict[tuple[str, str], OwnApp] = {}

    @contextmanager
    def serving(self, technique: Technique, variant: str) -> Iterator[SegmentApp]:
        """The app for one segment of `technique`'s `variant`, for the block's duration."""
        shared = self.shared
        own = self.own_processes and (technique.fresh_process or technique.soak_process)
        if shared is None or not own:
            pid, pids = (None, []) if shared is None else (shared.pid, shared.pids)
            yield SegmentApp(self.base_url, self.client, pid, pids, APP_SHARED)
            return
        if technique.soak_process:
            soak = self._soaks.get((technique.key, variant))
            if soak is None:
                soak = OwnApp(shared, f"server.{technique.key}.{variant}.log")
                self._soaks[technique.key, variant] = soak
                self.log(
                    f"      (app process {soak.server.pid} of its own for {variant}'s "
                    f"soak, ready in {soak.seconds:.1f} s)"
                )
            yield soak.segment_app(APP_OWN)
            return
        fresh = OwnApp(shared, f"server.{technique.key}.{variant}.log")
        try:
            pid, seconds = fresh.server.pid, fresh.seconds
            self.log(f"      (fresh app process {pid}, ready in {seconds:.1f} s)")
            yield fresh.segment_app(APP_FRESH)
        finally:
            fresh.stop()

    def stop_soaks(self, technique_key: str) -> None:
        """Stop the soak processes of a technique that has no segment left to serve."""
        for key in [key for key in self._soaks if key[0] == technique_key]:
            self._soaks.pop(key).stop()

    def close(self) -> None:
        """Stop every soak process."""
        for soak in self._soaks.values():
            soak.stop()
        self._soaks.clear()
