"""Each variant's headline: the figure its technique is judged on, and its speedup with a CI.

A technique declares its headline (bench_app.headline): a latency percentile of one
request kind of its workload (its own requests, its readers, its bystanders), the app's
memory (growth per 10,000 requests, or peak) or the bytes sent. Per round the figure is
computed from that round alone (`round_figures`), and the speedup over the rounds is
Stein's CI of pairbench.stats.rounds, as for p50; from a single round, a latency's CI is
a bootstrap of its requests and a memory or bytes figure has none. A growth compares as
a difference (Headline.by_difference): its "speedup" columns hold what the variant saves,
baseline - variant, in the figure's unit, and it is better when that CI is above 0. The
stopping rule (pairbench.load.measure) asks `round_figures` and `compare_rounds` too, so it
judges what the report shows.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bench_app.headline import (
    MEMORY_GROWTH,
    PEAK_MEMORY,
    REDIS_GROWTH,
    TARGET_KIND,
    Headline,
)
from bench_app.techniques import all_techniques
from pairbench.manifest import Manifest
from pairbench.results import APP_SHARED, SEGMENT_KEY
from pairbench.stats.bootstrap import bootstrap_ratio_ci
from pairbench.stats.memory import GROWTH_PER_REQUESTS
from pairbench.stats.requests import measured, measured_successful
from pairbench.stats.rounds import (
    RoundDifference,
    RoundRatio,
    difference_rounds_needed,
    round_difference_ci,
    round_ratio_ci,
    rounds_needed,
)
from pairbench.stats.significance import FASTER, NO_DIFFERENCE, NO_INTERVAL, SLOWER, verdict

HEADLINE_COLUMNS = [
    "headline",
    "headline_figure",
    "headline_kind",
    "headline_value",
    "headline_speedup",
    "headline_ci_low",
    "headline_ci_high",
    "headline_ci_half_width",
    "headline_verdict",
]
KEYS = SEGMENT_KEY


def headlines_of(manifest: Manifest) -> dict[str, Headline]:
    """Each technique's headline: as the run's manifest recorded it, else the registry's."""
    found = {key: technique.headline for key, technique in all_techniques().items()}
    for key, entry in manifest.headlines.items():
        if isinstance(entry, Mapping) and "figure" in entry:
            found[str(key)] = Headline(str(entry["figure"]), str(entry.get("kind", "target")))
    return found


def manifest_entry(headline: Headline) -> dict[str, str]:
    return {"figure": headline.figure, "kind": headline.kind, "label": headline.label}


