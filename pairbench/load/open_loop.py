"""Open-loop load: requests sent at a fixed arrival rate, timed from when they were due.

A closed-loop client (Locust's users) sends its next request only after the last one
answered, so when the server stalls it simply stops asking, and the requests that real
users would have sent during the stall are never measured: coordinated omission. Here
request i is due at start + i / rate whatever happened before; its latency counts from
that due time, so waiting for a free connection is part of it. A send more than
`max_lag_s` behind schedule is dropped and counted, which bounds the run in time and
in memory when the app cannot keep up. Like the closed loop, it keeps a few answers with
their bodies for the equivalence check (pairbench.load.answer_sample).

Run as a subprocess (`python -m pairbench.load.open_loop ...`), like Locust, so its CPU is
watched apart from the harness; gevent and geventhttpclient make it cheap per request.
"""

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

import gevent
import gevent.lock
import gevent.pool
from geventhttpclient import HTTPClient

from bench_app.metering import COST_FIELDS, COST_HEADER, parse_cost_header
from bench_app.streamed_costs import WHOLE_COST_HEADER
from pairbench.load.answer_sample import (
    SAMPLED_HEADERS,
    AnswerSampler,
    kept_answer,
    write_answers,
)

RAW_COLUMNS = [
    "t_start",
    "latency_ms",
    "status",
    "bytes",
    *COST_FIELDS,
    "error",
    "send_lag_ms",
    "dropped",
]
MAX_IN_FLIGHT = 64  # connections; far more than a loopback app needs below its capacity
MAX_LAG_S = 1.0
TIMEOUT_S = 10.0
START_DELAY_S = 0.05  # lets the first greenlets spawn before their due time


@dataclass(frozen=True)
class Schedule:
    """What to send: `rate` requests per second to `path`, for `seconds`."""

    base_url: str
    path: str
    rate: float
    seconds: float
    max_in_flight: int = MAX_IN_FLIGHT
    max_lag_s: float = MAX_LAG_S
    timeout_s: float = TIMEOUT_S

    @property
    def requests(self) -> int:
        return max(1, int(self.rate * self.seconds))


@dataclass
class OpenLoopOutcome:
    """How the schedule went: sends made, late by more than nothing, dropped."""

    scheduled: int = 0
    sent: int = 0
    dropped: int = 0


class _Recorder:
    """Writes one raw row per scheduled send (epoch seconds for times, like Locust)."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(RAW_COLUMNS)
        self._epoch_offset = time.time() - time.perf_counter()

    def epoch(self, perf_seconds: float) -> str:
        return f"{perf_seconds + self._epoch_offset:.6f}"

    def sent(
        self,
        due: float,
        sent: float,
        done: float,
        status: int,
        size: int,
        costs: list[str],
        error: str,
    ) -> None:
        latency_ms, lag_ms = (done - due) * 1000.0, (sent - due) * 1000.0
        self._writer.writerow(
            [self.epoch(due), f"{latency_ms:.4f}", status, size, *costs, error, f"{lag_ms:.4f}", 0]
        )

    def dropped(self, due: float) -> None:
        self._writer.writerow(
            [self.epoch(due), "", 0, 0, *([""] * len(COST_FIELDS)), "dropped", "", 1]
        )


def whole_cost(client: HTTPClient, path: str) -> str | None:
    """A streamed response's whole costs, read after its body; None if the app has none."""
    try:
        answer = client.get(path)
        cost: str | None = json.loads(answer.read())["cost"] if answer.status_code == 200 else None
    except Exception:  # unknown costs, never a failed request: the request itself answered
        return None
    return cost


def run_schedule(
    schedule: Schedule, handle: IO[str], answers: AnswerSampler | None = None
) -> OpenLoopOutcome:
    """Send `schedule`, writing every send's raw row to `handle` and offering every answer
    to `answers`; returns the counts."""
    url = urlsplit(schedule.base_url)
    client = HTTPClient(
        url.hostname or "127.0.0.1",
        url.port,
        concurrency=schedule.max_in_flight,
        connection_timeout=schedule.timeout_s,
        network_timeout=schedule.timeout_s,
    )
    slots = gevent.lock.BoundedSemaphore(schedule.max_in_flight)
    recorder, outcome = _Recorder(handle), OpenLoopOutcome()

    def send(due: float) -> None:
        if not slots.acquire(timeout=max(due + schedule.max_lag_s - time.perf_counter(), 0.0)):
            outcome.dropped += 1
            recorder.dropped(due)
            return
        status, size, costs, error = 0, 0, [""] * len(COST_FIELDS), ""
        sent, done = time.perf_counter(), None
        try:
            response = client.get(schedule.path)
            body = response.read()
            done = time.perf_counter()
            status, size = response.status_code, len(body)
            if answers is not None and answers.due():
                headers = {name: response.get(name) for name in SAMPLED_HEADERS}
                answers.keep(kept_answer(schedule.path, status, headers, body))
            header = response.get(COST_HEADER)  # a list only if sent more than once
            whole_cost_path = response.get(WHOLE_COST_HEADER)
            if isinstance(whole_cost_path, str):  # streamed: its whole costs come after its body
                header = whole_cost(client, whole_cost_path)
            costs = list(parse_cost_header(header if isinstance(header, str) else None).values())
        except Exception as failure:  # any failure to get an answer is a failed request
            error = f"{type(failure).__name__}: {failure}"[:200]
        finally:
            slots.release()
        outcome.sent += 1
        recorder.sent(due, sent, done or time.perf_counter(), status, size, costs, error)

    group = gevent.pool.Group()
    start = time.perf_counter() + START_DELAY_S
    for index in range(schedule.requests):
        due = start + index / schedule.rate
        delay = due - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        group.spawn(send, due)
        outcome.scheduled += 1
    group.join(timeout=schedule.max_lag_s + schedule.timeout_s + 1.0)
    group.kill()
    client.close()
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pairbench.load.open_loop", description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--path", required=True, help="path and query to request")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True, help="CSV file for the raw samples")
    parser.add_argument("--max-in-flight", type=int, default=MAX_IN_FLIGHT)
    parser.add_argument("--max-lag", type=float, default=MAX_LAG_S, help="seconds; then dropped")
    parser.add_argument("--answers", help="JSON-lines file for a few sampled answers")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    schedule = Schedule(
        args.base_url, args.path, args.rate, args.seconds, args.max_in_flight, args.max_lag
    )
    answers = AnswerSampler() if args.answers else None
    with open(args.out, "w", newline="") as handle:
        outcome = run_schedule(schedule, handle, answers)
    if answers is not None:
        write_answers(args.answers, answers.take())
    print(f"scheduled {outcome.scheduled}, sent {outcome.sent}, dropped {outcome.dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
