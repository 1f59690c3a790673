"""The report's monitoring parts: what measuring cost the app, and each variant's slow queries.

From the stats stage's overhead_summary.csv and the run's slow_queries.csv (either may
be empty: a smoke run does not measure the overhead, a run without a slow statement
keeps none).
"""

import math
from pathlib import Path
from typing import Any

import pandas as pd

from pairbench import results
from pairbench.manifest import Manifest
from pairbench.stats.overhead import FLOOR, OVERHEAD_TARGET

SLOWEST_PER_VARIANT = 3
# A CI wider than this (in overhead, as a fraction) says more about the machine than the meter.
NOISY_CI_WIDTH = 2 * OVERHEAD_TARGET


def overhead_view(summary: pd.DataFrame, manifest: Manifest) -> dict[str, Any]:
    """The trust section's table: per route, each configuration's CPU per request and its
    overhead over the floor, or why it was not measured."""
    if not len(summary):
        noted = manifest.overhead
        error = noted.get("error") if isinstance(noted, dict) else None
        reason = error or f"not measured in a {manifest.profile} run"
        return {"measured": False, "reason": reason, "target": OVERHEAD_TARGET}
    rows = [{str(name): value for name, value in row.items()} for row in summary.to_dict("records")]
    measured = [row for row in rows if row["config"] != FLOOR]
    worst = max(
        (float(row["overhead"]) for row in measured if math.isfinite(float(row["overhead"]))),
        default=math.nan,
    )
    noisy = any(
        not float(row["overhead_ci_high"]) - float(row["overhead_ci_low"]) <= NOISY_CI_WIDTH
        for row in measured
    )
    return {
        "measured": True,
        "noisy": noisy,
        "rows": rows,
        "floor": FLOOR,
        "target": OVERHEAD_TARGET,
        "worst": worst,
        "requests": int(sum(row["requests"] for row in rows)),
    }


def _slow_queries(run_dir: Path) -> pd.DataFrame:
    columns = results.SLOW_QUERY_COLUMNS
    return results.read_run_table(run_dir / results.SLOW_QUERIES, columns, columns[:4])


def slow_queries_by_technique(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """technique -> its variants' slowest statements (the slowest few of each variant)."""
    table = _slow_queries(run_dir)
    found: dict[str, list[dict[str, Any]]] = {}
    if not len(table):
        return found
    table = table.sort_values("max_ms", ascending=False, kind="stable")
    for (technique, _variant), rows in table.groupby(["technique", "variant"], sort=False):
        for row in rows.head(SLOWEST_PER_VARIANT).to_dict("records"):
            found.setdefault(str(technique), []).append({str(k): v for k, v in row.items()})
    return found


def slow_query_ms(run_dir: Path) -> float:
    """The app's slow-query threshold in ms, as the run recorded it (0 if it did not)."""
    values = _slow_queries(run_dir)["threshold_ms"].dropna()
    return float(values.iloc[0]) if len(values) else 0.0
