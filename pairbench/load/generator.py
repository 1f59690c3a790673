"""The load generator: one long-lived process per run, told what to load next.

Starting Locust costs seconds (imports, gevent's patching, spawning users); paid once
per segment it was a sizeable share of short segments. This process pays it once and
then runs segment after segment: the harness (pairbench.load.segment) writes one JSON
command a line on stdin and reads one JSON reply a line back. Each command names the app
it loads (its base_url): most segments go to the run's shared app, some to an app
process of their own (pairbench.load.segment_apps). Closed loop drives
Locust as a library (an Environment and a local runner per segment, with the same user
classes as scenarios/locustfile.py); open loop runs pairbench.load.open_loop's schedule.

A closed-loop segment's warm-up lasts until latency settles (pairbench.load.settle), at
least `warmup_min` and at most `warmup_max` seconds; the reply says when measuring began,
and the samples before that are warm-up.
"""

import locust  # noqa: F401, I001 - first: it monkey-patches the process for gevent

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import IO, Any

import gevent
from locust import User
from gevent.fileobject import FileObjectThread
from locust.env import Environment
from locust.event import Events
from locust.runners import LocalRunner

from bench_app.frozen_heap import startup_heap_frozen
from bench_app.target import Target
from pairbench.env.server import LOOPBACK
from pairbench.load.answer_sample import AnswerSampler, write_answers
from pairbench.load.distributed import Master, quit_now
from pairbench.load.open_loop import Schedule, run_schedule
from pairbench.load.settle import SettleWatch
from pairbench.profiles import LOCUST_MASTER_PORT
from pairbench.results import TARGET_NAME
from scenarios.samples import SampleRecorder
from scenarios.users import users_for

STOP_TIMEOUT_S = 30.0  # at a segment's end, how long in-flight requests may take to answer


def closed_segment(command: dict[str, Any], master: Master | None = None) -> dict[str, Any]:
    """N users back to back: warm-up until settled, then `seconds` measured (longer, up to
    `max_seconds`, until `min_requests` of the variant's own succeeded; the reply's
    `short_of_minimum` says so when they did not). Measuring ends gracefully: a request
    sent in the window is waited for (up to STOP_TIMEOUT_S), not cut off, since cutting
    off the slowest requests would flatter the variant. With a Locust `master` the users
    run on its workers, which ship their samples here."""
    users, base_url = int(command["users"]), command["base_url"]
    target = Target.from_json(command["target"])
    # The variant's own requests are named TARGET_NAME; a mixed workload names its others.
    users_classes: list[type[User]] = [
        *users_for(command["technique"], TARGET_NAME, target, command.get("request"))
    ]
    recorder = SampleRecorder(command["samples"])
    watch = SettleWatch(float(command["warmup_max"]))
    listeners: list[Callable[..., None]] = [recorder.on_request, watch.on_request]
    # A few answers for the equivalence check: sampled here, or by each Locust worker.
    answers = AnswerSampler(TARGET_NAME) if command.get("answers") else None
    if answers is not None and master is None:
        listeners.append(answers.on_request)
    runner, workers, tally = None, 0, {}
    try:
        if master is None:
            runner = local_runner(base_url, users_classes, listeners)
            runner.start(users, spawn_rate=users * 100)  # all at once: no ramp to wait for
        else:
            master.environment.host = base_url
            workers = master.start(
                users_classes,
                command["technique"],
                target,
                users,
                recorder.write,
                watch.on_rows,
                answers.add if answers is not None else None,
                command.get("request"),
            )
        measure_start = watch.wait(float(command["warmup_min"]), float(command["warmup_max"]))
        min_requests, max_seconds = int(command["min_requests"]), float(command["max_seconds"])
        measure_end = watch.measure(float(command["seconds"]), min_requests, max_seconds)
        if runner is not None:
            runner.stop()  # users finish the request in hand, then stop
        if master is not None:
            tally = master.end(STOP_TIMEOUT_S)  # the workers' users likewise
    finally:
        if runner is not None:
            runner.quit()
        recorder.close()
        if answers is not None:
            write_answers(command["answers"], answers.take())
    return {
        "started": watch.started,
        "measure_start": measure_start,
        "measure_end": measure_end,
        "ended": time.time(),
        "load_workers": workers,
        "short_of_minimum": watch.short_of(min_requests, max_seconds),  # the last answers in
        **tally,
    }


