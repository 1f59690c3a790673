"""The GC watch: totals per generation, and the latest collections' pauses by time."""

import gc
import time

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
