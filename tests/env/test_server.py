"""The target app as a subprocess: started, stopped, and a second one beside the first."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psutil
import pytest

from pairbench.env import server
from pairbench.env.memory import watch_memory
from pairbench.env.server import (
    MAX_LOAD_FACTOR,
    AppServer,
    ServerError,
    app_environment,
    free_port,
    load_factor,
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


@pytest.mark.parametrize(
    ("load", "factor"), [(0.3, 1.0), (2.0, 1.0), (16.0, 8.0), (100.0, MAX_LOAD_FACTOR)]
)
def test_a_start_may_take_longer_by_the_runnable_processes_per_core(
    monkeypatch: pytest.MonkeyPatch, load: float, factor: float
) -> None:
    monkeypatch.setattr(server.os, "sched_getaffinity", lambda pid: {0, 1})  # 2 cores
    monkeypatch.setattr(server.os, "getloadavg", lambda: (load, 0.0, 0.0))
    assert load_factor() == factor


@contextmanager
def sleeping_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that neither exits nor serves anything: an app that never gets ready."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_an_app_that_never_answers_is_reported_with_what_was_awaited(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(server, "START_TIMEOUT_S", 1.0)
    monkeypatch.setattr(server, "load_factor", lambda: 1.2)
    base_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with sleeping_process() as process, pytest.raises(ServerError) as raised:
        server._wait_serving(base_url, process, 2, tmp_path / "server.log")
    message = str(raised.value)
    assert f"did not answer {base_url}/health with 200 from each of its 2 worker" in message
    assert "within 1 s (1 s times 1.2, the machine's runnable processes per core" in message
    assert "0 answered" in message
    assert "the last check got: connection refused (not listening yet)" in message


class SlowHealth(BaseHTTPRequestHandler):
    """/health as a cold app process answers it on a busy machine: after seconds."""

    delay_s = 2.5  # longer than the 2 s each check was once allowed

    def do_GET(self) -> None:
        time.sleep(self.delay_s)
        body = json.dumps({"status": "ok", "process": "1"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_slow_first_health_check_is_waited_for_not_cut_short(tmp_path: Path) -> None:
    slow = ThreadingHTTPServer(("127.0.0.1", 0), SlowHealth)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        with sleeping_process() as process:
            started = time.monotonic()
            server._wait_serving(
                f"http://127.0.0.1:{slow.server_port}", process, 1, tmp_path / "server.log"
            )
        assert time.monotonic() - started >= SlowHealth.delay_s
    finally:
        slow.shutdown()
        slow.server_close()
