"""Two runs side by side (before and after a change): the ratio between them, with its CI.

Per technique, point, load mode and variant measured in both runs: the after/before
ratios of p50, p95 and throughput (above 1: the after run is better), each with a
bootstrap CI over both runs' raw samples and a verdict, beside both runs' figures.
"""

from typing import Any

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.stats.bootstrap import bootstrap_ratio_ci
from pairbench.stats.requests import measured, own
from pairbench.stats.significance import FASTER, SLOWER, verdict
from pairbench.stats.stage import read_summary
from pairbench.stats.summary import RATIOS

KEYS = results.SEGMENT_KEY
FIGURES = ("p50_ms", "p95_ms", "p99_ms", "rps", "requests", "queries_per_request")
BETTER, WORSE = "better", "worse"  # a run against another is better or worse, not faster


def _measured(run: results.Run, key: tuple[str, ...]) -> pd.DataFrame:
    """The measured requests of one variant and condition: its own, as in the summary."""
    samples = results.with_columns(run.samples, results.SAMPLE_COLUMNS)
    mask = pd.Series(True, index=samples.index)
    for column, value in zip(KEYS, key, strict=True):
        mask &= samples[column] == value
    return measured(own(samples[mask]))


def between_runs(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, Any]:
    """after vs before on each headline ratio, from both runs' measured samples."""
    row: dict[str, Any] = {}
    for ratio in RATIOS:
        arms = [ratio.arm(frame) for frame in (before, after)]
        value, low, high = bootstrap_ratio_ci(
            arms[0], arms[1], ratio.statistic, higher_is_better=ratio.higher_is_better
        )
        row[ratio.column] = value
        row.update({f"{ratio.ci}_ci_low": low, f"{ratio.ci}_ci_high": high})
        found = verdict(low, high)
        row[ratio.verdict] = {FASTER: BETTER, SLOWER: WORSE}.get(found, found)
    return row


def compare_runs(before: results.Run, after: results.Run) -> pd.DataFrame:
    """One row per (technique, point, mode, variant) in both runs: figures and ratios.

    The runs need their samples (results.read_run with them); their summaries are the
    stats stage's tables (computed if a run has none).
    """
    first, second = read_summary(before.directory), read_summary(after.directory)
    paired = first.merge(second, on=KEYS, suffixes=("_before", "_after"))
    rows = []
    for record in paired.to_dict("records"):
        key = tuple(str(record[column]) for column in KEYS)
        row: dict[str, Any] = {column: record[column] for column in KEYS}
        for figure in FIGURES:
            row[f"{figure}_before"] = record.get(f"{figure}_before", np.nan)
            row[f"{figure}_after"] = record.get(f"{figure}_after", np.nan)
        row.update(between_runs(_measured(before, key), _measured(after, key)))
        rows.append(row)
    return pd.DataFrame(rows)
