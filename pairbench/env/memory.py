"""The app process's memory, watched from outside: resident set size sampled during a segment.

Python rarely hands freed memory back to the operating system, so a segment's peak is
the figure that tells variants apart, and its growth (RSS at the end minus at the start)
is what a leak looks like. The sampler is a thread polling /proc through psutil: it
costs the measured app nothing. An app served by several worker processes
(--app-workers) is watched as the sum of their RSS: the memory the app holds.
"""

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

SAMPLE_INTERVAL_S = 0.01
MB = 1024 * 1024


@dataclass(frozen=True)
class MemoryReading:
    """What a process's resident memory did while it was watched, in MiB."""

    start_mb: float
    peak_mb: float
    end_mb: float
    timeline: tuple[tuple[float, float], ...]  # (time.time(), MiB) of every sample

    @property
    def growth_mb(self) -> float:
        return self.end_mb - self.start_mb

    def growth_between(self, start: float, end: float) -> float:
        """Growth from the first sample at or after `start` to the last at or before `end`
        (times as time.time() gives them); NaN without two such samples."""
        inside = [mb for at, mb in self.timeline if start <= at <= end]
        return inside[-1] - inside[0] if len(inside) >= 2 else float("nan")


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / MB


class MemorySampler:
    """Samples a process's RSS (the sum of several processes') every `interval_s` seconds
    between start() and stop().

    A process that exits while watched ends the sampling; its reading keeps what was seen.
    """

    def __init__(self, pid: int | Sequence[int], interval_s: float = SAMPLE_INTERVAL_S) -> None:
        pids = [pid] if isinstance(pid, int) else list(pid)
        self._processes = [psutil.Process(each) for each in pids]
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_mb = self._peak_mb = self._last_mb = float("nan")
        self._timeline: list[tuple[float, float]] = []

    def _sample(self) -> bool:
        """Take one sample; False once the process is gone."""
        try:
            current = sum(rss_mb(process) for process in self._processes)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
        if not self._timeline:
            self._start_mb = self._peak_mb = current
        self._peak_mb = max(self._peak_mb, current)
        self._last_mb = current
        self._timeline.append((time.time(), current))
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s) and self._sample():
            pass

    def start(self) -> "MemorySampler":
        if self._thread is not None:
            raise RuntimeError("this sampler has already been started")
        self._sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> MemoryReading:
        """Stop sampling (after one last sample) and say what was seen."""
        if self._thread is None:
            raise RuntimeError("stop() before start()")
        self._stop.set()
        self._thread.join()
        self._sample()
        timeline = tuple(self._timeline)
        return MemoryReading(self._start_mb, self._peak_mb, self._last_mb, timeline)


def watch_memory(pid: int | Sequence[int], interval_s: float = SAMPLE_INTERVAL_S) -> MemorySampler:
    """Start sampling `pid`'s RSS (or the sum of several pids'); stop() gives the reading."""
    return MemorySampler(pid, interval_s).start()
