"""The target app as a subprocess: started, stopped, and a second one beside the first."""

from pathlib import Path

import httpx
import psutil
import pytest

from pairbench.env.memory import watch_memory
from pairbench.env.server import (
    AppServer,
    ServerError,
    app_environment,
    serving_app,
    serving_pids,
)
from pairbench.env.services import ServiceUrls


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow
def test_a_second_app_is_its_own_process_on_its_own_port_and_the_first_keeps_serving(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    environment = app_environment(service_urls.database_url, service_urls.redis_url, 1.0)
    with serving_app(environment, tmp_path / "server.log", log=lambda message: None) as app:
        first = app.pid
        own = AppServer(environment, tmp_path / "own.log")
        seconds = own.start()
        second = own.pid
        assert seconds > 0 and second != first and own.base_url != app.base_url
        for url in (app.base_url, own.base_url):
            assert httpx.get(f"{url}/health").status_code == 200
        own.stop()
        assert gone(second)
        assert app.pid == first and httpx.get(f"{app.base_url}/health").status_code == 200
    assert gone(first)


def test_a_server_not_started_has_no_pid(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="not running"):
        _ = AppServer({}, tmp_path / "server.log").pid


@pytest.mark.slow
def test_app_workers_serve_from_as_many_processes_watched_together(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    environment = app_environment(service_urls.database_url, service_urls.redis_url, 1.0)
    log = tmp_path / "server.log"
    with serving_app(environment, log, log=lambda message: None, workers=2) as app:
        pids = app.pids
        assert len(pids) == 2 and app.pid not in pids  # uvicorn's supervisor does not serve
        answered = serving_pids(app.base_url, 40)  # a new connection per request
        assert answered == {str(pid) for pid in pids}
        reading = watch_memory(app.pids, interval_s=0.01).stop()
        each = sum(psutil.Process(pid).memory_info().rss for pid in pids) / 1024 / 1024
        assert reading.end_mb == pytest.approx(each, rel=0.05)
        assert reading.end_mb > 1.5 * psutil.Process(pids[0]).memory_info().rss / 1024 / 1024
        supervisor = app.pid
    assert not psutil.pid_exists(supervisor) or psutil.Process(supervisor).status() == "zombie"
    assert not any(psutil.pid_exists(pid) for pid in pids)
