"""A Locust worker for pairbench's distributed load; on this host or another.

    python -m pairbench.load.worker --master HOST[:PORT]

It connects to the run's master (the generator of `pairbench run --workers N`, or of one
with --remote-workers M and --master-bind on another host), runs the users the master
spawns, and ships each request's raw sample row back on Locust's own channel, with a few
answers for the equivalence check (see pairbench.load.distributed). It needs the same
checkout as the master (the user classes are scenarios/'s) and exits when the master quits.
"""

import locust  # noqa: F401, I001 - first: it monkey-patches the process for gevent

import argparse
import importlib
import os
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

import gevent
import psutil
from locust.env import Environment
from locust.event import Events
from locust.rpc.protocol import Message
from locust.runners import WorkerRunner

from bench_app.frozen_heap import startup_heap_frozen
from bench_app.parent_watch import exit_with_parent
from bench_app.target import Target
from bench_app.techniques import all_techniques
from pairbench.load.answer_sample import AnswerSampler
from pairbench.load.distributed import (
    END_MESSAGE,
    READY_MESSAGE,
    REPORT_KEY,
    SAMPLES_MESSAGE,
    SEGMENT_MESSAGE,
    SHIP_INTERVAL_S,
    quit_now,
)
from pairbench.profiles import LOCUST_MASTER_PORT
from pairbench.results import TARGET_NAME
from scenarios.samples import sample_row
from scenarios.users import users_for

CPU_POLL_S = 0.5
MASTER_WAIT_S = 300.0  # as long as Locust's worker itself would retry
MASTER_POLL_S = 0.1


class WorkerSegment:
    """This worker's share of the master's current segment: rows not yet shipped, answers
    sampled (if the master wants them), and the tally its end reports (requests sent, peak
    CPU as percent of one core)."""

    def __init__(self, worker: str, process: psutil.Process, sample_answers: bool) -> None:
        self.worker, self.process = worker, process
        self.rows: list[list[Any]] = []
        self.answers = AnswerSampler(TARGET_NAME) if sample_answers else None
        self.requests = 0
        self.cpu_max = 0.0
        self.ended = False
        process.cpu_percent(interval=None)  # starts the measuring interval

    def on_request(self, **event: Any) -> None:
        """Locust's `request` event: one raw sample row, shipped with the next batch."""
        self.rows.append(sample_row(event, self.worker))
        self.requests += 1
        if self.answers is not None:
            self.answers.on_request(**event)

    def take_rows(self) -> list[list[Any]]:
        rows, self.rows = self.rows, []
        return rows

    def watch_cpu(self) -> None:
        self.cpu_max = max(self.cpu_max, self.process.cpu_percent(interval=None))


class Worker:
    """One Locust WorkerRunner for the process's life, segment after segment."""

    def __init__(self, master_host: str, master_port: int) -> None:
        self.environment = Environment(user_classes=[], events=Events())  # type: ignore[no-untyped-call]
        self.process = psutil.Process()
        self.segment: WorkerSegment | None = None
        events = self.environment.events
        events.request.add_listener(self._on_request)  # type: ignore[no-untyped-call]
        events.report_to_master.add_listener(self._on_report)  # type: ignore[no-untyped-call]
        self.runner: WorkerRunner = self.environment.create_worker_runner(master_host, master_port)
        self.name = f"{socket.gethostname()}/{self.runner.worker_index}"
        self.runner.register_message(SEGMENT_MESSAGE, self._on_segment)
        self.runner.register_message(END_MESSAGE, self._on_end, concurrent=True)
        self.runner.send_message(READY_MESSAGE, {})  # now a segment can be sent
        self.runner.greenlet.spawn(self._ship)

    def _on_request(self, **request: Any) -> None:
        if self.segment is not None:
            self.segment.on_request(**request)

    def _on_segment(self, environment: Environment, msg: Message, **_: Any) -> None:
        """The users to run next; they spawn on Locust's own `spawn` message, after this one."""
        data = msg.data
        environment.user_classes[:] = users_for(
            data["technique"], TARGET_NAME, Target.from_json(data["target"]), data.get("request")
        )
        self.segment = WorkerSegment(self.name, self.process, bool(data.get("answers")))

    def _on_end(self, environment: Environment, msg: Message, **_: Any) -> None:
        """Stop the users gracefully (requests in flight are answered), then report at once."""
        segment = self.segment
        environment.stop_timeout = float(msg.data["stop_timeout"])
        self.runner.stop()
        environment.stop_timeout = 0.0  # Locust's `stop` that follows has nothing to wait for
        if segment is not None:
            segment.watch_cpu()
            segment.ended = True
        # Locust's stats report, sent now rather than within its 3 s: it carries the last rows
        # (_on_report) and tells the master that no user is left.
        self.runner._send_stats()

    def _on_report(self, client_id: str, data: dict[str, Any]) -> None:
        segment = self.segment
        if segment is None:
            return
        report: dict[str, Any] = {"rows": segment.take_rows(), "final": None}
        if segment.answers is not None:
            report["answers"] = segment.answers.take()
        if segment.ended:
            report["final"] = {"requests": segment.requests, "cpu_max": segment.cpu_max}
            self.segment = None
        data[REPORT_KEY] = report

    def _ship(self) -> None:
        """Send the rows gathered so far every SHIP_INTERVAL_S; watch this process's CPU."""
        since_cpu = 0.0
        while True:
            gevent.sleep(SHIP_INTERVAL_S)
            segment = self.segment
            if segment is None or segment.ended:
                continue
            since_cpu += SHIP_INTERVAL_S
            if since_cpu >= CPU_POLL_S:
                segment.watch_cpu()
                since_cpu = 0.0
            rows = segment.take_rows()
            if rows:
                self.runner.send_message(SAMPLES_MESSAGE, {"rows": rows})


def wait_for_master(host: str, port: int, timeout_s: float = MASTER_WAIT_S) -> None:
    """Until the master listens: a message Locust's worker sends before that is retried only
    after 1, 3 and 5 s, so a worker started with its master would join 9 s late."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1.0).close()
            return
        except OSError:
            gevent.sleep(MASTER_POLL_S)


def parse_master(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host:
        return address, LOCUST_MASTER_PORT
    return host.strip("[]"), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pairbench.load.worker", description=__doc__)
    parser.add_argument(
        "--master",
        required=True,
        metavar="HOST[:PORT]",
        help=f"the run's Locust master (port {LOCUST_MASTER_PORT} unless given)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the process that started this one does (the harness's local workers)",
    )
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        exit_with_parent()
    host, port = parse_master(args.master)
    for technique in all_techniques().values():  # imported now, not in a segment's first second
        if technique.scenario is not None:
            importlib.import_module(technique.scenario)
    wait_for_master(host, port)
    worker = Worker(host, port)
    print(f"load worker {worker.name} (pid {os.getpid()}) joined {host}:{port}", file=sys.stderr)
    with startup_heap_frozen():
        worker.runner.greenlet.join()  # until the master says quit
    worker.runner.client.close(linger=0)  # type: ignore[no-untyped-call]
    quit_now()
    return 0


if __name__ == "__main__":
    sys.exit(main())
