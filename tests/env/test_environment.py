"""The environment run and serve share, on real PostgreSQL and Redis: what the app reaches
through a delay proxy, what the harness reaches directly, and everything stopped after."""

from pathlib import Path

import httpx
import psutil
import pytest

from pairbench.env.distance import DATABASE, Distance
from pairbench.env.environment import Environment
from pairbench.env.services import ServiceUrls
from pairbench.load.proxy_cost import NO_BLOCK, database_round_trips


class Stop(Exception):
    """Raised inside the block: the environment must stop what it started anyway."""


def test_the_app_goes_through_the_proxy_the_harness_direct_and_all_stops_after(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    with pytest.raises(Stop), Environment(tmp_path, Distance({DATABASE: 0.5}), 1.0, print) as env:
        dependencies = env.start_dependencies()
        assert list(dependencies.proxies) == [DATABASE]  # Redis and the stub stay on loopback
        proxy, upstream = dependencies.proxies[DATABASE], dependencies.upstream
        # its own services: the tests' servers, or (without URLs) embedded ones of its own
        services = dependencies.services
        assert services.embedded_redis == service_urls.embedded_redis
        environment = env.app_environment()
        assert environment["DATABASE_URL"] == proxy.url != services.database_url
        assert environment["REDIS_URL"] == services.redis_url
        assert environment["PAIRBENCH_UPSTREAM_URL"] == upstream.url
        assert env.app_settings().database_url == proxy.url
        assert env.harness_settings().database_url == services.database_url
        (times,) = database_round_trips(proxy.url, [NO_BLOCK], 3)  # the proxy forwards
        assert min(times) >= 0.5 / 1000
        assert upstream.counts().requests == 0
        raise Stop

    assert not psutil.pid_exists(proxy.pid) or psutil.Process(proxy.pid).status() == "zombie"
    with pytest.raises(httpx.HTTPError):
        upstream.counts()
    assert (tmp_path / "proxy-database.log").exists() and (tmp_path / "upstream.log").exists()


def test_the_environment_refuses_what_needs_dependencies_before_they_start(
    tmp_path: Path,
) -> None:
    with Environment(tmp_path, Distance(), 1.0, print) as env, pytest.raises(RuntimeError):
        env.app_environment()
