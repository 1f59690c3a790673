"""What the harness's own measuring costs the app: overhead.csv summarized against the floor.

Each round measured every configuration back to back, so a round's ratio (a
configuration's CPU time per request over the floor's, in the same round) cancels
whatever the machine did meanwhile; the overhead is the median of those ratios,
with a bootstrap CI over the rounds.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.bootstrap import bootstrap_ci

FLOOR = "off"  # the configuration with neither the meter nor /metrics (load.overhead)
OVERHEAD_TARGET = 0.03  # the meter and /metrics together may cost at most 3% throughput
OVERHEAD_SUMMARY_COLUMNS = [
    "target",
    "path",
    "config",
    "rounds",
    "requests",
    "cpu_us_per_request",
    "extra_us_per_request",
    "overhead",
    "overhead_ci_low",
    "overhead_ci_high",
    "within_target",
]


def read_overhead(run_dir: Path) -> pd.DataFrame:
    """A run's overhead.csv; empty when the run did not measure it."""
    columns = results.OVERHEAD_COLUMNS
    return results.read_run_table(run_dir / results.OVERHEAD, columns, columns)


def summarize_overhead(table: pd.DataFrame, floor: str = FLOOR) -> pd.DataFrame:
    """Per target and configuration: CPU per request, and its overhead over `floor`'s."""
    rows = []
    for target, measured in table.groupby("target", sort=False):
        by_round = measured.pivot_table(
            index="round", columns="config", values="cpu_us_per_request", aggfunc="median"
        )
        if floor not in by_round:
            continue
        for config in dict.fromkeys(measured["config"]):
            paired = by_round[[floor, config]].dropna()
            ratios = (paired[config] / paired[floor] - 1.0).to_numpy(dtype=float)
            overhead, low, high = (
                bootstrap_ci([ratios], np.median) if config != floor else (0.0, 0.0, 0.0)
            )
            cpu = float(by_round[config].median())
            rows.append(
                {
                    "target": target,
                    "path": str(measured["path"].iloc[0]),
                    "config": config,
                    "rounds": len(paired),
                    "requests": int(measured.loc[measured["config"] == config, "requests"].sum()),
                    "cpu_us_per_request": cpu,
                    "extra_us_per_request": cpu - float(by_round[floor].median()),
                    "overhead": overhead,
                    "overhead_ci_low": low,
                    "overhead_ci_high": high,
                    "within_target": bool(overhead <= OVERHEAD_TARGET),
                }
            )
    return pd.DataFrame(rows, columns=OVERHEAD_SUMMARY_COLUMNS)