def local_runner(
    base_url: str, users_classes: list[type[User]], listeners: Sequence[Callable[..., None]]
) -> LocalRunner:
    """A Locust runner in this process, its requests reported to `listeners`."""
    events = Events()  # type: ignore[no-untyped-call]
    environment = Environment(
        user_classes=users_classes, host=base_url, events=events, stop_timeout=STOP_TIMEOUT_S
    )
    for listener in listeners:
        events.request.add_listener(listener)  # type: ignore[no-untyped-call]
    return environment.create_local_runner()


def open_segment(command: dict[str, Any]) -> dict[str, Any]:
    """A fixed arrival rate for warm-up + `seconds`, timed from the due times; a few answers
    sampled for the equivalence check, as in closed loop."""
    warmup, seconds = float(command["warmup_max"]), float(command["seconds"])
    schedule = Schedule(
        command["base_url"],
        Target.from_json(command["target"]).url,
        float(command["rate"]),
        warmup + seconds,
    )
    started = time.time()
    answers = AnswerSampler() if command.get("answers") else None
    with open(command["samples"], "w", newline="") as handle:
        outcome = run_schedule(schedule, handle, answers)
    if answers is not None:
        write_answers(command["answers"], answers.take())
    return {
        "started": started,
        "measure_start": started + warmup,
        "measure_end": started + warmup + seconds,
        "ended": time.time(),
        "dropped": outcome.dropped,
    }


def serve(commands: IO[str], replies: IO[str], master: Master | None = None) -> None:
    """Answer commands until "quit" or end of input; a failed segment is an error reply.
    Each segment names the app it loads. Closed-loop segments run on the `master`'s Locust
    workers if there is one; open-loop ones always run here (their schedule is one
    process's)."""

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    reply({"ok": True, "ready": True, "pid": os.getpid()})
    for line in commands:
        command = json.loads(line)
        if command.get("op") == "quit":
            break
        gevent.get_hub().loop.update_now()  # the loop's clock stood still while we read
        try:
            if command["op"] == "workers" and master is not None:
                reply({"ok": True, "workers": len(master.wait_for_workers())})
            elif command["op"] == "closed":
                reply({"ok": True, **closed_segment(command, master)})
            else:
                reply({"ok": True, **open_segment(command)})
        except Exception as error:  # reported to the harness, which decides what it means
            traceback.print_exc()
            reply({"ok": False, "error": f"{type(error).__name__}: {error}"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pairbench.load.generator", description=__doc__)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run closed-loop users on this many Locust workers (this process their master)",
    )
    parser.add_argument("--master-bind", default=LOOPBACK, help="where workers connect")
    parser.add_argument("--master-port", type=int, default=LOCUST_MASTER_PORT)
    args = parser.parse_args(argv)
    # Replies get a private copy of stdout; anything else printed goes to stderr (the log).
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    # Read commands in a thread: the master's heartbeats must go on while the harness thinks.
    commands = FileObjectThread(sys.stdin)
    # Bound before the ready reply: the harness starts its local workers after it.
    master = Master(args.master_bind, args.master_port, args.workers) if args.workers else None
    try:
        with startup_heap_frozen():
            serve(commands, replies, master)
    finally:
        if master is not None:
            master.quit()
            quit_now()  # its workers' zmq sockets would hold up the exit for seconds
    return 0


if __name__ == "__main__":
    sys.exit(main())
