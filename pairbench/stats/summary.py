"""Statistics on raw per-request samples: percentiles, speedups with bootstrap CIs, verdicts.

Every figure comes from the raw samples (never from pre-rounded percentiles), and every
speedup carries a confidence interval and a verdict saying whether it is significant.
The headline compares each variant with its technique's baseline at the same point and
load mode on three figures: p50, p95 and throughput (all as "above 1 = the variant is
better"), each with a seeded hierarchical bootstrap CI (repetitions, then samples).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bench_app.metering import COST_FIELDS
from pairbench.manifest import Manifest
from pairbench.results import (
    CLOSED,
    MEASURE_PHASE,
    OPEN,
    SAMPLE_COLUMNS,
    SEGMENT_COLUMNS,
    SEGMENT_KEY,
    with_columns,
)
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.stats.bootstrap import (
    DEFAULT_RESAMPLES,
    Floats,
    Statistic,
    bootstrap_ci,
    bootstrap_ratio_ci,
)
from pairbench.stats.memory import MEMORY_COLUMNS, memory_figures
from pairbench.stats.requests import failed, sent, successful, successful_latencies_by_round
from pairbench.stats.rounds import RoundRatio, relative_half_width, round_ratio_ci
from pairbench.stats.segment_figures import (
    SEGMENT_SUMMARY_COLUMNS,
    segment_figures_of,
    segment_summary,
)
from pairbench.stats.significance import VERDICTS, repetition_u_test, verdict
from pairbench.stats.slo import cache_hit_rate, slo_status
from pairbench.stats.stability import (
    LATE_SEND_MS,
    MAX_GENERATOR_CPU,
    MAX_REPETITION_CV,
    MIN_SAMPLES,
    repetition_cv,
    segment_maxima,
    stability_warnings,
)

__all__ = [
    "MAX_GENERATOR_CPU",
    "MAX_REPETITION_CV",
    "MIN_SAMPLES",
    "PERCENTILES",
    "SUMMARY_COLUMNS",
    "VERDICTS",
    "bootstrap_ratio_ci",
    "percentile",
    "stability_warnings",
    "requests_per_second",
    "summarize",
    "throughput_bins",
    "verdict",
]

PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}
BINS_PER_REPETITION = 8  # throughput is resampled over at least this many time bins
MAX_BIN_S = 1.0


@dataclass(frozen=True)
class Ratio:
    """One headline ratio: its summary columns and what it compares."""

    column: str  # the ratio; its CI is in f"{ci}_ci_low" and f"{ci}_ci_high"
    ci: str
    verdict: str
    statistic: Statistic | float  # a percentile of latencies, or np.mean of throughput bins
    higher_is_better: bool

    @property
    def of_throughput(self) -> bool:
        return self.statistic is np.mean

    def arm(self, frame: pd.DataFrame) -> list[Floats]:
        """What this ratio resamples: throughput bins, or successful latencies, per round."""
        return (
            throughput_bins(frame) if self.of_throughput else successful_latencies_by_round(frame)
        )


RATIOS = (
    Ratio("speedup_p50", "speedup", "verdict", 50.0, False),
    Ratio("speedup_p95", "speedup_p95", "verdict_p95", 95.0, False),
    Ratio("speedup_rps", "speedup_rps", "verdict_rps", np.mean, True),
)
SUMMARY_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "name",
    "baseline",
    "requests",
    "failures",
    "error_rate",
    "rps",
    "rps_ci_low",
    "rps_ci_high",
    *PERCENTILES,
    "max_ms",
    "mean_ms",
    *(f"{name}_per_request" for name in COST_FIELDS),
    "bytes_per_request",
    "equivalent",
    "speedup_p50",
    "speedup_ci_low",
    "speedup_ci_high",
    "speedup_ci_half_width",
    "verdict",
    "speedup_p95",
    "speedup_p95_ci_low",
    "speedup_p95_ci_high",
    "verdict_p95",
    "speedup_rps",
    "speedup_rps_ci_low",
    "speedup_rps_ci_high",
    "verdict_rps",
    "u_test_p",
    "repetition_cv",
    "repetitions",
    "users",
    "rate",
    "dropped",
    "late_sends",
    "service_p50_ms",
    "service_p99_ms",
    "generator_cpu_max",
    "ceiling_share",
    "cache_hit_rate",
    "slo",
    "stopped",
    *MEMORY_COLUMNS,
    *SEGMENT_SUMMARY_COLUMNS,
]
REQUIRED_SUMMARY_COLUMNS = ["technique", "variant", "point", "p50_ms"]
COST_COLUMNS = {  # summary column -> the meter's column it averages over successful requests
    **{f"{name}_per_request": name for name in COST_FIELDS},
    "bytes_per_request": "bytes",
}


def percentile(values: npt.ArrayLike, q: float) -> float:
    """The q-th percentile (0..100) of raw samples; NaN if empty.

    Linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7).
    """
    array = np.asarray(values, dtype=float)
    return float(np.percentile(array, q, method="linear")) if array.size else float("nan")


def measured_seconds(frame: pd.DataFrame) -> float:
    """Measured time summed over repetitions: first send to last completion in each."""
    frame = frame[frame["latency_ms"].notna()]
    finished = (frame["t_start"] + frame["latency_ms"] / 1000.0).groupby(frame["repetition"])
    return float((finished.max() - frame.groupby("repetition")["t_start"].min()).sum())


def throughput_bins(frame: pd.DataFrame) -> list[Floats]:
    """Per repetition, requests per second in equal time bins (the units rps is resampled in).

    Bins are at most a second wide and at least BINS_PER_REPETITION per repetition; the
    partial bin at the end is left out.
    """
    found = []
    for _, part in sent(frame).groupby("repetition"):
        starts = part["t_start"].to_numpy(dtype=float)
        ends = starts + part["latency_ms"].fillna(0.0).to_numpy(dtype=float) / 1000.0
        span = float(ends.max() - starts.min())
        if span <= 0:
            continue
        width = min(MAX_BIN_S, span / BINS_PER_REPETITION)
        count = max(1, int(span / width + 1e-9))
        bins = np.floor((starts - starts.min()) / width).astype(int)
        found.append(np.bincount(bins[bins < count], minlength=count) / width)
    return found


def requests_per_second(frame: pd.DataFrame) -> float:
    """Requests sent per measured second."""
    requests = sent(frame)
    seconds = measured_seconds(requests)
    return len(requests) / seconds if seconds > 0 else float("nan")


def _describe(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts, throughput, latency percentiles and mean costs of one variant's requests."""
    requests = sent(frame)
    failures, nan = failed(requests), float("nan")
    ok = successful(frame)
    latency = ok["latency_ms"].to_numpy(dtype=float)
    row: dict[str, Any] = {
        "requests": len(requests),
        "failures": int(failures.sum()),
        "error_rate": float(failures.mean()) if len(requests) else nan,
        "rps": requests_per_second(frame),
        "max_ms": float(latency.max()) if latency.size else nan,
        "mean_ms": float(latency.mean()) if latency.size else nan,
        "repetitions": int(frame["repetition"].nunique()),
        "repetition_cv": repetition_cv(frame),
    }
    row.update({name: percentile(latency, q) for name, q in PERCENTILES.items()})
    binned, low, high = bootstrap_ci(throughput_bins(frame), np.mean)
    row["rps_ci_low"], row["rps_ci_high"] = _centred(row["rps"], binned, low, high)
    for name, column in COST_COLUMNS.items():
        values = ok[column].astype(float) if column in ok else pd.Series([nan])
        row[name] = float(values.mean()) if values.notna().any() else nan
    if (frame["mode"] == OPEN).any():
        lag = requests["send_lag_ms"].astype(float)
        service = (ok["latency_ms"] - ok["send_lag_ms"].fillna(0.0)).to_numpy(dtype=float)
        row.update(
            dropped=int((frame["dropped"] == 1).sum()),
            late_sends=int((lag > LATE_SEND_MS).sum()),
            service_p50_ms=percentile(service, 50.0),
            service_p99_ms=percentile(service, 99.0),
        )
    return row


