"""The startup heap frozen: a long-lived process's imports kept out of every full collection."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_heap_frozen() -> Iterator[int]:
    """Move every object alive now (the imported modules, the app, its pools) out of the
    collector's reach for the block, as pre-forking servers do before they fork (gc.freeze).

    The app imports every technique and what they need, the load generator Locust and
    the scenarios: heaps of 150k-200k objects that live as long as the process. A full
    collection walks all of them, and under load one comes every few hundred
    milliseconds, pausing for tens of milliseconds every request in flight (in the app)
    or every latency being timed (in the generator): whole waves of requests took that
    much longer, and a segment's median depended on how many waves a collection hit.
    Frozen, a full collection walks only what serving allocated. Yields how many objects
    were frozen.
    """
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()  # an app started again in this process (tests) freezes its own
