"""Microbenchmark figures: pytest-benchmark's rounds read into medians and speedups with CIs.

micro.json (written by pairbench.load.micro) keeps every round's time; a variant's
speedup is its baseline's median round over its own, with a bootstrap CI over rounds.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.bootstrap import bootstrap_ratio_ci
from pairbench.stats.significance import verdict

MICRO_COLUMNS = [
    "technique",
    "variant",
    "point",
    "baseline",
    "rounds",
    "median_us",
    "iqr_us",
    "min_us",
    "ops_per_s",
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
    "verdict",
]


def read_micro(run_dir: Path) -> list[dict[str, Any]]:
    """The benchmarks of micro.json, or [] if the run has none; malformed is a ResultsError."""
    path = run_dir / results.MICRO
    if not path.exists():
        return []
    found = results.read_json(path)
    benchmarks = found.get("benchmarks") if isinstance(found, dict) else None
    if not isinstance(benchmarks, list):
        raise results.ResultsError(f"{path} has no 'benchmarks' list: not pytest-benchmark JSON")
    return [item for item in benchmarks if isinstance(item, dict)]


def _rounds_us(benchmark: Mapping[str, Any]) -> np.ndarray:
    """Each round's time in microseconds (every round if saved, else the median alone)."""
    stats = benchmark.get("stats", {})
    data = stats.get("data") or [stats.get("median", float("nan"))]
    return np.asarray(data, dtype=float) * 1e6


def summarize_micro(benchmarks: list[dict[str, Any]], baselines: Mapping[str, str]) -> pd.DataFrame:
    """One row per technique x variant: median time, spread, and speedup with its CI."""
    by_case: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for benchmark in benchmarks:
        info = benchmark.get("extra_info", {})
        if "technique" in info and "variant" in info:
            key = (str(info["technique"]), str(info.get("point", "")))
            by_case.setdefault(key, {})[str(info["variant"])] = _rounds_us(benchmark)
    rows = []
    for (technique, point), variants in by_case.items():
        base_name = baselines.get(technique)
        base = variants.get(base_name or "")
        for variant in sorted(variants, key=lambda name: name != base_name):
            rounds = variants[variant]
            q1, median, q3 = np.percentile(rounds, [25, 50, 75])
            row: dict[str, Any] = {
                "technique": technique,
                "variant": variant,
                "point": point,
                "baseline": variant == base_name,
                "rounds": len(rounds),
                "median_us": median,
                "iqr_us": q3 - q1,
                "min_us": rounds.min(),
                "ops_per_s": 1e6 / median,
            }
            if variant == base_name:
                row.update(speedup=1.0, speedup_ci_low=1.0, speedup_ci_high=1.0, verdict="baseline")
            elif base is None:
                row.update(speedup=np.nan, speedup_ci_low=np.nan, speedup_ci_high=np.nan)
                row["verdict"] = "no baseline"
            else:
                ratio, low, high = bootstrap_ratio_ci([base], [rounds])
                row.update(speedup=ratio, speedup_ci_low=low, speedup_ci_high=high)
                row["verdict"] = verdict(low, high)
            rows.append(row)
    return pd.DataFrame(rows, columns=MICRO_COLUMNS)
