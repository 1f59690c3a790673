"""A DataLoader for asyncio: separate loads asked for in one turn of the loop, sent as one batch."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    """Collects `load(key)` calls made in the same turn of the event loop and answers them
    with one `load_batch(keys)` call (GraphQL's DataLoader, and aiodataloader's, without
    their cache: here each request makes its own loader).

    Callers keep the code of one item at a time (`await loader.load(item)`, or a gather of
    them); the batching happens behind them. `load_batch` returns one value per key, in
    order; its exception goes to every caller of that batch.
    """

    def __init__(
        self, load_batch: Callable[[list[K]], Awaitable[Sequence[V]]], max_batch: int
    ) -> None:
        self._load_batch = load_batch
        self._max_batch = max_batch
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._batches: set[asyncio.Task[None]] = set()  # held, so they are not collected

    def load(self, key: K) -> asyncio.Future[V]:
        """A future of the value of `key`, sent with the other keys asked for this turn."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            # After the callers of this turn have all asked: the batch is then complete.
            loop.call_soon(self._dispatch)
        future: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, future))
        return future

    def _dispatch(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self._max_batch):
            batch = asyncio.ensure_future(self._answer(pending[start : start + self._max_batch]))
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._load_batch([key for key, _ in batch])
            if len(values) != len(batch):
                raise ValueError(f"load_batch answered {len(values)} values for {len(batch)} keys")
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
