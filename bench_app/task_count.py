"""Tasks started per request: a count the cost meter carries (`tasks_started` in x-cost).

Work a request hands to tasks of its own costs it more than the work: each task is
created, scheduled and awaited, and a middleware that runs the rest of the request in a
task group (Starlette's BaseHTTPMiddleware, instrumentation's naive variant) pays that
on every request. The count is deterministic where the timings are not, so the gate sees
such a middleware come back however small its cost is beside the machine's noise.

The loop's task factory counts each task on the meter of the request whose code created
it (the factory runs in the creator's context). Tasks the server starts for a connection
or a request are created before the meter's context is set, so they never count.
"""

import asyncio
from collections.abc import Coroutine, Generator, Iterator
from contextlib import contextmanager
from contextvars import Context
from typing import Any

from bench_app.metering import current_cost

TaskCoroutine = Coroutine[Any, Any, Any] | Generator[Any, None, Any]


def counting_task(
    loop: asyncio.AbstractEventLoop, coro: TaskCoroutine, context: Context | None = None
) -> "asyncio.Task[Any]":
    """A task factory: the task asyncio would make, counted on the current request's meter."""
    cost = current_cost()
    if cost is not None:
        cost.tasks_started += 1
    return asyncio.Task(coro, loop=loop, context=context)


@contextmanager
def counting_tasks() -> Iterator[None]:
    """Count the tasks each request starts, on the running loop, until the block ends."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    loop.set_task_factory(counting_task)
    try:
        yield
    finally:
        loop.set_task_factory(previous)
