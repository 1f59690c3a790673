"""The memory sampler sees another process's resident memory rise, peak and fall."""

import math
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pairbench.env.memory import MemorySampler, watch_memory

# Allocates (and touches) 120 MiB when told, frees it when told, exits when told.
HOLDER = """
import sys
held = None
for command in sys.stdin:
    if command.startswith("hold"):
        held = b"x" * (120 * 1024 * 1024)
    elif command.startswith("free"):
        held = None
    else:
        break
    print("done", flush=True)
"""


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            yield process
        finally:
            process.kill()


def tell(process: subprocess.Popen[str], command: str) -> None:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "done"


def test_a_held_allocation_is_peak_and_growth(holder: subprocess.Popen[str]) -> None:
    sampler = watch_memory(holder.pid, interval_s=0.005)
    tell(holder, "hold")
    reading = sampler.stop()
    assert reading.peak_mb - reading.start_mb > 100
    assert reading.growth_mb > 100
    assert reading.peak_mb >= reading.end_mb >= reading.start_mb
    assert len(reading.timeline) >= 2


def test_a_freed_allocation_leaves_a_peak_but_no_growth(holder: subprocess.Popen[str]) -> None:
    sampler = watch_memory(holder.pid, interval_s=0.005)
    tell(holder, "hold")
    time.sleep(0.05)  # several samples while it is held
    tell(holder, "free")
    reading = sampler.stop()
    assert reading.peak_mb - reading.start_mb > 100
    assert abs(reading.growth_mb) < 20


def test_growth_in_a_window_leaves_out_what_came_before(holder: subprocess.Popen[str]) -> None:
    sampler = watch_memory(holder.pid, interval_s=0.005)
    tell(holder, "hold")
    time.sleep(0.05)
    after_the_allocation = time.time()
    time.sleep(0.05)
    reading = sampler.stop()
    assert reading.growth_mb > 100
    assert abs(reading.growth_between(after_the_allocation, time.time())) < 5
    later = time.time() + 60
    assert math.isnan(reading.growth_between(later, later + 1))


def test_a_process_that_exits_while_watched_keeps_what_was_seen(
    holder: subprocess.Popen[str],
) -> None:
    sampler = watch_memory(holder.pid, interval_s=0.005)
    tell(holder, "hold")
    time.sleep(0.05)
    assert holder.stdin is not None
    holder.stdin.write("exit\n")
    holder.stdin.flush()
    holder.wait(10)
    reading = sampler.stop()
    assert reading.peak_mb - reading.start_mb > 100


def test_stop_before_start_is_an_error(holder: subprocess.Popen[str]) -> None:
    with pytest.raises(RuntimeError, match="before start"):
        MemorySampler(holder.pid).stop()


def test_several_processes_are_watched_as_the_sum_of_their_memory(
    holder: subprocess.Popen[str],
) -> None:
    """An app served by several workers holds what they hold together."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as other:
        try:
            alone = watch_memory(holder.pid, interval_s=0.005)
            both = watch_memory([holder.pid, other.pid], interval_s=0.005)
            tell(holder, "hold")
            tell(other, "hold")
            alone_reading, both_reading = alone.stop(), both.stop()
        finally:
            other.kill()
    assert alone_reading.growth_mb > 100
    assert both_reading.growth_mb > 200  # each holder's 120 MiB, counted once each
    assert both_reading.end_mb > alone_reading.end_mb + 100
