"""The startup heap frozen: out of the collector's reach while the block runs, thawed after."""

import gc

from fastapi import FastAPI

from bench_app.frozen_heap import startup_heap_frozen


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
