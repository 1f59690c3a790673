"""The job worker: a separate process running the queue's jobs (`python -m bench_app.worker`).

Reads the same settings as the app (DATABASE_URL, REDIS_URL, PAIRBENCH_UPSTREAM_URL, ...).
SIGTERM or Ctrl-C stops it after the jobs in hand finish (up to SHUTDOWN_GRACE_S); a job
cut short is retried by the next worker.
"""

import asyncio
from typing import Any

from saq.types import TimersDict

from bench_app import job_queue
from bench_app.db import make_engine, make_sessionmaker
from bench_app.parent_watch import exit_with_parent
from bench_app.prompt_stop import PromptWorker
from bench_app.settings import Settings, get_settings
from bench_app.upstream_client import make_upstream_client

CONCURRENCY = 16  # jobs run at once: each mostly waits on the upstream
# On SIGTERM, jobs in hand get this long to finish (ours take ~0.1 s); one cut short is
# retried later. The idle loops stop at once (bench_app.prompt_stop).
SHUTDOWN_GRACE_S = 1
READY_LINE = "pairbench worker ready"  # printed once it dequeues; the harness waits for it


async def record_item(
    ctx: dict[str, Any], *, job_key: str, item: int, requested_at: float, route: str = ""
) -> None:
    """saq's entry point for the job: the work itself is job_queue.record_item."""
    attempt = int(ctx["job"].attempts)
    await job_queue.record_item(
        ctx["upstream"], ctx["sessions"], job_key, item, requested_at, attempt, route
    )


def make_worker(settings: Settings) -> PromptWorker:
    queue = job_queue.make_queue(settings, for_worker=True)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["engine"] = engine = make_engine(settings)
        ctx["sessions"] = make_sessionmaker(engine)
        ctx["upstream"] = make_upstream_client(settings)
        print(READY_LINE, flush=True)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["upstream"].close()
        await ctx["engine"].dispose()

    return PromptWorker(
        queue,
        functions=[(job_queue.JOB_FUNCTION, record_item)],
        concurrency=CONCURRENCY,
        startup=startup,
        shutdown=shutdown,
        timers=TimersDict(
            schedule=job_queue.SCHEDULE_INTERVAL_S,
            sweep=job_queue.SWEEP_INTERVAL_S,
            abort=1,  # how often a running job is checked for an abort request (saq's default)
            worker_info=10,  # how often the worker reports itself in Redis (saq's default)
        ),
        shutdown_grace_period_s=SHUTDOWN_GRACE_S,
    )


async def serve(settings: Settings) -> None:
    worker = make_worker(settings)
    await worker.queue.connect()
    try:
        await worker.start()
    finally:
        await worker.queue.disconnect()


def main() -> None:
    exit_with_parent()
    asyncio.run(serve(get_settings()))


if __name__ == "__main__":
    main()
