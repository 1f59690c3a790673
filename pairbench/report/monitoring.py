"""The report's monitoring parts: what measuring cost the app, and each variant's slow queries.

Read from the run's overhead.csv and slow_queries.csv (either may be missing: a smoke
run does not measure the overhead, a run without a slow statement keeps none).
"""

import math
from pathlib import Path
from typing import Any

from pairbench import results
from pairbench.load.overhead import FLOOR, read_overhead
from pairbench.load.slow_queries import read_slow_queries
from pairbench.stats.overhead import OVERHEAD_TARGET, summarize_overhead

SLOWEST_PER_VARIANT = 3
# A CI wider than this (in overhead, as a fraction) says more about the machine than the meter.
NOISY_CI_WIDTH = 2 * OVERHEAD_TARGET


def overhead_view(run_dir: Path) -> dict[str, Any]:
    """The trust section's table: per route, each configuration's CPU per request and its
    overhead over the floor, or why it was not measured."""
    manifest = results.read_manifest(run_dir)
    noted = manifest.get("overhead")
    noted = noted if isinstance(noted, dict) else {}
    table = read_overhead(run_dir)
    if not len(table):
        reason = noted.get("error") or f"not measured in a {manifest.get('profile', '?')} run"
        return {"measured": False, "reason": reason, "target": OVERHEAD_TARGET}
    summary = summarize_overhead(table, FLOOR)
    rows = [{str(name): value for name, value in row.items()} for row in summary.to_dict("records")]
    worst = max(
        (
            row["overhead"]
            for row in rows
            if row["config"] != FLOOR and math.isfinite(row["overhead"])
        ),
        default=math.nan,
    )
    measured = [row for row in rows if row["config"] != FLOOR]
    noisy = any(
        not row["overhead_ci_high"] - row["overhead_ci_low"] <= NOISY_CI_WIDTH for row in measured
    )
    return {
        "measured": True,
        "noisy": noisy,
        "rows": rows,
        "floor": FLOOR,
        "target": OVERHEAD_TARGET,
        "worst": worst,
        "within_target": bool(worst <= OVERHEAD_TARGET),
        "requests": int(table["requests"].sum()),
    }


def slow_queries_by_technique(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """technique -> its variants' slowest statements (the slowest few of each variant)."""
    table = read_slow_queries(run_dir)
    found: dict[str, list[dict[str, Any]]] = {}
    if not len(table):
        return found
    table = table.sort_values("max_ms", ascending=False, kind="stable")
    for (technique, _variant), rows in table.groupby(["technique", "variant"], sort=False):
        for row in rows.head(SLOWEST_PER_VARIANT).to_dict("records"):
            found.setdefault(str(technique), []).append({str(k): v for k, v in row.items()})
    return found


def slow_query_threshold(run_dir: Path) -> float | None:
    """The app's slow-query threshold in ms, as the run recorded it (None if it did not)."""
    values = read_slow_queries(run_dir)["threshold_ms"].dropna()
    return float(values.iloc[0]) if len(values) else None
