"""An in-process cache bounded twice: by entry count (least recently used go first) and by age."""

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class LocalTTLCache(Generic[V]):
    """At most `max_entries` values, each served for `ttl_s` seconds after it was set.

    For one event loop: no locks, since nothing here awaits. The age bound is what
    keeps processes in step with the shared cache behind it; the count bound is what
    keeps memory flat however many keys pass through.
    """

    def __init__(
        self, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1 or ttl_s <= 0:
            raise ValueError("a LocalTTLCache needs max_entries >= 1 and ttl_s > 0")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        """The value at `key` if it is there and fresh, else None (a stale one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def set(self, key: str, value: V) -> None:
        """Store `value` for ttl_s seconds, evicting the least recently used past max_entries."""
        self._entries[key] = (self._clock() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
