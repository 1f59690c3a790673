"""Seeded hierarchical bootstrap: confidence intervals that respect repetitions.

An arm is a list of repetitions (arrays of samples). A resample draws repetitions with
replacement, then samples within each drawn repetition, so drift between repetitions
widens the interval as it should. Quantiles take an exact fast path; any other
statistic is resampled in bounded batches.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Random = np.random.Generator
Statistic = Callable[..., Any]  # numpy-style: accepts axis=
Arm = Sequence[npt.ArrayLike]

DEFAULT_RESAMPLES = 2000
BATCH_ELEMENTS = 1_000_000  # bounds the memory of one batch of generic resamples


def _resample_statistic(
    repetitions: list[Floats], statistic: Statistic, resamples: int, rng: Random
) -> Floats:
    """`statistic` of each hierarchical resample of one arm (repetitions, then samples).

    Slot j of a resample keeps repetition j's size but draws, with replacement, from a
    repetition picked at random: resamples are rows of one matrix, reduced along axis 1.
    """
    sizes = np.array([len(rep) for rep in repetitions])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pooled = np.concatenate(repetitions)
    batch = max(1, BATCH_ELEMENTS // len(pooled))
    found = np.empty(resamples)
    for start in range(0, resamples, batch):
        rows = min(batch, resamples - start)
        picked = rng.integers(0, len(sizes), size=(rows, len(sizes)))
        columns = [
            offsets[picked[:, [slot]]] + rng.integers(0, sizes[picked[:, [slot]]], (rows, size))
            for slot, size in enumerate(sizes)
        ]
        found[start : start + rows] = statistic(pooled[np.hstack(columns)], axis=1)
    return found


@dataclass
class _OrderStatisticSearch:
    """Bisection state, per resample, locating one order statistic among pooled ranks."""

    low: Ints  # the statistic's pooled rank lies in [low, high)
    high: Ints
    counts: Ints  # per slot, how many of its draws fall in [low, high)
    target: Ints  # 1-based position of the statistic within [low, high)

    def share_below_middle(self, below: Ints, picked: Ints) -> Floats:
        """Per slot, the chance that one of its draws in [low, high) is below the midpoint."""
        start, end = below[picked, self.low[:, None]], below[picked, self.high[:, None]]
        under = below[picked, ((self.low + self.high) // 2)[:, None]] - start
        share: Floats = np.divide(under, end - start, out=np.zeros(under.shape), where=end > start)
        return share

    def descend(self, drawn_below: Ints) -> None:
        """Keep the half holding the target, given each slot's draws below the midpoint."""
        middle, total_below = (self.low + self.high) // 2, drawn_below.sum(axis=1)
        go_low = self.target <= total_below
        self.low = np.where(go_low, self.low, middle)
        self.high = np.where(go_low, middle, self.high)
        self.counts = np.where(go_low[:, None], drawn_below, self.counts - drawn_below)
        self.target = np.where(go_low, self.target, self.target - total_below)


def _resample_quantile(repetitions: list[Floats], q: float, resamples: int, rng: Random) -> Floats:
    """The same resampling as `_resample_statistic`, for the q-th percentile, exactly.

    A percentile (linear interpolation, numpy's default) needs only two order statistics
    of a resample. Each is found by bisection over the pooled sorted values: given how
    many of a slot's draws fell in an interval, the number below its midpoint is
    binomial. Exact in distribution, O(resamples x repetitions x log n).
    """
    sizes = np.array([len(rep) for rep in repetitions], dtype=np.int64)
    pooled = np.concatenate(repetitions)
    total = len(pooled)
    order = np.argsort(pooled, kind="stable")
    owner = np.repeat(np.arange(len(sizes)), sizes)[order]
    below = np.zeros((len(sizes), total + 1), dtype=np.int64)  # [rep, pooled rank]
    below[:, 1:] = np.cumsum(owner[np.newaxis, :] == np.arange(len(sizes))[:, None], axis=1)
    picked = rng.integers(0, len(sizes), size=(resamples, len(sizes)))
    position = (total - 1) * q / 100.0
    lower_index = int(np.floor(position))
    fraction = position - lower_index
    ranks = (lower_index + 1, min(lower_index + 2, total))  # 1-based
    lower, upper = (
        _OrderStatisticSearch(
            low=np.zeros(resamples, dtype=np.int64),
            high=np.full(resamples, total, dtype=np.int64),
            counts=np.broadcast_to(sizes, picked.shape).copy(),
            target=np.full(resamples, rank, dtype=np.int64),
        )
        for rank in ranks
    )
    for _ in range(int(np.ceil(np.log2(max(total, 2))))):
        # While both searches share an interval they must see the same draws.
        together = (lower.low == upper.low) & (lower.high == upper.high)
        lower_draws = rng.binomial(lower.counts, lower.share_below_middle(below, picked))
        upper_draws = rng.binomial(upper.counts, upper.share_below_middle(below, picked))
        lower.descend(lower_draws)
        upper.descend(np.where(together[:, None], lower_draws, upper_draws))
    values = pooled[order]
    found: Floats = values[lower.low] + fraction * (values[upper.low] - values[lower.low])
    return found


