"""The open-loop generator against a real loopback server that stalls once.

Known answer: with one connection (what a single closed-loop user has), requests that
fall due during a 400 ms stall wait for it. Timed from their due time they show the
stall; timed from when they were finally sent (what a closed-loop tool reports) they
hide it. Assertions compare the two views of the same requests, never a wall time.
"""

import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from bench_app.metering import COST_HEADER
from pairbench.load.answers_under_load import sampled_answer
from pairbench.load.open_loop import RAW_COLUMNS, Schedule, run_schedule
from pairbench.load.segment import LoadError, require_loopback
from pairbench.stats.summary import percentile

STALL_S = 0.4


class StallingHandler(BaseHTTPRequestHandler):
    """Answers at once, except that the request arriving ~0.5 s in sleeps STALL_S."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms)
    stall_after: float = 0.0
    stalled = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        if time.monotonic() > self.stall_after and not self.stalled.is_set():
            self.stalled.set()
            time.sleep(STALL_S)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(COST_HEADER, "queries=1 app_ms=0.100")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def stalling_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    StallingHandler.stalled.clear()
    StallingHandler.stall_after = time.monotonic() + 0.5
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_latency_from_the_due_time_shows_a_stall_that_send_time_hides(stalling_server: str) -> None:
    schedule = Schedule(stalling_server, "/x", rate=100.0, seconds=1.5, max_in_flight=1)
    output = io.StringIO()
    outcome = run_schedule(schedule, output)
    output.seek(0)
    rows = pd.read_csv(output)

    assert list(rows.columns) == RAW_COLUMNS
    assert outcome.scheduled == len(rows) == 150 and outcome.dropped == 0
    assert StallingHandler.stalled.is_set()
    assert (rows["status"] == 200).all() and (rows["queries"] == 1).all()
    corrected = rows["latency_ms"]
    service = rows["latency_ms"] - rows["send_lag_ms"]  # what a closed-loop tool measures
    # Every request due during the stall waited for it: many are slow from their due time,
    # while from their send time only the one that hit the stall is.
    assert corrected.max() >= STALL_S * 1000
    slow = STALL_S * 1000 / 4
    assert (corrected > slow).sum() >= (service > slow).sum() + 10
    assert percentile(corrected, 95) > 3 * percentile(service, 95)
    assert (rows["send_lag_ms"] > slow).sum() >= 10  # late sends, counted as such


def test_sends_too_far_behind_are_dropped_and_counted(stalling_server: str) -> None:
    schedule = Schedule(
        stalling_server, "/x", rate=100.0, seconds=1.2, max_in_flight=1, max_lag_s=0.1
    )
    output = io.StringIO()
    outcome = run_schedule(schedule, output)
    output.seek(0)
    rows = pd.read_csv(output)
    dropped = rows[rows["dropped"] == 1]
    assert outcome.dropped == len(dropped) > 0
    assert dropped["latency_ms"].isna().all() and (dropped["error"] == "dropped").all()
    assert outcome.sent + outcome.dropped == outcome.scheduled == len(rows)


def test_the_command_line_writes_the_csv(stalling_server: str, tmp_path: Path) -> None:
    out = tmp_path / "raw.csv"
    command = [
        sys.executable,
        "-m",
        "pairbench.load.open_loop",
        "--base-url",
        stalling_server,
        "--path",
        "/x",
        "--rate",
        "50",
        "--seconds",
        "0.4",
        "--out",
        str(out),
    ]
    finished = subprocess.run(
        [*command, "--answers", str(tmp_path / "answers.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert "scheduled 20" in finished.stdout
    assert len(pd.read_csv(out)) == 20
    # Of 20 answers, the 10th is kept with its body, for the equivalence check.
    (kept,) = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert kept["url"] == "/x" and kept["content_type"] == "application/json"
    assert sampled_answer(kept, order_insensitive=False) == {"ok": True}


def test_load_is_for_loopback_only() -> None:
    require_loopback("http://127.0.0.1:8000")
    with pytest.raises(LoadError, match="only loopback"):
        require_loopback("http://example.com")
