"""The target app as a subprocess: started, restarted fresh on the same port, stopped."""

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


@pytest.mark.slow
def test_a_restart_is_a_new_process_answering_at_the_same_url(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    environment = app_environment(service_urls.database_url, service_urls.redis_url, 1.0)
    with serving_app(environment, tmp_path / "server.log", log=lambda message: None) as app:
        before, url = app.pid, app.base_url
        assert httpx.get(f"{url}/health").status_code == 200
        seconds = app.restart()
        assert seconds > 0 and app.pid != before and app.base_url == url
        assert not psutil.pid_exists(before) or psutil.Process(before).status() == "zombie"
        assert httpx.get(f"{url}/health").status_code == 200
        last = app.pid
    assert not psutil.pid_exists(last) or psutil.Process(last).status() == "zombie"


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
