"""The report's memory and first-byte tables: under load (summary) and one request at a time.

Shown only where they say something: a segment's RSS is recorded for every technique,
but it is the point only where the technique says its figures are memory (it declares
memory_figures or fresh_process; for a run's data alone, its segments ran in fresh
processes) or a workload timed its first byte. Everything here is read from the stats
stage's tables.
"""

from typing import Any

import pandas as pd

from bench_app.technique import Technique
from pairbench import results


def load_memory_rows(rows: list[dict[str, Any]], matters: bool) -> list[dict[str, Any]]:
    """A point's summary rows for the memory table, or none if it would say nothing."""
    timed = any(results.is_finite(row.get("ttfb_p50_ms")) for row in rows)
    return rows if matters or timed else []


def memory_matters(technique: Technique | None, summary: pd.DataFrame) -> bool:
    """Whether a technique's figures include the app's memory."""
    if technique is not None:
        return technique.memory_figures or technique.fresh_process
    return bool(summary["app_process"].isin([results.APP_FRESH, results.APP_OWN]).any())


def probe_memory_rows(
    probe: pd.DataFrame, points: list[str], variants: list[str]
) -> list[dict[str, Any]]:
    """The probe summary's rows of one technique, in `points` order, then `variants` order."""
    if probe.empty or "rss_rise_mb" not in probe or not probe["rss_rise_mb"].notna().any():
        return []
    place = {label: index for index, label in enumerate(points)}
    position = {variant: index for index, variant in enumerate(variants)}
    rows = [{str(name): value for name, value in row.items()} for row in probe.to_dict("records")]
    return sorted(
        rows,
        key=lambda row: (
            place.get(str(row["point"]), len(place)),
            position.get(str(row["variant"]), len(position)),
        ),
    )
