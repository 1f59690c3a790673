"""Timers that fire on time on a busy machine: an asyncio selector that sleeps, then polls.

An event loop sleeps in select(2) until its next timer is due, and the kernel wakes it late:
tens of µs on a quiet machine (more the longer it slept), far more on a busy one. For the
delay proxy, whose timers are the delay, that lateness came on top of every half round trip
(+16-28% at 1 ms RTT). PunctualSelector sleeps until a margin before the timeout and polls
(select with timeout 0, so sockets are still served) for the rest: the loop then wakes on
time unless the kernel is later than the margin. The margin tracks the 90th percentile of
how late the sleeps wake (WakeMargin), bounded by MAX_MARGIN_S, so the polling costs about
as much CPU as the machine's lateness demands and no more.

Linux's timer slack (50 µs by default) is part of the lateness; precise_timers() sets it
to 1 ns. select(2)'s timeout has microseconds (epoll's has milliseconds).
"""

import ctypes
import selectors
import time

PR_SET_TIMERSLACK = 29  # linux/prctl.h
MAX_MARGIN_S = 200e-6  # the most of a wait spent polling instead of sleeping
MARGIN_QUANTILE = 0.9  # of the sleeps' lateness that the margin covers
MARGIN_STEP_S = 5e-6  # how far one late wake-up raises the margin


class WakeMargin:
    """A running estimate of a quantile of wake-up lateness, bounded: each wake later than
    the margin raises it by a step, each other wake lowers it by step x q / (1 - q), so it
    settles where a share q of wake-ups come within it."""

    def __init__(self, most_s: float, quantile: float = MARGIN_QUANTILE) -> None:
        self.most_s = most_s
        self.up_s = MARGIN_STEP_S
        self.down_s = MARGIN_STEP_S * (1 - quantile) / quantile
        self.margin_s = 0.0

    def add(self, lateness_s: float) -> None:
        step = self.up_s if lateness_s > self.margin_s else -self.down_s
        self.margin_s = min(self.most_s, max(0.0, self.margin_s + step))


class PunctualSelector(selectors.SelectSelector):
    """select(2) that wakes a margin before its timeout and polls until it."""

    def __init__(self) -> None:
        super().__init__()
        self.margin = WakeMargin(MAX_MARGIN_S)
        self.polled_s = 0.0  # CPU spent polling, what the punctuality costs

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        deadline = time.monotonic() + timeout
        sleep = timeout - self.margin.margin_s
        if sleep > 0:
            events = super().select(sleep)
            if events:
                return events
            self.margin.add(time.monotonic() - (deadline - self.margin.margin_s))
        polling_since = time.monotonic()
        try:
            while time.monotonic() < deadline:
                if events := super().select(0):
                    return events
            return []
        finally:
            self.polled_s += time.monotonic() - polling_since


def precise_timers() -> None:
    """Ask the kernel to wake us on time (the default slack is 50 µs); Linux only."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
