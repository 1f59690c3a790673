"""Microbenchmark summaries: the pytest-benchmark JSON read into speedups with CIs."""

import json
from pathlib import Path

import numpy as np
import pytest

from pairbench import results
from pairbench.stats.micro import read_micro, summarize_micro


def benchmark(variant: str, seconds: list[float]) -> dict[str, object]:
    return {
        "extra_info": {"technique": "demo", "variant": variant, "point": "n=1"},
        "stats": {"median": float(np.median(seconds)), "data": seconds},
    }


def test_speedups_are_ratios_of_median_round_times_with_cis() -> None:
    rng = np.random.default_rng(0)
    slow = (0.004 * rng.uniform(0.95, 1.05, 40)).tolist()
    fast = (0.001 * rng.uniform(0.95, 1.05, 40)).tolist()
    summary = summarize_micro(
        [benchmark("fast", fast), benchmark("naive", slow)], {"demo": "naive"}
    )
    naive, quick = (row for _, row in summary.iterrows())
    assert naive["variant"] == "naive" and naive["verdict"] == "baseline"
    assert naive["median_us"] == pytest.approx(np.median(slow) * 1e6)
    assert quick["speedup"] == pytest.approx(np.median(slow) / np.median(fast))
    assert quick["speedup_ci_low"] < quick["speedup"] < quick["speedup_ci_high"]
    assert quick["verdict"] == "faster" and quick["rounds"] == 40


def test_a_malformed_micro_json_is_an_error_naming_it(tmp_path: Path) -> None:
    assert read_micro(tmp_path) == []
    (tmp_path / results.MICRO).write_text(json.dumps({"benchmarks": "nope"}))
    with pytest.raises(results.ResultsError, match="micro.json has no 'benchmarks' list"):
        read_micro(tmp_path)
