"""A run's stability warnings: medians that vary between repetitions, failed requests, too
few samples, a saturated load generator; none on a stable run."""

import math

import numpy as np
import pandas as pd

from pairbench.stats.stability import stability_warnings
from tests.stats.test_summary import sample_rows, segment_rows


def test_warnings_fire_on_an_unstable_run() -> None:
    rng = np.random.default_rng(2)
    rows = sample_rows("naive", 0, rng.normal(10.0, 0.5, 40).tolist())
    rows += sample_rows("naive", 1, rng.normal(20.0, 0.5, 40).tolist(), start=2000.0)
    rows += sample_rows("naive", 1, [1.0, 1.0], status=0, start=3000.0)
    rows += sample_rows("naive", 1, [1.0], status=503, start=3001.0)
    warnings = stability_warnings(pd.DataFrame(rows), segment_rows(["naive"], 2, cpu=97.0))
    text = "\n".join(warnings)
    assert len(warnings) == 4, text
    assert "demo/naive at n=1: per-repetition medians vary" in text
    assert "3 of 83 requests failed (connection error x2, HTTP 503 x1)" in text
    assert "only 80 successful samples" in text
    assert "load generator CPU reached 97%" in text


def test_no_warnings_on_a_stable_run() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for repetition in range(3):
        latencies = rng.lognormal(math.log(10.0), 0.3, 200).tolist()
        rows += sample_rows("naive", repetition, latencies, start=1000.0 * (repetition + 1))
    rows += sample_rows("naive", 0, [50.0] * 5, phase="warmup", status=0)  # warm-up is ignored
    assert stability_warnings(pd.DataFrame(rows), segment_rows(["naive"], 3, cpu=35.0)) == []
