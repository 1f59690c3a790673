"""The measuring loop's memory hook: a fresh app process where declared, and its RSS watched.

Per segment the loop calls, in order:
    fresh = fresh_app_if_declared(app, technique, log)   # before the technique's reset
    watcher = watch_app(app)                              # just before the load starts
    ... the segment's load ...
    reading = watcher.stop() if watcher else None         # as soon as the load ends
    row.update(segment_memory(reading, window, fresh))    # window: the measuring window
`app` may be None (no server to watch): the columns are then empty.
"""

import math
from collections.abc import Callable
from typing import Any

from bench_app.technique import Technique
from pairbench.env.memory import MemoryReading, MemorySampler, watch_memory
from pairbench.env.server import AppServer
from pairbench.results import SEGMENT_MEMORY_COLUMNS

SEGMENT_RSS_INTERVAL_S = 0.01


def fresh_app_if_declared(
    app: AppServer | None, technique: Technique, log: Callable[[str], None]
) -> bool:
    """Restart the app if the technique wants each segment in a fresh process; whether it did."""
    if app is None or not technique.fresh_process:
        return False
    seconds = app.restart()
    log(f"      (fresh app process, ready in {seconds:.1f} s)")
    return True


def watch_app(app: AppServer | None) -> MemorySampler | None:
    """Start sampling the app's RSS (all its worker processes'), if there is an app to watch."""
    return None if app is None else watch_memory(app.pids, SEGMENT_RSS_INTERVAL_S)


def segment_memory(
    reading: MemoryReading | None, window: tuple[float, float], fresh: bool
) -> dict[str, Any]:
    """The segment row's memory columns: whole-segment figures, and the growth over the
    measuring `window` (epoch seconds: warm-up and cool-down left out)."""
    if reading is None:
        return {name: math.nan for name in SEGMENT_MEMORY_COLUMNS} | {"fresh_process": fresh}
    return {
        "fresh_process": fresh,
        "rss_start_mb": reading.start_mb,
        "rss_peak_mb": reading.peak_mb,
        "rss_end_mb": reading.end_mb,
        "rss_growth_mb": reading.growth_mb,
        "rss_measured_growth_mb": reading.growth_between(*window),
    }