def _centred(reported: float, resampled: float, low: float, high: float) -> tuple[float, float]:
    """A throughput CI moved onto the reported figure, keeping its relative spread.

    rps is requests / measured seconds; the bootstrap works on time bins, whose mean
    differs from it by the partial bin left out, so its interval is scaled to match.
    """
    scale = reported / resampled if resampled > 0 else float("nan")
    return min(low * scale, reported), max(high * scale, reported)


def _per_repetition(arm: list[Floats], ratio: Ratio) -> list[float]:
    """A ratio's statistic for each repetition alone: the units the U test compares."""
    if ratio.of_throughput:
        return [float(np.mean(bins)) for bins in arm]
    q = ratio.statistic
    assert isinstance(q, float)
    return [percentile(rep, q) for rep in arm]


def _per_round(frame: pd.DataFrame, ratio: Ratio) -> dict[int, float]:
    """A ratio's statistic in each round (repetition) with successful requests, by round."""
    found = {}
    for repetition in sorted(frame["repetition"].dropna().unique()):
        arm = ratio.arm(frame[frame["repetition"] == repetition])
        if arm and len(arm[0]):
            found[int(repetition)] = _per_repetition(arm, ratio)[0]
    return found


def _round_ci(
    base: pd.DataFrame, other: pd.DataFrame, ratio: Ratio, planning_rounds: int | None
) -> RoundRatio | None:
    """The ratio over the rounds both sides answered (Stein's CI), if there are two or more."""
    base_rounds, other_rounds = _per_round(base, ratio), _per_round(other, ratio)
    common = sorted(set(base_rounds) & set(other_rounds))
    if len(common) < 2:
        return None
    return round_ratio_ci(
        [base_rounds[key] for key in common],
        [other_rounds[key] for key in common],
        planning_rounds,
        higher_is_better=ratio.higher_is_better,
    )


