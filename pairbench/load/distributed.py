"""Closed-loop load from Locust's own distributed mode: a master and its workers.

One generator process can only send what one CPU core can: past that it measures
itself. `pairbench run --workers N` makes the long-lived generator (pairbench.load.generator)
a Locust MasterRunner for the whole run, and N local processes (pairbench.load.worker)
Locust WorkerRunners; workers on other hosts join the same master. Locust spawns and
stops the users on the workers; pairbench adds four messages on Locust's own channel:

    workers -> master  READY_MESSAGE    {}: this worker has its handlers of the others
    master -> workers  SEGMENT_MESSAGE  {technique, target, request, answers}: the users to
                                        run next (what they send beyond a GET, for
                                        `pairbench ab`), and whether to sample their answers
    workers -> master  SAMPLES_MESSAGE  {rows}: raw sample rows, every SHIP_INTERVAL_S
    master -> workers  END_MESSAGE      {stop_timeout}: let the users finish, then report

A worker's last rows ride on its Locust stats report (the `report_to_master` event) under
REPORT_KEY, with the answers it sampled for the equivalence check (its own 10th, 100th,
... answer: pairbench.load.answer_sample), how many requests it sent and its peak CPU: the
master checks that every request a worker counted reached the samples file, and the run
watches the busiest worker's CPU as it watches the lone generator's.

The segment's end is the master's, not Locust's `stop`: a Locust worker told to stop sleeps
its whole stop timeout before it is ready again, which would add 30 s to every segment. So
the workers stop their own users gracefully (requests in flight are answered, not cut off),
report, and only then does the master stop, with nothing left to wait for.
"""

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import User
from locust.env import Environment
from locust.event import Events
from locust.rpc.protocol import Message

from pairbench.profiles import LOAD_WORKERS_WAIT_S

# A Locust worker says it is ready as it connects, before its own handlers are registered: a
# segment sent then would be dropped ("Unknown message type") and its users fail to spawn.
READY_MESSAGE = "pairbench_ready"
SEGMENT_MESSAGE = "pairbench_segment"
SAMPLES_MESSAGE = "pairbench_samples"
END_MESSAGE = "pairbench_end"
REPORT_KEY = "pairbench"
SHIP_INTERVAL_S = 0.1  # how often a worker sends its rows: the master's warm-up watch needs them
POLL_S = 0.01


class DistributedError(Exception):
    """Workers did not connect, or a worker's samples did not all arrive."""


Rows = list[list[Any]]
Answers = list[dict[str, Any]]  # records made by pairbench.load.answer_sample.answer_record


@dataclass
class MasterSegment:
    """What the master gathers for one segment: rows as they come, and each worker's tally."""

    write: Callable[[Rows], None]  # to the segment's samples file
    on_rows: Callable[[Rows], None]  # e.g. the warm-up watch
    workers: set[str]
    on_answers: Callable[[Answers], None] | None = None  # None: answers are not sampled
    received: dict[str, int] = field(default_factory=dict)  # worker id -> rows received
    finals: dict[str, dict[str, Any]] = field(default_factory=dict)  # worker id -> tally

    def add(self, worker: str, rows: Rows) -> None:
        if rows:
            self.write(rows)
            self.on_rows(rows)
            self.received[worker] = self.received.get(worker, 0) + len(rows)


