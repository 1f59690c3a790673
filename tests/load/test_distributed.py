"""Locust's distributed mode: the generator as master, workers shipping every sample back.

One worker is the harness's own (--workers); the other is started the way a user starts one
on another host, by its documented command line against the master's bind address.
"""

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import psutil
import pytest

from pairbench.env.server import free_port
from pairbench.load.segment import LoadError, LoadWorkers, running_generator
from pairbench.topology import Topology
from tests.load.test_generator import server  # noqa: F401 - the fixture

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote_worker_port(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A worker started by hand, as on another host, for a master on a fixed port."""
    port = free_port()
    command = [sys.executable, "-m", "pairbench.load.worker", "--master", f"127.0.0.1:{port}"]
    with open(tmp_path / "remote.log", "wb") as log:
        worker = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=log)
    try:
        yield port, worker
    finally:
        worker.kill()
        worker.wait()


@pytest.mark.slow
def test_every_workers_samples_reach_the_segment_and_add_up(
    server: str,  # noqa: F811 - the fixture
    tmp_path: Path,
    remote_worker_port: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, remote = remote_worker_port
    workers = LoadWorkers(local=1, remote=1, bind="127.0.0.1", port=port)
    with running_generator(server, tmp_path / "generator.log", workers) as generator:
        local_pids = [process.pid for process in generator.worker_processes]
        segments = [
            generator.closed("", "/ok", 4, (0.1, 0.5), 0.5, tmp_path / f"closed{index}.csv")
            for index in range(2)
        ]
        opened = generator.open("/ok", 40.0, 0.2, 0.5, tmp_path / "open.csv")
    for index, segment in enumerate(segments):
        assert segment.load_workers == 2
        samples = pd.read_csv(tmp_path / f"closed{index}.csv")
        per_worker = samples["worker"].value_counts()
        # Both workers sent load; the master checked each one's count against the rows it
        # received (a lost sample fails the segment), so these add up to what was sent.
        assert len(per_worker) == 2 and (per_worker > 0).all()
        assert per_worker.sum() == len(samples)
        assert (samples["status"] == 200).all() and (samples["queries"] == 1).all()
        measured = samples[samples["t_start"] >= segment.measure_start]
        assert 0 < len(measured) < len(samples)  # warm-up came first
        assert segment.generator_cpu_max > 0  # the workers' CPU reached the harness
    # Open loop stays with the master: its schedule is one process's.
    assert opened.load_workers == 0 and len(pd.read_csv(tmp_path / "open.csv")) > 0
    # The master's quit lets every worker go, the hand-started one too.
    assert remote.wait(timeout=30) == 0
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        for pid in local_pids
    )


class PostOnly(BaseHTTPRequestHandler):
    """Answers 200 only to the request a pair of `pairbench ab` sends: POST, its header and
    body; 405 to a plain GET."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.headers.get("x-pair") == "yes" and body == b'{"n": 3}'
        self._answer(200 if ok else 400)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(405)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.slow
def test_workers_send_the_segments_own_request(tmp_path: Path) -> None:
    """A pair's method, headers and body reach the Locust workers' users, not a plain GET."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PostOnly)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    request = {"method": "POST", "headers": {"x-pair": "yes"}, "body": '{"n": 3}'}
    try:
        with running_generator(base_url, tmp_path / "gen.log", LoadWorkers(local=1)) as generator:
            segment = generator.closed(
                "", "/pair", 2, (0.1, 0.3), 0.3, tmp_path / "closed.csv", request=request
            )
    finally:
        httpd.shutdown()
        httpd.server_close()
    samples = pd.read_csv(tmp_path / "closed.csv")
    assert segment.load_workers == 1 and len(samples) > 0
    assert (samples["status"] == 200).all(), samples["status"].value_counts()


def test_load_goes_off_loopback_only_to_a_host_named_as_ones_own() -> None:
    Topology().check()
    with pytest.raises(LoadError, match="only loopback.*--own-target 10.0.0.5"):
        Topology(app_host="10.0.0.5").check()
    with pytest.raises(LoadError, match="only loopback"):
        Topology(app_host="10.0.0.5", own_target="10.0.0.6").check()
    Topology(app_host="10.0.0.5", own_target="10.0.0.5").check()  # declared: allowed
    remote = LoadWorkers(remote=2, bind="0.0.0.0", port=5557)
    with pytest.raises(LoadError, match="--app-host HOST --own-target HOST"):
        Topology(remote).check()  # they could not reach an app on loopback
    with pytest.raises(LoadError, match="--master-bind"):
        Topology(LoadWorkers(remote=1), app_host="10.0.0.5", own_target="10.0.0.5").check()


def test_a_master_its_workers_cannot_reach_is_refused_naming_the_fix() -> None:
    # 192.0.2.10 (TEST-NET-1) is no address of this machine: nothing here could reach it
    off_machine = LoadWorkers(local=1, bind="192.0.2.10", port=5557)
    with pytest.raises(LoadError, match="not an address of this machine.*0.0.0.0"):
        Topology(off_machine).check()
    Topology(LoadWorkers(local=1, bind="0.0.0.0", port=5557)).check()


def test_local_workers_join_the_master_where_it_listens() -> None:
    assert LoadWorkers(local=1, bind="10.0.0.5").local_master(5557) == "10.0.0.5:5557"
    assert LoadWorkers(local=1, bind="0.0.0.0").local_master(5557) == "127.0.0.1:5557"
    assert LoadWorkers(local=1, bind="::1").local_master(5557) == "[::1]:5557"
