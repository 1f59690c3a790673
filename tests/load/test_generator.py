"""The long-lived load generator: one process, segment after segment, on a real server."""

import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import psutil
import pytest

from bench_app.metering import COST_HEADER
from bench_app.target import Target
from pairbench.env.server import free_port
from pairbench.load.segment import LoadError, running_generator

OK = Target("/ok")  # what OkHandler answers


class OkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(COST_HEADER, "queries=1 app_ms=0.100")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the generator stopped its users mid-request: expected at a segment's end

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OkHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_one_process_runs_closed_and_open_segments_in_turn(server: str, tmp_path: Path) -> None:
    with running_generator(server, tmp_path / "generator.log") as generator:
        pid = generator.process.pid
        closed = [
            generator.closed("", OK, 2, (0.1, 0.5), 0.5, tmp_path / f"closed{index}.csv")
            for index in range(2)
        ]
        opened = generator.open(OK, 40.0, 0.2, 0.5, tmp_path / "open.csv")
        assert generator.process.pid == pid and generator.process.poll() is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    for index, segment in enumerate(closed):
        assert segment.started <= segment.measure_start <= segment.ended
        samples = pd.read_csv(tmp_path / f"closed{index}.csv")
        assert (samples["status"] == 200).all() and (samples["queries"] == 1).all()
        measured = samples[samples["t_start"] >= segment.measure_start]
        assert len(measured) > 0 and len(measured) < len(samples)  # warm-up came first
    # Open loop: warm-up + measured seconds at 40 requests per second, each one recorded.
    sent = pd.read_csv(tmp_path / "open.csv")
    assert len(sent) == int(40.0 * 0.7) and (sent["status"] == 200).all()
    assert opened.measure_start == pytest.approx(opened.started + 0.2, abs=0.1)


def test_a_segment_given_its_own_app_loads_that_one(server: str, tmp_path: Path) -> None:
    nothing_there = f"http://127.0.0.1:{free_port()}"  # the run's app, here: none listening
    with running_generator(nothing_there, tmp_path / "generator.log") as generator:
        generator.closed("", OK, 2, (0.1, 0.2), 0.3, tmp_path / "closed.csv", base_url=server)
        generator.open(OK, 20.0, 0.1, 0.3, tmp_path / "open.csv", base_url=server)
        with pytest.raises(LoadError, match="only loopback"):
            generator.open(OK, 20.0, 0.1, 0.3, tmp_path / "x.csv", "http://192.0.2.1:80")
    for name in ("closed.csv", "open.csv"):
        samples = pd.read_csv(tmp_path / name)
        assert len(samples) > 0 and (samples["status"] == 200).all(), name


def test_a_generator_that_died_is_an_error_naming_its_log(server: str, tmp_path: Path) -> None:
    log_path = tmp_path / "generator.log"
    with running_generator(server, log_path) as generator:
        os.kill(generator.process.pid, signal.SIGKILL)
        generator.process.wait()
        with pytest.raises(LoadError, match="generator.log"):
            generator.closed("", OK, 1, (0.1, 0.2), 0.2, tmp_path / "samples.csv")


def test_load_only_goes_to_loopback(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="only loopback"):
        with running_generator("http://192.0.2.1:80", tmp_path / "generator.log"):
            pass
