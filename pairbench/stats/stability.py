"""When not to trust a figure: pyperf-style warnings on noise, saturation and lost requests.

A number printed without its caveats misleads. These checks flag what makes a run's
figures weaker than their CIs suggest: repetitions that disagree (the machine drifted),
a saturated load generator (it measured itself), failures, too few samples, and, in
open-loop mode, sends the generator could not make on time.
"""

import numpy as np
import pandas as pd

from pairbench.results import (
    CLOSED,
    MEASURE_PHASE,
    OPEN,
    SAMPLE_COLUMNS,
    SEGMENT_COLUMNS,
    SEGMENT_KEY,
    SegmentKey,
    with_columns,
)
from pairbench.stats.requests import failed, measured, sent, successful_latencies_by_round

BUDGET_REACHED = "budget reached"  # why a point's rounds stopped short of the CI target
MAX_REPETITION_CV = 0.10  # pyperf warns past 10% spread between runs
MAX_GENERATOR_CPU = 90.0  # past this the load generator, not the app, sets the pace
MIN_SAMPLES = 100
MAX_LATE_SHARE = 0.01  # open loop: more late sends than this and the schedule slipped
LATE_SEND_MS = 10.0  # an open-loop send this far behind its schedule counts as late


def repetition_cv(frame: pd.DataFrame) -> float:
    """Coefficient of variation of the repetition medians; NaN with fewer than two."""
    medians = np.array([np.median(rep) for rep in successful_latencies_by_round(frame)])
    if medians.size < 2 or medians.mean() <= 0:
        return float("nan")
    return float(medians.std(ddof=1) / medians.mean())


def segment_maxima(segments: pd.DataFrame, column: str) -> dict[SegmentKey, float]:
    """Per (technique, variant, point, mode), the largest value of a segments column."""
    if segments.empty or column not in segments:
        return {}
    maxima = segments.groupby(SEGMENT_KEY, as_index=False)[column].max()
    rows = zip(*(maxima[name] for name in [*SEGMENT_KEY, column]), strict=True)
    return {(str(t), str(v), str(p), str(m)): float(value) for t, v, p, m, value in rows}


def segment_label(technique: str, variant: str, point: str, mode: str) -> str:
    at = f" at {point}" if point else ""
    return f"{technique}/{variant}{at}" + (f" ({mode} loop)" if mode != CLOSED else "")


def _open_loop_warnings(label: str, frame: pd.DataFrame) -> list[str]:
    warnings = []
    dropped = int((frame["dropped"] == 1).sum())
    if dropped:
        warnings.append(
            f"{label}: {dropped} of {len(frame)} scheduled sends were dropped (the generator "
            "fell more than its limit behind): the app could not keep up with the arrival rate"
        )
    late = int((sent(frame)["send_lag_ms"] > LATE_SEND_MS).sum())
    if late > MAX_LATE_SHARE * len(frame):
        warnings.append(
            f"{label}: {late} send{'s' if late > 1 else ''} left more than {LATE_SEND_MS:.0f} ms "
            "behind schedule; "
            "their latency still counts from the intended time, but the arrival rate slipped"
        )
    return warnings


def budget_findings(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """Points whose rounds ran out of budget before every speedup's CI met the target."""
    found = []
    for row in summary.itertuples():
        if str(getattr(row, "stopped", "")) != BUDGET_REACHED or bool(row.baseline):
            continue
        width = float(getattr(row, "speedup_ci_half_width", float("nan")))
        ci = f"CI +/-{width:.0%}" if width == width else "no CI"
        label = segment_label(str(row.technique), str(row.variant), str(row.point), str(row.mode))
        message = (
            f"{label}: budget reached after {row.repetitions} rounds: {ci}, wider than the "
            "profile's target: the machine is noisy or the variants too close to tell"
        )
        found.append((str(row.technique), message))
    return found


def stability_warnings(samples: pd.DataFrame, segments: pd.DataFrame) -> list[str]:
    """pyperf-style warnings on figures not to trust: noise, saturation, failures, few samples."""
    return [message for _, message in stability_findings(samples, segments)]


def stability_findings(samples: pd.DataFrame, segments: pd.DataFrame) -> list[tuple[str, str]]:
    """The stability warnings as (technique, message), for a report to place them."""
    samples = with_columns(samples, SAMPLE_COLUMNS)
    segments = with_columns(segments, SEGMENT_COLUMNS)
    found: list[tuple[str, str]] = []
    for key, everything in samples.groupby(SEGMENT_KEY, sort=False):
        label = segment_label(*(str(part) for part in key))
        frame = everything[everything["phase"] == MEASURE_PHASE]  # dropped sends included
        if frame.empty:
            found.append(
                (
                    str(key[0]),
                    f"{label}: no request was measured; all {len(everything)} fell "
                    "in the warm-up: the app is far slower than the profile's segments allow",
                )
            )
            continue
        warnings: list[str] = []
        spread = repetition_cv(frame)
        if spread > MAX_REPETITION_CV:
            warnings.append(
                f"{label}: per-repetition medians vary by {spread:.1%} (more than "
                f"{MAX_REPETITION_CV:.0%}); the machine is noisy: add repetitions or quiet it"
            )
        requests = measured(everything)
        broken = requests[failed(requests)]
        if not broken.empty:
            causes = broken["status"].map(lambda s: "connection error" if s == 0 else f"HTTP {s}")
            detail = ", ".join(f"{cause} x{n}" for cause, n in causes.value_counts().items())
            warnings.append(f"{label}: {len(broken)} of {len(requests)} requests failed ({detail})")
        if len(requests) - len(broken) < MIN_SAMPLES:
            warnings.append(
                f"{label}: only {len(requests) - len(broken)} successful samples (fewer than "
                f"{MIN_SAMPLES}); percentiles and CIs are rough: measure for longer"
            )
        if key[3] == OPEN:
            warnings.extend(_open_loop_warnings(label, frame))
        found.extend((str(key[0]), message) for message in warnings)
    for segment_key, busiest in segment_maxima(segments, "generator_cpu_max").items():
        if busiest > MAX_GENERATOR_CPU:
            message = (
                f"{segment_label(*segment_key)}: load generator CPU reached {busiest:.0f}% "
                f"(more than {MAX_GENERATOR_CPU:.0f}%), so the figures measure the load generator: "
                "use fewer users or a lower rate"
            )
            found.append((segment_key[0], message))
    return found
