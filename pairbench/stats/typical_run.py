"""Which of several runs of the same code is each technique's typical one, for a baseline.

A baseline taken from one run inherits that run's luck. Over 16 gate runs of unchanged
code, pooling's speedup came out between 4.98x and 6.57x, and the run the committed
baseline came from held the highest: its limit then sat just below the lowest figures
the other runs measured. Given several runs, a technique's entries come from the run
whose headline speedups rank in the middle of them: one run's figures (CIs and costs
that belong together), not a median of figures from different runs.

A run's rank for a technique is the mean, over the technique's optimized variants that
every run measured, of its speedup's rank among the runs'; ranks, not ratios, so that a
growth headline (what a variant saves, which may be 0) counts as a ratio does. Of an
even number of runs, the lower of the two middle ones is taken: a baseline a little low
costs the gate a little sensitivity, one a little high costs false alarms.
"""

from collections.abc import Mapping, Sequence

import pandas as pd

from pairbench.results import CONTROL_KEY, SEGMENT_KEY


def _speedups(summary: pd.DataFrame) -> pd.Series:
    """The optimized variants' headline speedups (p50's where the summary has no headline),
    indexed by technique, variant, point and mode."""
    gated = summary[
        (summary["technique"].astype(str) != CONTROL_KEY) & ~summary["baseline"].astype(bool)
    ]
    column = "headline_speedup" if "headline_speedup" in gated else "speedup_p50"
    keys = [key for key in SEGMENT_KEY if key in gated]
    speedups = pd.to_numeric(gated.set_index(keys)[column], errors="coerce")
    return speedups.dropna()


def typical_runs(summaries: Sequence[pd.DataFrame]) -> dict[str, int]:
    """technique -> the index in `summaries` (runs of the same code) of its typical run."""
    table = pd.concat([_speedups(summary) for summary in summaries], axis=1, join="inner")
    if table.empty:
        return {}
    ranks = table.rank(axis=1)  # per variant, each run's rank among the runs
    chosen = {}
    for technique, rows in ranks.groupby(level="technique", sort=False):
        by_run = sorted((score, index) for index, score in enumerate(rows.mean()))
        chosen[str(technique)] = by_run[(len(by_run) - 1) // 2][1]
    return chosen


def typical_summary(summaries: Sequence[pd.DataFrame], chosen: Mapping[str, int]) -> pd.DataFrame:
    """The first summary with each technique in `chosen` taken from its typical run instead,
    in the first summary's order (the A/A control and the rest stay the first's)."""
    first = summaries[0]
    parts = []
    for technique in dict.fromkeys(first["technique"].astype(str)):
        source = summaries[chosen.get(technique, 0)]
        parts.append(source[source["technique"].astype(str) == technique])
    return pd.concat(parts, ignore_index=True)
