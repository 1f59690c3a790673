"""How a variant's cost grows with the work: a fit over a technique's sweep points.

"naive +0.31 ms per author, linear; joined flat" is the sentence a sweep exists for.
The slope comes from a least-squares line. The shape comes from the best fit of
a + b*x^k over a grid of exponents k (and of a + b*log(x)): the line unless another
curve leaves much less error, then "superlinear (~x^1.4)" and the like; "flat" when
the line rises by less than a fifth over the whole range. Costs come from the
uncontended probe (one request at a time: no queueing in them).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

FLAT_RISE = 0.2  # a rise below 20% of the smallest point's cost over the range is flat
BETTER_FIT = 0.5  # another shape must leave less than half the line's squared error
EXPONENTS = np.round(np.arange(0.2, 3.01, 0.05), 2)  # the k tried in a + b*x^k
LINEAR_EXPONENTS = (0.8, 1.25)  # a best k in this range still reads as linear
MIN_POINTS_FOR_SHAPE = 4
GROWTH_COLUMNS = [
    "technique", "parameter", "variant", "points", "slope_ms_per_unit", "intercept_ms",
    "shape", "source", "sentence",
]  # fmt: skip


@dataclass(frozen=True)
class Fit:
    """A line through (work, cost) points and the shape that describes them best."""

    slope: float  # cost per unit of work (ms per author, ...)
    intercept: float
    shape: str
    points: int


def _squared_error(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line of y on x: (slope, intercept, sum of squared residuals)."""
    design = np.column_stack([x, np.ones_like(x)])
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - (slope * x + intercept)
    return float(slope), float(intercept), float(residual @ residual)


def fit_growth(work: Sequence[float], cost: Sequence[float]) -> Fit:
    """The slope and shape of `cost` against `work` (at least two distinct work values)."""
    x, y = np.asarray(work, dtype=float), np.asarray(cost, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if np.unique(x).size < 2:
        return Fit(float("nan"), float("nan"), "too few points", int(x.size))
    slope, intercept, line_error = _squared_error(x, y)
    low, high = x.min(), x.max()
    base = max(abs(slope * low + intercept), abs(float(y[x == low].mean())), 1e-9)
    if abs(slope * (high - low)) < FLAT_RISE * base:
        return Fit(slope, intercept, "flat", int(x.size))
    shape = "linear"
    # a + b*x^k has three parameters: it passes through any three points, so a curve is
    # only told from a line with a fourth.
    if np.unique(x).size >= MIN_POINTS_FOR_SHAPE and low > 0:
        shape = _curve(x, y, line_error)
    return Fit(slope, intercept, shape, int(x.size))


def _curve(x: np.ndarray, y: np.ndarray, line_error: float) -> str:
    """The shape of a rising cost: linear, unless a curve leaves much less squared error."""
    errors = {float(k): _squared_error(x**k, y)[2] for k in EXPONENTS}
    exponent = min(errors, key=errors.__getitem__)
    log_error = _squared_error(np.log(x), y)[2]
    if min(errors[exponent], log_error) >= BETTER_FIT * line_error:
        return "linear"
    if log_error < errors[exponent]:
        return "logarithmic"
    if LINEAR_EXPONENTS[0] <= exponent <= LINEAR_EXPONENTS[1]:
        return "linear"
    kind = "superlinear" if exponent > 1 else "sublinear"
    return f"{kind} (~x^{exponent:.1f})"


def singular(name: str) -> str:
    """A parameter name as a unit of work: "authors" -> "author", "keys" -> "key"."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def sentence(variant: str, parameter: str, fit: Fit) -> str:
    """ "naive +0.31 ms per author, linear" (or "joined flat")."""
    if fit.shape == "too few points":
        return f"{variant}: too few points to fit"
    if fit.shape == "flat":
        return f"{variant} flat"
    sign = "+" if fit.slope >= 0 else "-"
    size = abs(fit.slope)
    amount = f"{size:.3g} ms" if size >= 0.01 else f"{size * 1000:.3g} µs"
    return f"{variant} {sign}{amount} per {singular(parameter)}, {fit.shape}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def sweep_series(points: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Per swept parameter, its (point label, value) pairs, the default point included.

    `points` are a technique's planned points as the manifest records them: label, params
    and `swept` (the parameter a sweep point varies, or None for the default point).
    """
    default = next((point for point in points if not point.get("swept")), None)
    series: dict[str, list[tuple[str, float]]] = {}
    for point in points:
        name = point.get("swept")
        value = _number(point.get("params", {}).get(name)) if name else None
        if name and value is not None:
            series.setdefault(str(name), []).append((str(point["label"]), value))
    for name, pairs in series.items():
        value = _number(default.get("params", {}).get(name)) if default else None
        if default is not None and value is not None:
            pairs.append((str(default["label"]), value))
        pairs.sort(key=lambda pair: pair[1])
    return series


def point_costs(
    probe: pd.DataFrame, summary: pd.DataFrame, technique: str
) -> tuple[dict[tuple[str, str], float], str]:
    """(variant, point) -> cost in ms: probe medians if the run has them, else loaded p50."""
    chosen = probe[probe["technique"] == technique]
    if len(chosen):
        medians = chosen.groupby(["variant", "point"], as_index=False)["latency_ms"].median()
        found = zip(medians["variant"], medians["point"], medians["latency_ms"], strict=True)
        return {(str(v), str(p)): float(m) for v, p, m in found}, "one request at a time (median)"
    rows = summary[(summary["technique"] == technique) & (summary["mode"] == "closed")]
    costs = {
        (str(v), str(p)): float(m)
        for v, p, m in zip(rows["variant"], rows["point"], rows["p50_ms"], strict=True)
    }
    return costs, "under load (p50)"


def growth_table(
    technique: str,
    points: Sequence[Mapping[str, Any]],
    variants: Sequence[str],
    costs: Mapping[tuple[str, str], float],
    source: str,
) -> pd.DataFrame:
    """One row per swept parameter x variant: the fit and its sentence (GROWTH_COLUMNS)."""
    rows = []
    for parameter, pairs in sweep_series(points).items():
        for variant in variants:
            measured = [
                (value, costs[(variant, label)])
                for label, value in pairs
                if (variant, label) in costs
            ]
            fit = fit_growth([x for x, _ in measured], [y for _, y in measured])
            rows.append(
                {
                    "technique": technique, "parameter": parameter, "variant": variant,
                    "points": fit.points, "slope_ms_per_unit": fit.slope,
                    "intercept_ms": fit.intercept, "shape": fit.shape, "source": source,
                    "sentence": sentence(variant, parameter, fit),
                }
            )  # fmt: skip
    return pd.DataFrame(rows, columns=GROWTH_COLUMNS)
