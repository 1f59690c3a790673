"""An app-level event bus: listeners subscribe to an event by name, publishers call them all.

What NestJS's EventEmitter is to a service: whoever subscribes is kept, and so is
everything the listener refers to, until it unsubscribes. Three ways to hold a listener:
- `subscribe`: strongly, until the unsubscribe function it returns is called;
- `subscribed`: strongly, for a `with` block (unsubscribed however the block ends);
- `subscribe_weakly`: through a weak reference (a bound method's, weakref.WeakMethod), so
  the bus never keeps its object alive: when the object goes, its entry goes with it.

A listener still subscribed when the request that subscribed it answers is metered as kept
(`listeners_kept` in the request's `x-cost`): the leak, counted rather than inferred from
memory.
"""

import itertools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_app.metering import RequestCost, current_cost

Listener = Callable[[Any], None]


class EventBus:
    """Listeners by event name, in the order they subscribed."""

    def __init__(self) -> None:
        # Keyed by a token, so unsubscribing is a dict delete, not a search of a long list.
        self._strong: dict[str, dict[int, Listener]] = {}
        self._weak: dict[str, dict[int, weakref.WeakMethod[Listener]]] = {}
        self._tokens = itertools.count()

    def subscribe(self, event: str, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every `event` until the returned function is called."""
        token = next(self._tokens)
        listeners = self._strong.setdefault(event, {})
        listeners[token] = listener
        cost = _kept_by_this_request()

        def unsubscribe() -> None:
            if listeners.pop(token, None) is not None:
                _released(cost)

        return unsubscribe

    @contextmanager
    def subscribed(self, event: str, listener: Listener) -> Iterator[None]:
        """Call `listener` on every `event` published while the block runs."""
        unsubscribe = self.subscribe(event, listener)
        try:
            yield
        finally:
            unsubscribe()

    def subscribe_weakly(self, event: str, listener: Listener) -> None:
        """Call `listener` (a bound method) on every `event` while its object is alive."""
        token = next(self._tokens)
        listeners = self._weak.setdefault(event, {})
        cost = _kept_by_this_request()

        def gone(_: object) -> None:
            if listeners.pop(token, None) is not None:
                _released(cost)

        listeners[token] = weakref.WeakMethod(listener, gone)

    def publish(self, event: str, payload: Any) -> int:
        """Call every listener of `event` with `payload`; how many were called."""
        called = 0
        for listener in list(self._strong.get(event, {}).values()):
            listener(payload)
            called += 1
        for reference in list(self._weak.get(event, {}).values()):
            alive = reference()
            if alive is not None:
                alive(payload)
                called += 1
        return called

    def listener_count(self, event: str) -> int:
        """The listeners `event` holds, strongly or weakly (a weak one only while alive)."""
        return len(self._strong.get(event, {})) + len(self._weak.get(event, {}))

    def clear(self) -> None:
        """Forget every listener (a process starting afresh)."""
        self._strong.clear()
        self._weak.clear()


def _kept_by_this_request() -> RequestCost | None:
    """Meter a new subscription as kept by the request being served (if one is)."""
    cost = current_cost()
    if cost is not None:
        cost.listeners_kept += 1
    return cost


def _released(cost: RequestCost | None) -> None:
    # The subscribing request's own record, whichever request happens to be current: a
    # release after that request answered changes nothing it reported.
    if cost is not None:
        cost.listeners_kept -= 1
