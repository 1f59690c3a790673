"""When a closed-loop segment's warm-up is over: latency has settled.

Warm-up lasts until two consecutive windows' median latencies agree within
SETTLED_CHANGE, at least the profile's `warmup_min` and at most its `warmup_max`. A
window is a fifth of `warmup_max` (WINDOW_S bounds it), so a variant that settles can end
its warm-up well before the maximum in every profile; one too slow to fill a window with
MIN_WINDOW_SAMPLES answers warms up for the maximum.
"""

import statistics
import time
from typing import Any

import gevent

from pairbench.results import TARGET_NAME
from scenarios.samples import SAMPLE_COLUMNS

WINDOW_S = (0.1, 0.25)  # bounds of the latency windows compared
WINDOWS_PER_WARMUP = 5  # a window is this share of the longest warm-up (within WINDOW_S)
SETTLED_CHANGE = 0.15  # medians of two windows this close: settled
MIN_WINDOW_SAMPLES = 5
POLL_S = 0.05
NAME_COLUMN = SAMPLE_COLUMNS.index("name")


class SettleWatch:
    """Watches latencies: warm-up is over once two full windows agree on the median (every
    request kind of a mixed workload counts); then it counts the variant's own requests
    (TARGET_NAME) sent after measuring began."""

    def __init__(self, warmup_max_s: float) -> None:
        self.started = time.time()
        self.window_s = min(max(warmup_max_s / WINDOWS_PER_WARMUP, WINDOW_S[0]), WINDOW_S[1])
        self.windows: dict[int, list[float]] = {}
        self.measure_start = float("inf")
        self.measured = 0

    def on_request(
        self, response_time: float, start_time: float, name: str = TARGET_NAME, **_: Any
    ) -> None:
        finished = start_time + response_time / 1000.0
        index = int((finished - self.started) / self.window_s)
        self.windows.setdefault(index, []).append(response_time)
        if start_time >= self.measure_start and name == TARGET_NAME:
            self.measured += 1

    def on_rows(self, rows: list[list[Any]]) -> None:
        """Raw sample rows shipped by Locust workers (scenarios.samples.SAMPLE_COLUMNS)."""
        for row in rows:
            self.on_request(
                response_time=float(row[1]), start_time=float(row[0]), name=str(row[NAME_COLUMN])
            )

    def settled(self, now: float) -> bool:
        current = int((now - self.started) / self.window_s)  # still filling: not compared
        full = [self.windows.get(index, []) for index in (current - 2, current - 1)]
        if any(len(window) < MIN_WINDOW_SAMPLES for window in full):
            return False
        older, newer = (statistics.median(window) for window in full)
        return older > 0 and abs(newer / older - 1.0) <= SETTLED_CHANGE

    def wait(self, minimum_s: float, maximum_s: float) -> float:
        """Sleep until settled (within the bounds); returns when measuring starts."""
        while True:
            gevent.sleep(POLL_S)
            now = time.time()
            elapsed = now - self.started
            if elapsed >= maximum_s or (elapsed >= minimum_s and self.settled(now)):
                self.measure_start = now
                return now

    def measure(self, seconds: float, min_requests: int, max_seconds: float) -> None:
        """Sleep `seconds`, longer (up to `max_seconds`) until `min_requests` of the variant's
        own have answered."""
        gevent.sleep(seconds)
        deadline = self.measure_start + max_seconds
        while self.measured < min_requests and time.time() < deadline:
            gevent.sleep(POLL_S)
