"""The measuring loop's memory hook: the RSS of the app process serving a segment, watched.

Per segment the loop calls, in order (`app` is the segment's, pairbench.load.segment_apps):
    watcher = watch_app(app.pids)                         # just before the load starts
    ... the segment's load ...
    reading = watcher.stop() if watcher else None         # as soon as the load ends
    row.update(segment_memory(reading, window, app.process, app.pid))  # window: measuring
A segment without a process to watch (no pids) has empty columns; an app of several
uvicorn workers is watched as the sum of their RSS.
"""

import math
from collections.abc import Sequence
from typing import Any

from bench_app.memory_limit import memory_available_bytes
from pairbench.env.memory import MB, MemoryReading, MemorySampler, watch_memory
from pairbench.results import APP_FRESH, SEGMENT_MEMORY_COLUMNS

SEGMENT_RSS_INTERVAL_S = 0.01


def watch_app(pids: Sequence[int]) -> MemorySampler | None:
    """Start sampling the RSS of the app's processes (summed), if there is an app to watch."""
    return watch_memory(pids, SEGMENT_RSS_INTERVAL_S) if pids else None


def segment_memory(
    reading: MemoryReading | None, window: tuple[float, float], process: str, pid: int | None
) -> dict[str, Any]:
    """The segment row's memory columns: which process served it, whole-segment figures,
    the growth over the measuring `window` (epoch seconds: warm-up and cool-down out), and
    the memory available to it (its cgroup's limit, else the host's RAM)."""
    served = {
        "app_process": process,
        "fresh_process": process == APP_FRESH,
        "app_pid": math.nan if pid is None else pid,
    }
    if reading is None:
        return {name: math.nan for name in SEGMENT_MEMORY_COLUMNS} | served
    return served | {
        "rss_start_mb": reading.start_mb,
        "rss_peak_mb": reading.peak_mb,
        "rss_end_mb": reading.end_mb,
        "rss_growth_mb": reading.growth_mb,
        "rss_measured_growth_mb": reading.growth_between(*window),
        "memory_available_mb": memory_available_bytes(pid if pid is not None else "self") / MB,
    }