def of_kind(samples: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The samples of one request kind (`name`); files without the column hold only targets."""
    if "name" not in samples:
        return samples if kind == TARGET_KIND else samples.iloc[0:0]
    names = samples["name"].fillna("").astype(str).replace("", TARGET_KIND)
    return samples[names == kind]


def _segment_value(segment: Mapping[str, Any], column: str) -> float:
    try:
        return float(segment.get(column, math.nan))
    except (TypeError, ValueError):
        return math.nan


def round_figure(
    samples: pd.DataFrame, segment: Mapping[str, Any] | None, headline: Headline
) -> float:
    """The headline figure of one round of one variant, from its samples (every kind, every
    phase: each figure picks its own) and its segment row (the memory figures); NaN where
    the round has none."""
    requests = of_kind(samples, headline.kind)
    if headline.is_memory and (segment or {}).get("app_process") == APP_SHARED:
        # The shared app's memory holds every technique's: none of it is the variant's (the
        # gate's profile serves memory techniques there; their kept counts guard them).
        return math.nan
    if headline.percentile is not None:
        latencies = measured_successful(requests)["latency_ms"].to_numpy(dtype=float)
        return float(np.percentile(latencies, headline.percentile)) if latencies.size else math.nan
    if headline.figure == PEAK_MEMORY:
        return _segment_value(segment or {}, "rss_peak_mb")
    if headline.figure == MEMORY_GROWTH:
        growth, count = (
            _segment_value(segment or {}, "rss_measured_growth_mb"),
            len(measured(requests)),
        )
        if math.isnan(growth) or count == 0:
            return math.nan
        return growth / count * GROWTH_PER_REQUESTS
    if headline.figure == REDIS_GROWTH:
        # Read before and after the whole segment: per request of every phase.
        growth, count = _segment_value(segment or {}, "redis_growth_mb"), len(requests)
        if math.isnan(growth) or count == 0:
            return math.nan
        return growth / count * GROWTH_PER_REQUESTS
    sizes = measured_successful(requests)["bytes"].astype(float).dropna()
    return float(sizes.mean()) if len(sizes) else math.nan


def round_figures(
    samples: pd.DataFrame, segments: pd.DataFrame, headline: Headline
) -> dict[int, float]:
    """One variant's headline figure in each round (repetition) that has one, by round."""
    found: dict[int, float] = {}
    rows: dict[int, dict[str, Any]] = {}
    for row in segments.to_dict("records"):
        number = _segment_value({"r": row.get("repetition")}, "r")
        if not math.isnan(number):
            rows[int(number)] = {str(name): value for name, value in row.items()}
    for repetition, part in samples.groupby("repetition", sort=True):
        number = int(float(str(repetition)))
        value = round_figure(part, rows.get(number), headline)
        if not math.isnan(value):
            found[number] = value
    return found


def compare_rounds(
    base: Sequence[float], other: Sequence[float], planning_rounds: int | None, headline: Headline
) -> RoundRatio | RoundDifference:
    """The headline's comparison over paired rounds (in round order): Stein's CI of the
    ratio base / other, or of the difference base - other for a growth."""
    if headline.by_difference:
        return round_difference_ci(base, other, planning_rounds)
    return round_ratio_ci(base, other, planning_rounds)


def rounds_needed_for(
    base: Sequence[float], other: Sequence[float], target_half_width: float, headline: Headline
) -> int | None:
    """Rounds in all that bring the headline comparison's CI within the target share."""
    if headline.by_difference:
        return difference_rounds_needed(base, other, target_half_width)
    return rounds_needed(base, other, target_half_width)


def headline_comparison(
    base: Mapping[int, float],
    other: Mapping[int, float],
    planning_rounds: int | None,
    headline: Headline,
) -> tuple[float, float, float]:
    """The speedup (base / other, above 1 = better; base - other for a growth, above 0 =
    better) over the rounds both have, with Stein's CI; from one round the figure alone;
    NaNs with none."""
    common = sorted(set(base) & set(other))
    if len(common) >= 2:
        found = compare_rounds(
            [base[key] for key in common], [other[key] for key in common], planning_rounds, headline
        )
        return found.estimate, found.low, found.high
    if len(common) == 1 and headline.by_difference:
        return base[common[0]] - other[common[0]], math.nan, math.nan
    if len(common) == 1 and other[common[0]] > 0:
        return base[common[0]] / other[common[0]], math.nan, math.nan
    return math.nan, math.nan, math.nan


def headline_verdict(low: float, high: float, headline: Headline) -> str:
    """Faster (better), slower (worse) or neither: the CI against 1, or against 0 for a
    difference; a figure without one (a memory figure from one round) says so."""
    if math.isnan(low) or math.isnan(high):
        return NO_INTERVAL
    if not headline.by_difference:
        return verdict(low, high)
    return FASTER if low > 0.0 else SLOWER if high < 0.0 else NO_DIFFERENCE


def _single_round_latency(
    base: pd.DataFrame, other: pd.DataFrame, headline: Headline
) -> tuple[float, float, float]:
    """From one round: a bootstrap of the kind's requests (cannot see round-to-round drift)."""
    assert headline.percentile is not None
    arms = [
        [measured_successful(of_kind(frame, headline.kind))["latency_ms"].to_numpy(dtype=float)]
        for frame in (base, other)
    ]
    return bootstrap_ratio_ci(arms[0], arms[1], headline.percentile)


def _value(rows: pd.DataFrame, key: tuple[str, str, str, str], headline: Headline) -> float:
    """The variant's figure over the whole point, as its summary row of that kind says."""
    technique, variant, point, mode = key
    names = rows["name"].fillna("").astype(str).replace("", TARGET_KIND)
    chosen = rows[
        (rows["technique"] == technique)
        & (rows["variant"] == variant)
        & (rows["point"] == point)
        & (rows["mode"] == mode)
        & (names == headline.kind)
    ]
    if chosen.empty or headline.figure not in chosen:
        return math.nan
    return float(pd.to_numeric(chosen[headline.figure], errors="coerce").iloc[0])


def headline_table(
    samples: pd.DataFrame,
    segments: pd.DataFrame,
    every_kind: pd.DataFrame,
    headlines: Mapping[str, Headline],
    baselines: Mapping[str, str],
    stopping: Mapping[tuple[str, str, str], Mapping[str, Any]],
) -> pd.DataFrame:
    """One row per technique x variant x point x mode of the samples: KEYS and
    HEADLINE_COLUMNS. `every_kind` is the summary of every request kind (for the figure
    over the whole point); `stopping` the manifest's planning rounds per point and mode."""
    rows: list[dict[str, Any]] = []
    # Every phase: each figure takes the requests it counts (Redis's growth, read around the
    # whole segment, counts the warm-up's too).
    for (technique, point, mode), group in samples.groupby(
        ["technique", "point", "mode"], sort=False
    ):
        headline = headlines.get(str(technique), Headline())
        base_name = baselines.get(str(technique))
        planning = stopping.get((str(technique), str(point), str(mode)), {}).get("planning_rounds")
        at_point = segments[
            (segments["technique"].astype(str) == str(technique))
            & (segments["point"].astype(str) == str(point))
            & (segments["mode"].astype(str) == str(mode))
        ]
        parts = {str(name): part for name, part in group.groupby("variant", sort=False)}
        figures = {
            name: round_figures(part, at_point[at_point["variant"].astype(str) == name], headline)
            for name, part in parts.items()
        }
        for variant in parts:
            key = (str(technique), variant, str(point), str(mode))
            row: dict[str, Any] = dict(zip(KEYS, key, strict=True))
            row.update(
                headline=headline.label,
                headline_figure=headline.figure,
                headline_kind=headline.kind,
                headline_value=_value(every_kind, key, headline),
            )
            if variant == base_name:
                same = 0.0 if headline.by_difference else 1.0  # it saves nothing on itself
                speedup, low, high, found = same, same, same, "baseline"
            elif base_name not in parts:
                speedup, low, high, found = math.nan, math.nan, math.nan, "no baseline"
            else:
                base, other = figures[base_name], figures[variant]
                speedup, low, high = headline_comparison(base, other, planning, headline)
                if len(set(base) & set(other)) == 1 and headline.percentile is not None:
                    speedup, low, high = _single_round_latency(
                        parts[base_name], parts[variant], headline
                    )
                found = (
                    headline_verdict(low, high, headline) if not math.isnan(speedup) else "no data"
                )
            row.update(
                headline_speedup=speedup,
                headline_ci_low=low,
                headline_ci_high=high,
                headline_ci_half_width=(
                    (high - low) / 2.0 / abs(speedup) if abs(speedup) > 0 else math.nan
                ),
                headline_verdict=found,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=[*KEYS, *HEADLINE_COLUMNS])


def with_headlines(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The summary with each row's HEADLINE_COLUMNS (NaN where the table has none)."""
    merged = summary.drop(columns=[c for c in HEADLINE_COLUMNS if c in summary]).merge(
        table, on=KEYS, how="left"
    )
    merged.index = summary.index
    return merged
