"""The seed's service level objectives, judged per variant from its summary row.

p95 under 200 ms, an error rate under 1%, and, where a cache is metered, a hit rate
above 80%. The stats stage writes each row's hit rate and SLO status into summary.csv;
the report shows them with the figures each check used (`slo_checks`).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLO_P95_MS = 200.0
SLO_ERROR_RATE = 0.01
SLO_CACHE_HIT_RATE = 0.8
MET, MISSED, NO_DATA = "met", "missed", "no data"


@dataclass(frozen=True)
class SloCheck:
    """One objective of one variant: the figure measured and whether it met its target."""

    name: str  # "p95_ms", "error_rate" or "cache_hit_rate"
    value: float
    target: float
    met: bool


def _value(row: Mapping[str, Any], column: str) -> float:
    try:
        return float(row.get(column, math.nan))
    except (TypeError, ValueError):
        return math.nan


def cache_hit_rate(row: Mapping[str, Any]) -> float:
    """Hits / (hits + misses) per request of a summary row, NaN where no cache is metered."""
    hits, misses = _value(row, "cache_hits_per_request"), _value(row, "cache_misses_per_request")
    if not (math.isfinite(hits) and math.isfinite(misses)) or hits + misses <= 0:
        return math.nan
    return hits / (hits + misses)


def slo_checks(row: Mapping[str, Any]) -> list[SloCheck]:
    """The objectives that apply to a summary row; none when it has no successful request."""
    p95, errors = _value(row, "p95_ms"), _value(row, "error_rate")
    if not math.isfinite(p95):
        return []
    checks = [
        SloCheck("p95_ms", p95, SLO_P95_MS, p95 < SLO_P95_MS),
        SloCheck("error_rate", errors, SLO_ERROR_RATE, errors < SLO_ERROR_RATE),
    ]
    hit_rate = cache_hit_rate(row)
    if math.isfinite(hit_rate):
        checks.append(
            SloCheck("cache_hit_rate", hit_rate, SLO_CACHE_HIT_RATE, hit_rate > SLO_CACHE_HIT_RATE)
        )
    return checks


def slo_status(row: Mapping[str, Any]) -> str:
    """met, missed, or no data (no successful request to judge)."""
    checks = slo_checks(row)
    if not checks:
        return NO_DATA
    return MET if all(check.met for check in checks) else MISSED
