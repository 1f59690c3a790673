"""Service level objectives, judged per variant from its summary row.

By default the seed's (pairbench.slo): p95 under 200 ms, an error rate under 1%,
where a cache is metered, a hit rate above 80%, and where the app's process was watched,
its peak resident memory under 80% of what is available to it; a run judges by the SLOs
it recorded in its manifest. The stats stage writes each row's hit rate and SLO status into
summary.csv; the report shows them with the figures each check used (`slo_checks`).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pairbench.results import as_float
from pairbench.slo import DEFAULT_SLOS, Objective, Slos

MET, MISSED, NO_DATA = "met", "missed", "no data"


@dataclass(frozen=True)
class SloCheck:
    """One objective of one variant: the figure measured and whether it met its target."""

    name: str  # the objective's: "p95_ms", "p99_ms", "error_rate", "cache_hit_rate", ...
    value: float
    target: float
    met: bool


def cache_hit_rate(row: Mapping[str, Any]) -> float:
    """Hits / (hits + misses) per request of a summary row, NaN where no cache is metered."""
    hits, misses = (
        as_float(row.get("cache_hits_per_request")),
        as_float(row.get("cache_misses_per_request")),
    )
    if not (math.isfinite(hits) and math.isfinite(misses)) or hits + misses <= 0:
        return math.nan
    return hits / (hits + misses)


def objective_value(row: Mapping[str, Any], objective: Objective) -> float | None:
    """A summary row's figure for `objective`: None where the objective does not apply (a
    cache hit rate where no cache is metered, a memory share where no app process was
    watched), NaN where nothing was measured."""
    if objective.name == "cache_hit_rate":
        rate = cache_hit_rate(row)
        return rate if math.isfinite(rate) else None
    if objective.name == "memory_share":
        share = as_float(row.get("memory_share"))
        return share if math.isfinite(share) else None
    return as_float(row.get(objective.name))


def slo_checks(row: Mapping[str, Any], slos: Slos = DEFAULT_SLOS) -> list[SloCheck]:
    """The objectives that apply to a summary row (a cache hit rate only where a cache is
    metered); none when it has no successful request."""
    if not math.isfinite(as_float(row.get("p95_ms"))):
        return []
    checks = []
    for objective, limit in slos.limits():
        value = objective_value(row, objective)
        if value is None:
            continue
        checks.append(SloCheck(objective.name, value, limit, objective.met(value, limit)))
    return checks


def slo_status(row: Mapping[str, Any], slos: Slos = DEFAULT_SLOS) -> str:
    """met, missed, or no data (no successful request to judge)."""
    checks = slo_checks(row, slos)
    if not checks:
        return NO_DATA
    return MET if all(check.met for check in checks) else MISSED
