"""The GC watch: totals per generation, and the latest collections' pauses by time."""

import gc
import time

from fastapi import FastAPI

from bench_app.frozen_heap import startup_heap_frozen
from bench_app.gc_watch import CAPACITY, GcWatch, watching


def collect(watch: GcWatch, generation: int) -> None:
    watch.callback("start", {"generation": generation})
    watch.callback("stop", {"generation": generation, "collected": 0, "uncollectable": 0})


def test_totals_count_every_collection_and_the_window_keeps_the_latest() -> None:
    watch = GcWatch()
    since = time.time()
    for _ in range(CAPACITY + 10):
        collect(watch, 0)
    collect(watch, 2)
    assert watch.collections == {0: CAPACITY + 10, 1: 0, 2: 1}
    assert watch.pause_s[2] > 0
    assert len(watch.between(since, None)) == CAPACITY  # the ring's, the oldest dropped
    assert watch.between(time.time() + 1, None) == []


def test_a_stop_without_its_start_is_not_counted() -> None:
    watch = GcWatch()
    watch.callback("stop", {"generation": 1})
    assert watch.collections[1] == 0


def test_watching_times_real_collections_and_then_lets_go() -> None:
    watch = GcWatch()
    with watching(watch):
        gc.collect(1)
    assert watch.collections[1] >= 1
    assert watch.callback not in gc.callbacks


def in_collectors_reach(target: object) -> bool:
    return any(o is target for o in gc.get_objects())  # generations 0-2, not the frozen


def test_the_startup_heap_is_frozen_for_the_block_and_thawed_after() -> None:
    made_at_startup = [[n] for n in range(1000)]  # containers the collector would walk
    with startup_heap_frozen() as frozen:
        assert frozen >= len(made_at_startup)
        assert not in_collectors_reach(made_at_startup[0])
        made_after = [0]
        assert in_collectors_reach(made_after)
    assert gc.get_freeze_count() == 0
    assert in_collectors_reach(made_at_startup[0])


def test_the_served_app_freezes_what_its_startup_made(app: FastAPI) -> None:
    assert app.state.frozen_objects > 10_000  # the modules of the whole catalog, at least