def _clean(arm: Arm) -> list[Floats]:
    """An arm's non-empty repetitions as float arrays."""
    arrays = [np.asarray(rep, dtype=float) for rep in arm]
    return [rep for rep in arrays if rep.size]


def _quantile_of(statistic: Statistic) -> float | None:
    """The percentile a statistic computes, if it is one we have an exact fast path for."""
    return 50.0 if statistic is np.median else None


def resample(arm: Arm, statistic: Statistic | float, resamples: int, rng: Random) -> Floats:
    """`resamples` bootstrap replicates of a statistic (a function, or a percentile 0..100)."""
    repetitions = _clean(arm)
    if isinstance(statistic, float | int):
        return _resample_quantile(repetitions, float(statistic), resamples, rng)
    q = _quantile_of(statistic)
    if q is not None:
        return _resample_quantile(repetitions, q, resamples, rng)
    return _resample_statistic(repetitions, statistic, resamples, rng)


def point_estimate(arm: Arm, statistic: Statistic | float) -> float:
    """The statistic of all of an arm's samples pooled."""
    pooled = np.concatenate(_clean(arm))
    if isinstance(statistic, float | int):
        return float(np.percentile(pooled, float(statistic), method="linear"))
    return float(statistic(pooled))


def bootstrap_ratio_ci(
    baseline: Arm,
    variant: Arm,
    statistic: Statistic | float = np.median,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    *,
    higher_is_better: bool = False,
) -> tuple[float, float, float]:
    """A speedup and its percentile-bootstrap CI: (ratio, low, high); NaNs if an arm is empty.

    For times (the default), ratio = statistic(baseline) / statistic(variant); for rates
    (`higher_is_better`), statistic(variant) / statistic(baseline). Either way above 1
    means the variant is better. `statistic` is a numpy-style function accepting `axis=`
    or a percentile (0..100); np.median and percentiles take the exact fast path.
    """
    if not _clean(baseline) or not _clean(variant):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    base_point, other_point = (
        point_estimate(baseline, statistic),
        point_estimate(variant, statistic),
    )
    base_stats, other_stats = (
        resample(arm, statistic, resamples, rng) for arm in (baseline, variant)
    )
    top, bottom = (other_stats, base_stats) if higher_is_better else (base_stats, other_stats)
    top_point, bottom_point = (
        (other_point, base_point) if higher_is_better else (base_point, other_point)
    )
    if not bottom_point > 0:
        return float("nan"), float("nan"), float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample can hold only zeros
        replicates = top / bottom
    low, high = _interval(replicates[~np.isnan(replicates)], confidence)
    return float(top_point / bottom_point), low, high


def _interval(replicates: Floats, confidence: float) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates (infinite ones taken as they fall)."""
    if not replicates.size:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    if np.isfinite(replicates).all():
        low, high = np.percentile(replicates, [tail, 100.0 - tail], method="linear")
    else:  # interpolating next to an infinite replicate gives inf - inf
        low, high = np.percentile(replicates, [tail, 100.0 - tail], method="nearest")
    return float(low), float(high)


def bootstrap_ci(
    arm: Arm,
    statistic: Statistic | float = np.mean,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """One arm's statistic with its percentile-bootstrap CI: (value, low, high)."""
    if not _clean(arm):
        return float("nan"), float("nan"), float("nan")
    replicates = resample(arm, statistic, resamples, np.random.default_rng(seed))
    low, high = _interval(replicates, confidence)
    return point_estimate(arm, statistic), low, high
