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
from pairbench.stats.requests import status_succeeded
from scenarios.samples import SAMPLE_COLUMNS

WINDOW_S = (0.1, 0.25)  # bounds of the latency windows compared
WINDOWS_PER_WARMUP = 5  # a window is this share of the longest warm-up (within WINDOW_S)
SETTLED_CHANGE = 0.15  # medians of two windows this close: settled
MIN_WINDOW_SAMPLES = 5
POLL_S = 0.05
NAME_COLUMN = SAMPLE_COLUMNS.index("name")
STATUS_COLUMN = SAMPLE_COLUMNS.index("status")


class SettleWatch:
    """Watches latencies: warm-up is over once two full windows agree on the median (every
    request kind of a mixed workload counts); then it counts the variant's own successful
    requests (TARGET_NAME, pairbench.stats.requests' success) sent while measuring: the
    ones its latency and cost figures will be made of."""

    def __init__(self, warmup_max_s: float) -> None:
        self.started = time.time()
        self.window_s = min(max(warmup_max_s / WINDOWS_PER_WARMUP, WINDOW_S[0]), WINDOW_S[1])
        self.windows: dict[int, list[float]] = {}
        self.measure_start = self.measure_end = float("inf")
        self.measured = 0

    def on_request(
        self,
        response_time: float,
        start_time: float,
        name: str = TARGET_NAME,
        response: Any = None,
        **_: Any,
    ) -> None:
        """Locust's `request` event (its `response` has the status, as in the samples)."""
        self._answered(response_time, start_time, name, getattr(response, "status_code", 0) or 0)

    def on_rows(self, rows: list[list[Any]]) -> None:
        """Raw sample rows shipped by Locust workers (scenarios.samples.SAMPLE_COLUMNS)."""
        for row in rows:
            self._answered(
                float(row[1]),
                float(row[0]),
                str(row[NAME_COLUMN]),
                int(float(row[STATUS_COLUMN] or 0)),
            )

    def _answered(self, response_time: float, start_time: float, name: str, status: int) -> None:
        finished = start_time + response_time / 1000.0
        index = int((finished - self.started) / self.window_s)
        self.windows.setdefault(index, []).append(response_time)
        sent_measuring = self.measure_start <= start_time <= self.measure_end
        if sent_measuring and name == TARGET_NAME and status_succeeded(status):
            self.measured += 1

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

    def measure(self, seconds: float, min_requests: int, max_seconds: float) -> float:
        """Sleep `seconds`, longer (up to `max_seconds`) until `min_requests` of the variant's
        own have succeeded; returns when measuring ends (no request sent after it counts)."""
        gevent.sleep(seconds)
        deadline = self.measure_start + max_seconds
        while self.measured < min_requests and time.time() < deadline:
            gevent.sleep(POLL_S)
        self.measure_end = time.time()
        return self.measure_end

    def short_of(self, min_requests: int, max_seconds: float) -> str:
        """Once the requests in hand have answered: why the segment has fewer than
        `min_requests` successful ones of its own ("" if it has them)."""
        if self.measured >= min_requests:
            return ""
        return (
            f"measuring stopped at its bound ({max_seconds:.1f} s) with {self.measured} of the "
            f"{min_requests} successful requests of its own a segment needs: its figures rest "
            "on fewer"
        )
