"""A saq worker that stops as soon as its jobs in hand are done, not after its whole grace.

saq's `Worker.stop` gives every task it runs the shutdown grace period, its idle ones too:
the loops waiting to dequeue and the upkeep loops sleeping between rounds never end by
themselves, so every stop waited the full grace, then cancelled them and logged that some
tasks "did not finish" (a worker with nothing to do stopped in 1.3 s, every time). Here
the grace goes to the jobs in hand alone; the idle loops are cancelled at once, which
they take as the end (a loop waiting to dequeue holds no job).
"""

import asyncio
from typing import Any

from saq import Worker
from saq.utils import cancel_tasks

CANCEL_TIMEOUT_S = 1.0  # for the idle loops to take their cancellation


class PromptWorker(Worker[Any]):
    """saq's Worker, stopping once the jobs in hand finish (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._busy: set[asyncio.Task[Any]] = set()  # the loops holding a job
        self.before_process = [*(self.before_process or []), self._took_job]
        self.after_process = [*(self.after_process or []), self._ended_job]

    async def _took_job(self, ctx: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)

    async def _ended_job(self, ctx: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.discard(task)

    async def stop(self) -> None:
        self.event.set()  # no loop dequeues again
        busy = set(self._busy)
        if busy:
            await asyncio.wait(busy, timeout=self._shutdown_grace_period_s or 0)
        idle = [task for task in self.tasks if task not in self._busy and not task.done()]
        await cancel_tasks(idle, timeout=CANCEL_TIMEOUT_S)
        await super().stop()  # what is left: jobs past the grace (cancelled and retried)