def _compare(
    base: pd.DataFrame, other: pd.DataFrame, resamples: int, seed: int, planning: int | None
) -> dict[str, Any]:
    """Every headline ratio of `other` against `base`, with its CI and verdict.

    With two or more rounds the ratio is the geometric mean of the rounds' ratios and its
    CI comes from their spread (pairbench.stats.rounds); from a single round, a bootstrap
    of its samples, which cannot see round-to-round drift.
    """
    row: dict[str, Any] = {}
    for ratio in RATIOS:
        base_arm, other_arm = ratio.arm(base), ratio.arm(other)
        value, low, high = _ratio_ci(base, other, ratio, resamples, seed, planning)
        p = repetition_u_test(_per_repetition(base_arm, ratio), _per_repetition(other_arm, ratio))
        row.update({ratio.column: value, f"{ratio.ci}_ci_low": low, f"{ratio.ci}_ci_high": high})
        row[ratio.verdict] = verdict(low, high, p) if base_arm else "no baseline"
        if ratio.column == "speedup_p50":
            row["u_test_p"] = float("nan") if p is None else p
            row["speedup_ci_half_width"] = relative_half_width(value, low, high)
    return row


def _ratio_ci(
    base: pd.DataFrame,
    other: pd.DataFrame,
    ratio: Ratio,
    resamples: int,
    seed: int,
    planning: int | None,
) -> tuple[float, float, float]:
    """One headline ratio of `other` against `base` and its CI: (ratio, low, high)."""
    by_rounds = _round_ci(base, other, ratio, planning)
    if by_rounds is not None:
        return by_rounds.estimate, by_rounds.low, by_rounds.high
    value, low, high = bootstrap_ratio_ci(
        ratio.arm(base),
        ratio.arm(other),
        ratio.statistic,
        resamples,
        seed,
        higher_is_better=ratio.higher_is_better,
    )
    if ratio.of_throughput and value > 0:
        reported = requests_per_second(other) / requests_per_second(base)
        low, high = _centred(reported, value, low, high)
        value = reported
    return value, low, high


def _baseline_row() -> dict[str, Any]:
    row: dict[str, Any] = {"u_test_p": float("nan")}
    for ratio in RATIOS:
        row.update({ratio.column: 1.0, f"{ratio.ci}_ci_low": 1.0, f"{ratio.ci}_ci_high": 1.0})
        row[ratio.verdict] = "baseline"
    return row


def _unanswered_row(verdict_text: str) -> dict[str, Any]:
    """Ratios of a variant with no baseline to compare against, or no data of its own."""
    row: dict[str, Any] = {"u_test_p": float("nan")}
    for ratio in RATIOS:
        nan = float("nan")
        row.update({ratio.column: nan, f"{ratio.ci}_ci_low": nan, f"{ratio.ci}_ci_high": nan})
        row[ratio.verdict] = verdict_text
    return row


