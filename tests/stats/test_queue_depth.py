"""Queue depth over a segment: jobs requested and not yet done, per instant, over rounds."""

import numpy as np
import pandas as pd

from pairbench.stats.queue_depth import STEP_S, jobs_in_progress, queue_depth


def test_a_job_counts_from_its_request_until_it_is_done() -> None:
    requested = np.array([0.0, 0.05, 0.25])
    done = np.array([0.3, 0.1, 0.35])
    instants = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    assert jobs_in_progress(requested, done, instants).tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]


def segment(variant: str, repetition: int, start: float, span: float) -> dict[str, object]:
    keys = {"technique": "jobs", "point": "p", "mode": "closed", "variant": variant}
    return {**keys, "repetition": repetition, "measure_start": start, "measure_end": start + span}


def job(variant: str, repetition: int, requested: float, done: float) -> dict[str, object]:
    keys = {"technique": "jobs", "point": "p", "mode": "closed", "variant": variant}
    return {**keys, "repetition": repetition, "requested_at": requested, "done_at": done}


def test_each_variant_gets_its_rounds_mean_and_most_on_the_window_clock() -> None:
    """A backlog that grows in one round and not the other: the mean halves it, the most
    keeps it; instants count from each round's own window start, which never meet."""
    segments = pd.DataFrame(
        [
            segment("enqueued", 0, 100.0, 0.3),
            segment("enqueued", 1, 200.0, 0.2),
            segment("inline", 0, 300.0, 0.3),
        ]
    )
    jobs = pd.DataFrame(
        [
            job("enqueued", 0, 100.0, 101.0),
            job("enqueued", 0, 100.15, 101.0),
            job("enqueued", 1, 200.0, 200.05),
            job("inline", 0, 300.0, 300.01),
        ]
    )
    table = queue_depth(jobs, segments)
    enqueued = table[table["variant"] == "enqueued"]
    assert np.allclose(enqueued["t_s"], [0.0, STEP_S, 2 * STEP_S])
    assert enqueued["jobs_max"].tolist() == [1.0, 1.0, 2.0]
    assert enqueued["jobs_mean"].tolist() == [1.0, 0.5, 2.0]  # round 1's window is over by then
    assert enqueued["rounds"].tolist() == [2, 2, 1]
    assert table[table["variant"] == "inline"]["jobs_max"].tolist() == [1.0, 0.0, 0.0]


def test_no_jobs_no_rows() -> None:
    empty = pd.DataFrame(columns=["technique", "point", "mode", "variant", "repetition"])
    assert queue_depth(empty, pd.DataFrame([segment("x", 0, 0.0, 1.0)])).empty