class Master:
    """The generator's Locust master: waits for its workers, then runs segments on them."""

    def __init__(self, bind_host: str, bind_port: int, expected_workers: int) -> None:
        self.expected_workers = expected_workers
        self.environment = Environment(user_classes=[], events=Events())  # type: ignore[no-untyped-call]
        self.environment.stop_timeout = 0.0  # see the module docstring: workers drain first
        self.runner = self.environment.create_master_runner(bind_host, bind_port)
        self.segment: MasterSegment | None = None
        self.prepared: set[str] = set()  # workers that sent READY_MESSAGE
        self.runner.register_message(READY_MESSAGE, self._on_ready)
        self.runner.register_message(SAMPLES_MESSAGE, self._on_samples)
        self.environment.events.worker_report.add_listener(self._on_report)  # type: ignore[no-untyped-call]

    def _on_ready(self, environment: Environment, msg: Message, **_: Any) -> None:
        self.prepared.add(msg.node_id)

    def _on_samples(self, environment: Environment, msg: Message, **_: Any) -> None:
        if self.segment is not None and msg.node_id in self.segment.workers:
            self.segment.add(msg.node_id, msg.data["rows"])

    def _on_report(self, client_id: str, data: dict[str, Any]) -> None:
        report = data.get(REPORT_KEY)
        if report is None or self.segment is None or client_id not in self.segment.workers:
            return
        self.segment.add(client_id, report["rows"])
        if report.get("answers") and self.segment.on_answers is not None:
            self.segment.on_answers(report["answers"])
        if report.get("final") is not None:
            self.segment.finals[client_id] = report["final"]

    def wait_for_workers(self, timeout_s: float = LOAD_WORKERS_WAIT_S) -> list[str]:
        """The ids of the connected, idle workers that have their handlers, once all expected
        ones are."""
        deadline = time.monotonic() + timeout_s
        while len(ready := self._ready_workers()) < self.expected_workers:
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"{len(ready)} of {self.expected_workers} load workers connected to the "
                    f"Locust master on port {self.runner.master_bind_port} within "
                    f"{timeout_s:.0f} s"
                )
            gevent.sleep(POLL_S)
        return ready

    def _ready_workers(self) -> list[str]:
        return [worker.id for worker in self.runner.clients.ready if worker.id in self.prepared]

    def start(
        self,
        user_classes: list[type[User]],
        technique: str,
        target: str,
        users: int,
        write: Callable[[Rows], None],
        on_rows: Callable[[Rows], None],
        on_answers: Callable[[Answers], None] | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> int:
        """Start `users` users of `user_classes`, spread over the workers; how many workers.
        Their rows go to `write` and `on_rows`, their sampled answers (if wanted) to
        `on_answers`; `request` is what each user sends when it is more than a GET (a pair
        of `pairbench ab`)."""
        workers = self.wait_for_workers()
        self.segment = MasterSegment(write, on_rows, set(workers), on_answers)
        self.environment.user_classes[:] = user_classes
        segment = {
            "technique": technique,
            "target": target,
            "request": request,
            "answers": on_answers is not None,
        }
        self.runner.send_message(SEGMENT_MESSAGE, segment)
        self.runner.start(users, spawn_rate=users)  # all at once: no ramp to wait for
        return len(workers)

    def end(self, stop_timeout_s: float) -> dict[str, Any]:
        """Let the users finish the requests in hand, gather every worker's last rows, stop.

        Returns the workers' tallies summed: requests and the busiest worker's CPU."""
        segment = self.segment
        assert segment is not None
        self.runner.send_message(END_MESSAGE, {"stop_timeout": stop_timeout_s})
        deadline = time.monotonic() + stop_timeout_s + LOAD_WORKERS_WAIT_S
        while set(segment.finals) != segment.workers:
            if time.monotonic() > deadline:
                missing = len(segment.workers) - len(segment.finals)
                raise DistributedError(f"{missing} load worker(s) never reported the segment's end")
            gevent.sleep(POLL_S)
        self.runner.stop()
        self.segment = None
        for worker, final in segment.finals.items():
            if final["requests"] != segment.received.get(worker, 0):
                raise DistributedError(
                    f"load worker {worker} sent {final['requests']} requests but "
                    f"{segment.received.get(worker, 0)} samples arrived"
                )
        return {
            "requests": sum(final["requests"] for final in segment.finals.values()),
            "workers_cpu_max": max(final["cpu_max"] for final in segment.finals.values()),
        }

    def quit(self) -> None:
        """Tell the workers to exit (Locust's own `quit`) and stop listening."""
        self.runner.quit()
        self.runner.server.close(linger=0)  # type: ignore[no-untyped-call]


def quit_now() -> None:
    """Exit at once: finalizing gevent, zmq and every imported module takes seconds on a busy
    machine, and nothing is left to write."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
