"""Statistics on raw per-request samples: percentiles, speedups with bootstrap CIs, warnings.

Every figure comes from the raw samples (never from pre-rounded percentiles), and every
speedup carries a confidence interval and a verdict saying whether it is significant.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bench_app.metering import COST_HEADERS

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Random = np.random.Generator

MEASURE_PHASE = "measure"
MAX_REPETITION_CV = 0.10  # pyperf warns past 10% spread between runs
MAX_GENERATOR_CPU = 90.0  # past this the load generator, not the app, sets the pace
MIN_SAMPLES = 100
BOOTSTRAP_BATCH_ELEMENTS = 1_000_000  # bounds the memory of one batch of resamples

SUMMARY_COLUMNS = [
    "technique", "variant", "point", "baseline", "requests", "failures", "error_rate",
    "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms",
    *(f"{name}_per_request" for name in COST_HEADERS), "bytes_per_request",
    "equivalent", "speedup_p50", "speedup_ci_low", "speedup_ci_high", "verdict",
    "repetitions", "users", "generator_cpu_max",
]  # fmt: skip
COST_COLUMNS = {  # summary column -> the meter's column it averages over successful requests
    **{f"{name}_per_request": name for name in COST_HEADERS},
    "bytes_per_request": "bytes",
}
VERDICTS = ("baseline", "faster", "slower", "no significant difference", "no baseline", "no data")


def percentile(values: npt.ArrayLike, q: float) -> float:
    """The q-th percentile (0..100) of raw samples; NaN if empty.

    Linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7).
    """
    array = np.asarray(values, dtype=float)
    return float(np.percentile(array, q, method="linear")) if array.size else float("nan")


def _bootstrap_statistics(
    repetitions: list[Floats], statistic: Callable[..., Any], resamples: int, rng: Random
) -> Floats:
    """`statistic` of each hierarchical resample of one arm (repetitions, then samples).

    Slot j of a resample keeps repetition j's size but draws, with replacement, from a
    repetition picked at random: resamples are rows of one matrix, reduced along axis 1.
    """
    sizes = np.array([len(rep) for rep in repetitions])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pooled = np.concatenate(repetitions)
    batch = max(1, BOOTSTRAP_BATCH_ELEMENTS // len(pooled))
    results = np.empty(resamples)
    for start in range(0, resamples, batch):
        rows = min(batch, resamples - start)
        picked = rng.integers(0, len(sizes), size=(rows, len(sizes)))
        columns = [
            offsets[picked[:, [slot]]] + rng.integers(0, sizes[picked[:, [slot]]], (rows, size))
            for slot, size in enumerate(sizes)
        ]
        results[start : start + rows] = statistic(pooled[np.hstack(columns)], axis=1)
    return results


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


def _bootstrap_medians(repetitions: list[Floats], resamples: int, rng: Random) -> Floats:
    """The same hierarchical resampling as `_bootstrap_statistics`, for the median, exactly.

    It draws only the two middle order statistics of each resample, by bisection over
    the pooled sorted values: given how many of a slot's draws fell in an interval, the
    number below its midpoint is binomial. Exact in distribution, O(resamples x log n).
    """
    sizes = np.array([len(rep) for rep in repetitions], dtype=np.int64)
    pooled = np.concatenate(repetitions)
    order = np.argsort(pooled, kind="stable")
    owner = np.repeat(np.arange(len(sizes)), sizes)[order]
    below = np.zeros((len(sizes), len(pooled) + 1), dtype=np.int64)  # [rep, pooled rank]
    below[:, 1:] = np.cumsum(owner[np.newaxis, :] == np.arange(len(sizes))[:, None], axis=1)
    picked = rng.integers(0, len(sizes), size=(resamples, len(sizes)))
    middle_ranks = ((len(pooled) + 1) // 2, len(pooled) // 2 + 1)  # equal when n is odd
    lower, upper = (
        _OrderStatisticSearch(
            low=np.zeros(resamples, dtype=np.int64),
            high=np.full(resamples, len(pooled), dtype=np.int64),
            counts=np.broadcast_to(sizes, picked.shape).copy(),
            target=np.full(resamples, rank, dtype=np.int64),
        )
        for rank in middle_ranks
    )
    for _ in range(int(np.ceil(np.log2(max(len(pooled), 2))))):
        together = (lower.low == upper.low) & (lower.high == upper.high)
        lower_draws = rng.binomial(lower.counts, lower.share_below_middle(below, picked))
        upper_draws = rng.binomial(upper.counts, upper.share_below_middle(below, picked))
        lower.descend(lower_draws)
        upper.descend(np.where(together[:, None], lower_draws, upper_draws))
    values = pooled[order]
    medians: Floats = (values[lower.low] + values[upper.low]) / 2.0
    return medians


def bootstrap_ratio_ci(
    baseline: Sequence[npt.ArrayLike],
    variant: Sequence[npt.ArrayLike],
    statistic: Callable[..., Any] = np.median,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Speedup statistic(baseline) / statistic(variant) with its CI: (ratio, low, high).

    Each arm is a list of repetitions (arrays of samples). The CI is the percentile interval
    of a seeded hierarchical bootstrap: repetitions are resampled with replacement, then
    samples within each picked one, so drift between repetitions widens it as it should.
    `statistic` must accept `axis=`; np.median takes an exact fast path. NaNs if no samples.
    """
    arms = [[np.asarray(rep, dtype=float) for rep in arm] for arm in (baseline, variant)]
    base, other = ([rep for rep in arm if rep.size] for arm in arms)
    if not base or not other:
        return float("nan"), float("nan"), float("nan")
    ratio = float(statistic(np.concatenate(base)) / statistic(np.concatenate(other)))
    rng = np.random.default_rng(seed)
    base_stats, other_stats = (
        _bootstrap_medians(arm, resamples, rng)
        if statistic is np.median
        else _bootstrap_statistics(arm, statistic, resamples, rng)
        for arm in (base, other)
    )
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(base_stats / other_stats, [tail, 100.0 - tail])
    return ratio, float(low), float(high)


