"""Throughput near the load generator's ceiling: a closed-loop figure the generator may set.

Before its segments a run measures the most its closed-loop generator sends to the app's
cheapest route (pairbench.load.ceiling, the manifest's `generator_ceiling`). A variant whose
segments sent CEILING_SHARE of that or more may be measuring the generator, not the app: its
throughput, and a throughput ratio against it, are then lower bounds. Open-loop segments
send a set rate from a schedule, not as fast as users can, so only closed-loop rows are
judged. A mixed workload's segment sends every request kind, so all of them count.
"""

import math
from collections.abc import Mapping

import pandas as pd

from pairbench.manifest import Manifest
from pairbench.results import CLOSED, SEGMENT_KEY, as_float
from pairbench.stats.stability import segment_label

CEILING_SHARE = 0.5  # a variant at half the ceiling or more is flagged


def ceiling_rps(manifest: Manifest) -> float:
    """The ceiling the run measured, in requests per second; NaN if it measured none."""
    entry = manifest.generator_ceiling
    if not isinstance(entry, Mapping) or not entry.get("measured"):
        return math.nan
    rps = as_float(entry.get("rps"))
    return rps if rps > 0 else math.nan


def ceiling_shares(every_kind: pd.DataFrame, ceiling: float) -> "pd.Series[float]":
    """Per summary row (of every request kind), its segments' throughput, all kinds
    together, as a share of the ceiling; NaN for open-loop rows or without a ceiling."""
    if every_kind.empty or not ceiling > 0:
        return pd.Series(math.nan, index=every_kind.index, dtype=float)
    totals = every_kind.groupby(SEGMENT_KEY, sort=False)["rps"].transform("sum")
    shares = totals.astype(float) / ceiling
    return shares.where(every_kind["mode"] == CLOSED)


def ceiling_findings(summary: pd.DataFrame, ceiling: float) -> list[tuple[str, str]]:
    """(technique, message) for each summary row whose ceiling_share reached CEILING_SHARE."""
    if "ceiling_share" not in summary:
        return []
    shares = summary["ceiling_share"].astype(float)
    found = []
    for (_, row), share in zip(summary.iterrows(), shares, strict=True):
        if not share >= CEILING_SHARE:
            continue
        label = segment_label(*(str(row[key]) for key in SEGMENT_KEY))
        message = (
            f"{label}: throughput {share * ceiling:,.0f} req/s is {share:.0%} of the load "
            f"generator's ceiling ({ceiling:,.0f} req/s): the generator may limit this figure"
        )
        found.append((str(row.technique), message))
    return found
