"""Segment figures: the deferred work's latency and backlog."""

import pytest

from pairbench.load.segment_figures import deferred_work_figures


def test_deferred_work_counts_latency_and_the_most_in_progress() -> None:
    # Three jobs overlap at t=2.5 (requested 1, 2, 2.5; the first done at 3).
    jobs = [[1.0, 3.0], [2.0, 2.6], [2.5, 4.0], [5.0, 5.1]]
    figures = deferred_work_figures(jobs)
    assert figures["jobs_done"] == 4
    assert figures["jobs_in_progress_max"] == 3
    assert figures["job_done_p50_ms"] == pytest.approx(1050.0)
    assert deferred_work_figures([]) == {"jobs_done": 0.0}


def test_sequential_jobs_are_one_in_progress_at_a_time() -> None:
    jobs = [[float(n), n + 0.5] for n in range(10)]
    assert deferred_work_figures(jobs)["jobs_in_progress_max"] == 1
