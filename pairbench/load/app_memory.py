"""The measuring loop's memory hook: a fresh app process where declared, and its RSS watched.

Per segment the loop calls, in order:
    fresh = fresh_app_if_declared(app, technique, log)   # before the technique's reset
    watcher = watch_app(app)                              # just before the load starts
    ... the segment's load ...
    reading = watcher.stop() if watcher else None         # as soon as the load ends
    row.update(segment_memory(reading, frame, fresh))     # frame: the segment's tidy samples
`app` may be None (no server to watch): the columns are then empty.
"""

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from bench_app.technique import Technique
from pairbench.env.memory import MemoryReading, MemorySampler, watch_memory
from pairbench.env.server import AppServer
from pairbench.results import SEGMENT_MEMORY_COLUMNS
from pairbench.stats.stability import MEASURE_PHASE

SEGMENT_RSS_INTERVAL_S = 0.01


def fresh_app_if_declared(
    app: AppServer | None, technique: Technique, log: Callable[[str], None]
) -> bool:
    """Restart the app if the technique wants each segment in a fresh process; whether it did."""
    if app is None or not technique.fresh_process:
        return False
    seconds = app.restart()
    log(f"    fresh app process (pid {app.pid}, ready in {seconds:.1f} s)")
    return True


def watch_app(app: AppServer | None) -> MemorySampler | None:
    """Start sampling the app's RSS, if there is an app to watch."""
    return None if app is None else watch_memory(app.pid, SEGMENT_RSS_INTERVAL_S)


def segment_memory(
    reading: MemoryReading | None, frame: pd.DataFrame, fresh: bool
) -> dict[str, Any]:
    """The segment row's memory columns, from the reading and the segment's samples.

    rss_measured_growth_mb runs from the segment's first measured request (warm-up
    excluded) to its end.
    """
    nan = math.nan
    if reading is None:
        return {name: nan for name in SEGMENT_MEMORY_COLUMNS} | {"fresh_process": fresh}
    measured = frame.loc[frame["phase"] == MEASURE_PHASE, "t_start"]
    since = float(measured.min()) if len(measured) else nan
    return {
        "fresh_process": fresh,
        "rss_start_mb": reading.start_mb,
        "rss_peak_mb": reading.peak_mb,
        "rss_end_mb": reading.end_mb,
        "rss_growth_mb": reading.growth_mb,
        "rss_measured_growth_mb": nan if math.isnan(since) else reading.growth_since(since),
    }
