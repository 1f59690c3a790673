"""Drift: a trend across a point's rounds, which more rounds cannot average away.

Interleaved rounds cancel drift of the machine between the variants of one round, but a
system that is still settling (a database after seeding, caches filling, a leak) moves
every round a little further: the rounds are then not repetitions of one experiment, and
their spread says less than it seems. Per variant, the rank correlation (Spearman) of
its round figures (its headline's, pairbench.stats.headline) with the round index tests
for a monotone trend, like pyperf's stability warnings: exact (every ordering) up to
EXACT_UP_TO rounds, the t approximation beyond. Up to five rounds can never show one at
this level (the two most extreme of 5! orderings are 1.7% of them), so the check speaks
from six rounds on: a quick run's points that stop at their minimum rounds are not
checked.
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench_app.headline import Headline
from pairbench.results import SEGMENT_KEY
from pairbench.stats.headline import round_figures
from pairbench.stats.requests import measured
from pairbench.stats.stability import segment_label

DRIFT_SIGNIFICANCE = 0.01  # a run checks dozens of variants: 0.05 would cry wolf in most runs
EXACT_UP_TO = 8  # rounds: 8! orderings are still quick to enumerate
DRIFT_PREFIX = "drift: "  # how a drift warning starts, in warnings.csv and the manifest


@dataclass(frozen=True)
class Trend:
    """The rank correlation of values with their order, and its two-sided p-value."""

    rho: float
    p_value: float
    rounds: int

    @property
    def significant(self) -> bool:
        return self.p_value < DRIFT_SIGNIFICANCE


def _spearman(ranks: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `ranks` with `order` (the rank correlation)."""
    centred, against = ranks - ranks.mean(axis=-1, keepdims=True), order - order.mean()
    scale = np.sqrt((centred**2).sum(axis=-1) * (against**2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        found: np.ndarray = (centred * against).sum(axis=-1) / scale
    return found


def round_trend(values: Sequence[float]) -> Trend:
    """The monotone trend of `values` (in round order): Spearman's rho and its p-value."""
    finite = np.asarray([value for value in values if math.isfinite(value)], dtype=float)
    count = int(finite.size)
    if count < 3 or np.ptp(finite) == 0:
        return Trend(0.0, 1.0, count)
    ranks, order = scipy_stats.rankdata(finite), np.arange(count, dtype=float)
    rho = float(_spearman(ranks, order))
    if count <= EXACT_UP_TO:
        every = np.array(list(itertools.permutations(ranks)), dtype=float)
        null = _spearman(every, order)
        p_value = float(np.mean(np.abs(null) >= abs(rho) - 1e-12))
    else:
        p_value = float(scipy_stats.spearmanr(order, finite).pvalue)
    return Trend(rho, p_value, count)


def drift_findings(
    samples: pd.DataFrame, segments: pd.DataFrame, headlines: Mapping[str, Headline]
) -> list[tuple[str, str]]:
    """(technique, warning) for each variant at a point and mode whose round figures trend."""
    found = []
    requests = measured(samples)
    for (technique, variant, point, mode), part in requests.groupby(SEGMENT_KEY, sort=False):
        headline = headlines.get(str(technique), Headline())
        mine = segments[
            (segments["technique"].astype(str) == str(technique))
            & (segments["variant"].astype(str) == str(variant))
            & (segments["point"].astype(str) == str(point))
            & (segments["mode"].astype(str) == str(mode))
        ]
        figures = round_figures(part, mine, headline)
        trend = round_trend([figures[key] for key in sorted(figures)])
        if not trend.significant:
            continue
        label = segment_label(str(technique), str(variant), str(point), str(mode))
        first, last = figures[min(figures)], figures[max(figures)]
        direction = "rose" if trend.rho > 0 else "fell"
        found.append(
            (
                str(technique),
                f"{DRIFT_PREFIX}{label}: its {headline.label} {direction} "
                f"across its {trend.rounds} rounds ({first:.3g} to {last:.3g} {headline.unit}; "
                f"Spearman rho {trend.rho:+.2f}, p {trend.p_value:.3f}): the system was not in a "
                "steady state, so more rounds do not narrow what its CI claims",
            )
        )
    return found
