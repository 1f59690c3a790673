"""What a run measures in and `pairbench serve` serves: one bring-up for both.

PostgreSQL and Redis (yours, or embedded throwaway ones), the upstream stub the outbound
techniques call, a delay proxy in front of each dependency the `Distance` puts away, the
app's data, its job worker and the app itself. It comes up a step at a time, so a run can
time each step as a stage and measure in between (the proxies' cost, before the app
starts); leaving the `with` block stops whatever was started, in reverse order.

The app, its worker and what stands in for them (the overhead and micro stages) reach
each dependency through its proxy, if it has one; the harness (seeding, the equivalence
check's look at effects) goes direct.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench_app.settings import Settings
from pairbench.console import Log
from pairbench.env.data import autovacuum_off, seed_database, settle_database
from pairbench.env.distance import DATABASE, REDIS, UPSTREAM, DelayProxy, Distance, running_proxy
from pairbench.env.server import LOOPBACK, AppServer, app_environment, serving_app
from pairbench.env.services import ServiceUrls, running_services
from pairbench.env.upstream import Upstream, running_upstream
from pairbench.env.worker import StartingWorker, starting_worker

UPSTREAM_LOG = "upstream.log"
WORKER_LOG = "worker.log"
SERVER_LOG = "server.log"


@dataclass(frozen=True)
class Dependencies:
    """What the app depends on, running: PostgreSQL and Redis, the upstream stub, and a
    delay proxy (by kind: DATABASE, REDIS, UPSTREAM) in front of each one put away."""

    services: ServiceUrls
    upstream: Upstream
    proxies: dict[str, DelayProxy]

    @property
    def direct(self) -> dict[str, str]:
        """Each dependency's own URL, by kind."""
        return {
            DATABASE: self.services.database_url,
            REDIS: self.services.redis_url,
            UPSTREAM: self.upstream.url,
        }

    def for_app(self, kind: str) -> str:
        """Where the app reaches a dependency: through its proxy if it has one."""
        return self.proxies[kind].url if kind in self.proxies else self.direct[kind]


class Environment:
    """The dependencies, data, job worker and app, started step by step for the duration
    of a `with` block; their logs go to `log_dir`."""

    def __init__(self, log_dir: Path, distance: Distance, scale: float, log: Log) -> None:
        self.log_dir, self.distance, self.scale, self.log = log_dir, distance, scale, log
        self._stack = ExitStack()
        self._dependencies: Dependencies | None = None
        self._worker: StartingWorker | None = None

    def __enter__(self) -> "Environment":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.__exit__(kind, error, traceback)

    def start_dependencies(self) -> Dependencies:
        """PostgreSQL and Redis, the upstream stub, and the proxies the distance asks for."""
        services = self._stack.enter_context(running_services(self.log))
        upstream = self._stack.enter_context(
            running_upstream(self.log_dir / UPSTREAM_LOG, self.log)
        )
        direct = Dependencies(services, upstream, {}).direct
        proxies = {
            kind: self._stack.enter_context(
                running_proxy(
                    kind,
                    direct[kind],
                    self.distance.rtt_of(kind),
                    self.log_dir / f"proxy-{kind}.log",
                    self.log,
                )
            )
            for kind in self.distance.proxied()
        }
        self._dependencies = Dependencies(services, upstream, proxies)
        return self._dependencies

    @property
    def dependencies(self) -> Dependencies:
        if self._dependencies is None:  # a bug in the caller, not a user's mistake
            raise RuntimeError("the environment's dependencies are not started yet")
        return self._dependencies

    def harness_settings(self) -> Settings:
        """The settings the harness reaches the data stores with: direct."""
        services = self.dependencies.services
        return Settings(
            database_url=services.database_url, redis_url=services.redis_url, scale=self.scale
        )

    def app_settings(self) -> Settings:
        """The settings the app reaches the data stores with: through their proxies."""
        dependencies = self.dependencies
        return Settings(
            database_url=dependencies.for_app(DATABASE),
            redis_url=dependencies.for_app(REDIS),
            scale=self.scale,
        )

    def app_environment(self) -> dict[str, str]:
        """The environment variables the app and its job worker read their settings from."""
        dependencies = self.dependencies
        return app_environment(
            dependencies.for_app(DATABASE),
            dependencies.for_app(REDIS),
            self.scale,
            dependencies.for_app(UPSTREAM),
        )

    def load_data(self) -> None:
        """The app's tables and rows, unless they are there already."""
        seed_database(self.harness_settings(), self.log)

    def settle_data(self) -> None:
        """The database vacuumed and analyzed, in the steady state a run measures."""
        settle_database(self.harness_settings(), self.log)

    def pause_autovacuum(self) -> None:
        """Autovacuum off the app's tables until the block ends."""
        self._stack.enter_context(autovacuum_off(self.harness_settings(), self.log))

    def start_worker(self) -> None:
        """background_jobs' job worker, until the block ends: started here, waited for
        once the app serves (serving_app), since both take their first second importing."""
        self._worker = self._stack.enter_context(
            starting_worker(self.app_environment(), self.log_dir / WORKER_LOG)
        )

    @contextmanager
    def serving_app(
        self,
        host: str = LOOPBACK,
        port: int | None = None,
        workers: int = 1,
        log_name: str = SERVER_LOG,
    ) -> Iterator[AppServer]:
        """The app, served for the duration of its own `with` block (pairbench.env.server),
        and the job worker, if one was started, ready too."""
        with serving_app(
            self.app_environment(), self.log_dir / log_name, self.log, port, host, workers
        ) as app:
            if self._worker is not None:
                self._worker.wait_ready(self.log)
            yield app