def verdict(ci_low: float, ci_high: float) -> str:
    """Whether a speedup CI shows the variant faster, slower, or neither (it contains 1)."""
    if np.isnan(ci_low) or np.isnan(ci_high):
        return "no data"
    return "faster" if ci_low > 1.0 else "slower" if ci_high < 1.0 else "no significant difference"


def _failed(frame: pd.DataFrame) -> "pd.Series[bool]":
    """Which requests failed: a connection error (status 0) or an HTTP error status."""
    return (frame["status"] == 0) | (frame["status"] >= 400)


def _successful_repetitions(frame: pd.DataFrame) -> list[Floats]:
    """Latencies of the successful requests, one array per repetition."""
    ok = frame[~_failed(frame)]
    return [part["latency_ms"].to_numpy(dtype=float) for _, part in ok.groupby("repetition")]


def _measured_seconds(frame: pd.DataFrame) -> float:
    """Measured time summed over repetitions: first send to last completion in each."""
    finished = (frame["t_start"] + frame["latency_ms"] / 1000.0).groupby(frame["repetition"])
    return float((finished.max() - frame.groupby("repetition")["t_start"].min()).sum())


def _describe(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts, throughput, latency percentiles and mean costs of one variant's requests."""
    failed, seconds, nan = _failed(frame), _measured_seconds(frame), float("nan")
    ok = frame[~failed]
    latency = ok["latency_ms"].to_numpy(dtype=float)
    row: dict[str, Any] = {
        "requests": len(frame),
        "failures": int(failed.sum()),
        "error_rate": float(failed.mean()) if len(frame) else nan,
        "rps": len(frame) / seconds if seconds > 0 else nan,
        "max_ms": float(latency.max()) if latency.size else nan,
        "mean_ms": float(latency.mean()) if latency.size else nan,
        "repetitions": int(frame["repetition"].nunique()),
    }
    row.update({f"p{q}_ms": percentile(latency, q) for q in (50, 90, 95, 99)})
    for name, column in COST_COLUMNS.items():
        values = ok[column].astype(float) if column in ok else pd.Series([nan])
        row[name] = float(values.mean()) if values.notna().any() else nan
    return row


def _segment_maxima(segments: pd.DataFrame, column: str) -> dict[tuple[str, str, str], float]:
    """Per (technique, variant, point), the largest value of a segments column."""
    if segments.empty or column not in segments:
        return {}
    maxima = segments.groupby(["technique", "variant", "point"], as_index=False)[column].max()
    rows = zip(maxima["technique"], maxima["variant"], maxima["point"], maxima[column], strict=True)
    return {(str(t), str(v), str(p)): float(m) for t, v, p, m in rows}


def summarize(
    samples: pd.DataFrame,
    segments: pd.DataFrame,
    equivalence: dict[str, dict[str, dict[str, Any]]],
    baselines: dict[str, str],
    resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per technique x variant x point of the measure phase (SUMMARY_COLUMNS).

    Latency percentiles and mean costs count successful requests only. rps = measured
    requests / measured seconds, a repetition's measured time running from its first
    measured send to its last completion (warm-up excluded without trusting the segment
    clock). speedup = baseline p50 / variant p50 with its CI (`bootstrap_ratio_ci`).
    """
    users, cpu = _segment_maxima(segments, "users"), _segment_maxima(segments, "generator_cpu_max")
    rows: list[dict[str, Any]] = []
    measured = samples[samples["phase"] == MEASURE_PHASE]
    for (technique, point), group in measured.groupby(["technique", "point"], sort=False):
        base_name = baselines.get(str(technique))
        parts = {str(name): part for name, part in group.groupby("variant", sort=False)}
        base_reps = _successful_repetitions(parts[base_name]) if base_name in parts else []
        for variant in sorted(parts, key=lambda name: name != base_name):
            key = (str(technique), variant, str(point))
            row: dict[str, Any] = dict(zip(("technique", "variant", "point"), key, strict=True))
            row["baseline"] = variant == base_name
            row.update(_describe(parts[variant]))
            found = equivalence.get(key[0], {}).get(variant, {})
            row["equivalent"] = bool(found.get("equivalent", False))
            reps = _successful_repetitions(parts[variant])
            if row["baseline"] and reps:
                ratio, low, high, row["verdict"] = 1.0, 1.0, 1.0, "baseline"
            else:
                ratio, low, high = bootstrap_ratio_ci(base_reps, reps, np.median, resamples, seed)
                row["verdict"] = "no baseline" if reps and not base_reps else verdict(low, high)
            row.update(speedup_p50=ratio, speedup_ci_low=low, speedup_ci_high=high)
            row.update(users=users.get(key, np.nan), generator_cpu_max=cpu.get(key, np.nan))
            rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _label(technique: Any, variant: Any, point: Any) -> str:
    return f"{technique}/{variant}" + (f" at {point}" if point else "")


def stability_warnings(samples: pd.DataFrame, segments: pd.DataFrame) -> list[str]:
    """pyperf-style warnings on figures not to trust: noise, saturation, failures, few samples."""
    warnings: list[str] = []
    measured = samples[samples["phase"] == MEASURE_PHASE]
    for key, frame in measured.groupby(["technique", "variant", "point"], sort=False):
        label = _label(*key)
        medians = np.array([np.median(rep) for rep in _successful_repetitions(frame)])
        spread = medians.std(ddof=1) / medians.mean() if medians.size >= 2 else 0.0
        if spread > MAX_REPETITION_CV:
            warnings.append(
                f"{label}: per-repetition medians vary by {spread:.1%} (more than "
                f"{MAX_REPETITION_CV:.0%}); the machine is noisy: add repetitions or quiet it"
            )
        failed = frame[_failed(frame)]
        if not failed.empty:
            causes = failed["status"].map(lambda s: "connection error" if s == 0 else f"HTTP {s}")
            detail = ", ".join(f"{cause} x{n}" for cause, n in causes.value_counts().items())
            warnings.append(f"{label}: {len(failed)} of {len(frame)} requests failed ({detail})")
        if len(frame) - len(failed) < MIN_SAMPLES:
            warnings.append(
                f"{label}: only {len(frame) - len(failed)} successful samples (fewer than "
                f"{MIN_SAMPLES}); percentiles and CIs are rough: measure for longer"
            )
    for key, busiest in _segment_maxima(segments, "generator_cpu_max").items():
        if busiest > MAX_GENERATOR_CPU:
            warnings.append(
                f"{_label(*key)}: load generator CPU reached {busiest:.0f}% (more than "
                f"{MAX_GENERATOR_CPU:.0f}%), so the figures measure the load generator: "
                "use fewer users or more load-generator processes"
            )
    return warnings