def stopping_of(manifest: Manifest) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """The manifest's record of how each point was measured, by (technique, point, mode)."""
    return {
        (str(entry["technique"]), str(entry["point"]), str(entry["mode"])): entry
        for entry in manifest.stopping
    }


def summarize(
    samples: pd.DataFrame,
    segments: pd.DataFrame,
    equivalence: dict[str, dict[str, dict[str, Any]]],
    baselines: dict[str, str],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    stopping: Mapping[tuple[str, str, str], Mapping[str, Any]] | None = None,
    slos: Slos = DEFAULT_SLOS,
) -> pd.DataFrame:
    """One row per technique x point x load mode x variant of the measure phase.

    `stopping` is the manifest's record per (technique, point, mode) of the rounds run,
    the planning rounds that chose their number, and why measuring stopped there.

    Latency percentiles and mean costs count successful requests only. rps = measured
    requests / measured seconds, a repetition's measured time running from its first
    measured send to its last completion (warm-up excluded without trusting the segment
    clock). speedup_p50 = baseline p50 / variant p50, speedup_p95 likewise, speedup_rps =
    variant rps / baseline rps; each with its CI and verdict (see _compare).
    """
    stopping = stopping or {}
    samples, segments = (
        with_columns(samples, SAMPLE_COLUMNS),
        with_columns(segments, SEGMENT_COLUMNS),
    )
    users, cpu = segment_maxima(segments, "users"), segment_maxima(segments, "generator_cpu_max")
    rates = segment_maxima(segments, "rate")
    figures = segment_summary(samples, segments)
    rows: list[dict[str, Any]] = []
    # Grouped over every sample so that a variant whose requests all fell in the warm-up
    # still gets its row (with no data) rather than vanishing from the summary.
    # One distribution per request kind (`name`): a mixed workload's kinds are compared
    # with the same kind of the baseline's segments, never pooled.
    groups = samples.groupby(["technique", "point", "mode", "name"], sort=False)
    for (technique, point, mode, kind), group in groups:
        base_name = baselines.get(str(technique))
        stopped = stopping.get((str(technique), str(point), str(mode)), {})
        planning = stopped.get("planning_rounds")
        parts = {
            str(name): part[part["phase"] == MEASURE_PHASE]
            for name, part in group.groupby("variant", sort=False)
        }
        for variant in sorted(parts, key=lambda name: name != base_name):
            key = (str(technique), variant, str(point), str(mode))
            row: dict[str, Any] = dict(zip(SEGMENT_KEY, key, strict=True))
            row["name"] = str(kind)
            row["baseline"] = variant == base_name
            row.update(_describe(parts[variant]))
            found = equivalence.get(key[0], {}).get(variant, {})
            row["equivalent"] = bool(found.get("equivalent", False))
            answered = bool(successful_latencies_by_round(parts[variant]))
            if row["baseline"] and answered:
                row.update(_baseline_row())
            elif base_name in parts and answered:
                row.update(_compare(parts[base_name], parts[variant], resamples, seed, planning))
            else:
                row.update(_unanswered_row("no baseline" if answered else "no data"))
            segment_key = (key[0], variant, key[2], key[3])
            sent = int((group["variant"] == variant).sum())  # every phase: Redis's growth's
            row.update(memory_figures(_segments_of(segments, segment_key), parts[variant], sent))
            row.update(
                users=users.get(segment_key, np.nan) if mode == CLOSED else np.nan,
                rate=rates.get(segment_key, np.nan) if mode == OPEN else np.nan,
                generator_cpu_max=cpu.get(segment_key, np.nan),
                stopped=stopped.get("stopped", ""),
            )
            row.update(segment_figures_of(figures.get(segment_key, {}), str(kind)))
            row.update(cache_hit_rate=cache_hit_rate(row), slo=slo_status(row, slos))
            rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _segments_of(segments: pd.DataFrame, key: tuple[str, str, str, str]) -> pd.DataFrame:
    """The segment rows of one (technique, variant, point, mode)."""
    technique, variant, point, mode = key
    return segments[
        (segments["technique"].astype(str) == technique)
        & (segments["variant"].astype(str) == variant)
        & (segments["point"].astype(str) == point)
        & (segments["mode"].astype(str) == mode)
    ]
