"""The report's memory and first-byte tables: under load (summary) and one request at a time.

Shown only for techniques with such figures: a segment's RSS is recorded for every
technique, but it says something only where memory is the point, so the load table
appears where segments ran in fresh app processes or a workload timed its first byte.
"""

import math
from typing import Any

import pandas as pd

from pairbench import results


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def load_memory_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A point's rows for the memory table, or none if no variant has its figures there."""
    fresh = any(row.get("fresh_process") is True for row in rows)
    timed = any(_finite(row.get("ttfb_p50_ms")) for row in rows)
    return rows if fresh or timed else []


def probe_memory_rows(run: results.Run, key: str, order: list[str]) -> list[dict[str, Any]]:
    """Per point and variant, one request at a time: median latency and time to first byte,
    and the most the app's memory rose during a request."""
    probe = run.probe[run.probe["technique"] == key]
    if probe.empty or not probe["rss_rise_mb"].notna().any():
        return []
    found = []
    for (point, variant), part in probe.groupby(["point", "variant"], sort=False):
        found.append(
            {
                "point": str(point),
                "variant": str(variant),
                "requests": len(part),
                "latency_ms": float(part["latency_ms"].median()),
                "ttfb_ms": float(pd.to_numeric(part["ttfb_ms"]).median()),
                "rss_rise_mb": float(pd.to_numeric(part["rss_rise_mb"]).max()),
            }
        )
    position = {variant: index for index, variant in enumerate(order)}
    return sorted(found, key=lambda row: (row["point"], position.get(row["variant"], len(order))))
