"""The target app as a subprocess: started, restarted fresh on the same port, stopped."""

from pathlib import Path

import httpx
import psutil
import pytest

from pairbench.env.server import AppServer, ServerError, app_environment, serving_app
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
