"""How a variant's cost grows with the work: a fit over a technique's sweep points.

"naive +0.31 ms per author, linear; joined flat" is the sentence a sweep exists for.

Costs span decades and the report draws them on log axes, so every fit here minimizes
relative error (each point's miss as a share of its cost) and keeps every term of its
model non-negative: cost = a + b * x^k with a >= 0 and b >= 0. A curve fitted so stays
positive and close to its points wherever it is drawn, which is only over the measured
range; a least-squares line, by contrast, may cross zero between the points and plunge
on a log axis.

- slope: b of the line (k = 1), the cost of one more unit of work;
- flat: that line rises by less than FLAT_RISE over the measured range;
- shape: the exponent k with its 95% profile-likelihood CI, claimed only from at least
  MIN_POINTS_FOR_SHAPE points: superlinear or sublinear when the CI leaves the linear
  band on one side of 1, logarithmic when a + b*log(x) also fits better than any power,
  linear when the CI lies inside the band, else "not enough points to tell";
- curve (what the report draws): the line, or with MIN_POINTS_FOR_CURVE points or more
  and no linear claim the best a + b*x^k (or log), whether or not the points support
  naming its shape.

Over the RTT sweep (pairbench.env.distance) the work is the round trip to the data stores
in ms, so the slope, ms per ms, is how many round trips a request waits for: "naive +51 x
RTT per request".

A sweep whose cost falls as its parameter rises is of a setting, not of work (a job
worker's concurrency): its finding is where it stops falling, the knee of
pairbench.stats.knee, stated as a rate. A technique may sweep from named starting points
besides its defaults (Technique.sweep_from: I/O-bound and CPU-bound jobs), each a series
of its own.

Costs come from the uncontended probe (medians: no queueing in them), else the loaded p50.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pairbench.manifest import default_of
from pairbench.results import CLOSED, RTT_PARAMETER, as_float
from pairbench.stats.bootstrap import Floats
from pairbench.stats.knee import REQUESTS, find_knee, knee_sentence, rate_per_s
from pairbench.stats.rounds import t_quantile

FLAT_RISE = 0.2  # a rise below 20% of the cost at the smallest work is flat
EXPONENTS = np.round(np.arange(0.05, 3.0001, 0.01), 2)  # the k tried in a + b*x^k
LINEAR_BAND = (0.8, 1.25)  # an exponent known to lie in here reads as linear
# a + b*x^k has 3 parameters: from 4 points it is the best curve to draw, but its CI
# would rest on a single residual (one machine hiccup decides it); naming a shape takes
# at least 2 degrees of freedom for the noise.
MIN_POINTS_FOR_CURVE = 4
MIN_POINTS_FOR_SHAPE = 5
EXACT = 1e-12  # relative squared error below which points lie on the curve (rounding)

TOO_FEW, FLAT, FALLING, LINEAR, LOGARITHMIC = (
    "too few points",
    "flat",
    "falling",
    "linear",
    "logarithmic",
)
UNKNOWN = "not enough points to tell"
LINE, POWER, LOG = "line", "power", "log"  # the curve a fit draws
# `series`: the sweep (its parameter, from the defaults or a named start); the knee_* and
# best_* columns (with rate_unit, per second) are set where the cost falls: a setting's sweep.
GROWTH_COLUMNS = [
    "technique",
    "series",
    "parameter",
    "variant",
    "points",
    "slope_ms_per_unit",
    "intercept_ms",
    "shape",
    "exponent",
    "exponent_ci_low",
    "exponent_ci_high",
    "curve",
    "curve_a",
    "curve_b",
    "curve_k",
    "x_min",
    "x_max",
    "source",
    "knee_value",
    "knee_rate_per_s",
    "best_value",
    "best_rate_per_s",
    "rate_unit",
    "sentence",
]
REQUIRED_GROWTH_COLUMNS = ["technique", "series", "parameter", "variant", "shape", "sentence"]
GROWTH_POINT_COLUMNS = [
    "technique",
    "series",
    "parameter",
    "variant",
    "point",
    "value",
    "cost_ms",
    "rate_per_s",
    "source",
]
PROBE_SOURCE, LOAD_SOURCE = "one request at a time (median)", "under load (p50)"


@dataclass(frozen=True)
class Fit:
    """The slope and shape of cost against work, and the curve that shows them."""

    slope: float  # cost per unit of work (ms per author, ...): b of the line
    intercept: float  # a of the line
    shape: str
    points: int
    exponent: float = math.nan  # the best k of a + b*x^k, with its 95% CI
    exponent_ci: tuple[float, float] = (math.nan, math.nan)
    curve: str = ""  # LINE, POWER or LOG: the model to draw; "" draws none
    a: float = math.nan
    b: float = math.nan
    k: float = math.nan
    x_min: float = math.nan
    x_max: float = math.nan

    def predict(self, x: npt.ArrayLike) -> Floats:
        """The fitted cost at work `x` (NaN where the curve is not defined)."""
        values = np.asarray(x, dtype=float)
        if self.curve == LINE:
            return self.a + self.b * values
        if self.curve == POWER:
            powered: Floats = np.power(values, self.k)
            return self.a + self.b * powered
        if self.curve == LOG:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(values > 0, self.a + self.b * np.log(values), np.nan)
        return np.full(values.shape, np.nan)

    def drawn(self, count: int = 50) -> tuple[Floats, Floats]:
        """(work, cost) along the fitted curve, over the measured range only."""
        if not self.curve or not (math.isfinite(self.x_min) and math.isfinite(self.x_max)):
            return np.array([]), np.array([])
        if self.x_min > 0:
            work = np.geomspace(self.x_min, self.x_max, count)
        else:
            work = np.linspace(self.x_min, self.x_max, count)
        return work, self.predict(work)


def _nonnegative_fit(basis: Floats, y: Floats) -> tuple[float, float, float]:
    """min over a, b >= 0 of sum(((y - a - b*basis) / y)^2): (a, b, that sum).

    Two parameters, so the constrained optimum is the unconstrained one if feasible, else
    the best with a = 0 or with b = 0 (each a one-parameter fit clipped at zero).
    """
    weight = 1.0 / y
    columns = np.column_stack([weight, weight * basis])
    target = np.ones_like(y)
    candidates = []
    (a, b), *_ = np.linalg.lstsq(columns, target, rcond=None)
    if a >= 0 and b >= 0:
        candidates.append((float(a), float(b)))
    for index in (0, 1):
        column = columns[:, index]
        norm = float(column @ column)
        alone = max(float(column @ target) / norm, 0.0) if norm > 0 else 0.0
        candidates.append((alone, 0.0) if index == 0 else (0.0, alone))

    def error(pair: tuple[float, float]) -> float:
        residual = target - columns @ np.array(pair)
        return float(residual @ residual)

    best = min(candidates, key=error)
    return best[0], best[1], error(best)


def _exponent_profile(x: Floats, y: Floats) -> tuple[float, float, float, float, float, float]:
    """(k, its CI low, its CI high, a, b, error) of the best a + b*x^k, a, b >= 0.

    The CI is the profile-likelihood interval: every k whose best error is within the
    F(1, n - 3) share of the best one's (exact for linear models, close for this one).
    """
    fits = [_nonnegative_fit(np.power(x, k), y) for k in EXPONENTS]
    errors = np.array([error for _, _, error in fits])
    best = int(np.argmin(errors))
    degrees_of_freedom = x.size - 3
    # F(1, df) is t(df)^2: the two-sided 95% t quantile, squared.
    limit = errors[best] * (1.0 + t_quantile(degrees_of_freedom) ** 2 / degrees_of_freedom)
    inside = EXPONENTS[errors <= limit + EXACT]
    a, b, error = fits[best]
    return float(EXPONENTS[best]), float(inside.min()), float(inside.max()), a, b, error


def _shape(low: float, high: float, exponent: float) -> str:
    """What the exponent's CI supports: a shape only when it excludes the linear band's 1."""
    if LINEAR_BAND[0] <= low and high <= LINEAR_BAND[1]:
        return LINEAR
    if low > 1.0:
        return f"superlinear (~x^{exponent:.1f})"
    if high < 1.0:
        return f"sublinear (~x^{exponent:.1f})"
    return UNKNOWN


def fit_growth(work: Sequence[float], cost: Sequence[float]) -> Fit:
    """The slope, shape and curve of `cost` against `work` (two distinct work values or more).

    Points need a positive cost (errors are relative) and a non-negative work value.
    """
    x, y = np.asarray(work, dtype=float), np.asarray(cost, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0) & (x >= 0)
    x, y = x[keep], y[keep]
    distinct = int(np.unique(x).size)
    if distinct < 2:
        return Fit(math.nan, math.nan, TOO_FEW, int(x.size))
    a, b, _ = _nonnegative_fit(x, y)
    line = Fit(
        b,
        a,
        LINEAR,
        int(x.size),
        curve=LINE,
        a=a,
        b=b,
        k=1.0,
        x_min=float(x.min()),
        x_max=float(x.max()),
    )
    first_cost = max(float(y[x == x.min()].mean()), a + b * float(x.min()))
    if b * (x.max() - x.min()) < FLAT_RISE * first_cost:
        if first_cost - float(y[x == x.max()].mean()) > FLAT_RISE * first_cost:
            # No rising curve fits a cost that falls: say so, with the plain slope, and
            # draw nothing.
            slope = float(np.polyfit(x, y, 1)[0])
            return replace(line, slope=slope, intercept=math.nan, shape=FALLING, curve="")
        return replace(line, shape=FLAT)
    if distinct < MIN_POINTS_FOR_CURVE:
        return replace(line, shape=UNKNOWN)
    k, low, high, power_a, power_b, power_error = _exponent_profile(x, y)
    if distinct < MIN_POINTS_FOR_SHAPE:
        fit = replace(line, shape=UNKNOWN, exponent=k)
    else:
        fit = replace(line, shape=_shape(low, high, k), exponent=k, exponent_ci=(low, high))
    if fit.shape == LINEAR:
        return fit
    # Drawn: the curve that fits best, even where its shape is not claimed (UNKNOWN), so
    # the dashed line stays close to the points it stands for.
    fit = replace(fit, curve=POWER, a=power_a, b=power_b, k=k)
    if fit.shape != UNKNOWN and high < 1.0 and x.min() > 0:
        log_a, log_b, log_error = _nonnegative_fit(np.log(x), y)
        if log_error < power_error:
            fit = replace(fit, shape=LOGARITHMIC, curve=LOG, a=log_a, b=log_b, k=math.nan)
    return fit


def singular(name: str) -> str:
    """A parameter name as a unit of work: "authors" -> "author", "keys" -> "key"."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


def _amount(slope: float) -> str:
    size = abs(slope)
    return f"{size:.3g} ms" if size >= 0.01 else f"{size * 1000:.3g} µs"


def sentence(variant: str, parameter: str, fit: Fit) -> str:
    """ "naive +0.31 ms per author, linear" (or "joined flat"), in plain text."""
    if fit.shape == TOO_FEW:
        return f"{variant}: too few points to fit"
    if fit.shape == FLAT:
        return f"{variant} flat"
    sign = "+" if fit.slope >= 0 else "-"
    per = f"{sign}{_amount(fit.slope)} per {singular(parameter)}"
    if parameter == RTT_PARAMETER:  # ms per ms of round trip: the round trips a request waits
        per = f"{sign}{abs(fit.slope):.3g} x RTT per request"
    if fit.shape == UNKNOWN:
        text = f"{variant} {per}; {fit.points} points: not enough to tell its shape"
        low, high = fit.exponent_ci
        if EXPONENTS[0] < low and high < EXPONENTS[-1]:
            text += f" (exponent 95% CI [{low:.2g}, {high:.2g}])"
        return text
    low, high = fit.exponent_ci
    if fit.shape not in (LINEAR, LOGARITHMIC) and math.isfinite(low) and high > low:
        return f"{variant} {per}, {fit.shape}, exponent 95% CI [{low:.2g}, {high:.2g}]"
    return f"{variant} {per}, {fit.shape}"


def _number(value: Any) -> float | None:
    number = as_float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class SweepSeries:
    """One sweep of one parameter from one starting point: its points by value."""

    name: str  # the parameter, or "parameter, start" for a named start (sweep_from)
    parameter: str
    pairs: list[tuple[str, float]]  # (point label, value), by value
    work: dict[str, float]  # point label -> units of work per request (Technique.work_unit)
    work_unit: str | None = None


def sweeps_of(points: Sequence[Mapping[str, Any]]) -> list[SweepSeries]:
    """A technique's sweeps, each a parameter from one start, the default point included in
    the sweeps from the defaults.

    `points` are a technique's planned points as the manifest records them: label, params,
    `swept` (the parameter a sweep point varies, or None for the default point), and for a
    sweep from a named start its `series`. The values come from the params, never from the
    labels.
    """
    default = default_of(points)
    found: dict[str, SweepSeries] = {}
    for point in points:
        name = point.get("swept")
        params = point.get("params", {})
        value = _number(params.get(name)) if name else None
        if not name or value is None:
            continue
        start = point.get("series")
        key = f"{name}, {start}" if start else str(name)
        unit = point.get("work_unit")
        series = found.setdefault(
            key, SweepSeries(key, str(name), [], {}, str(unit) if unit else None)
        )
        series.pairs.append((str(point["label"]), value))
        work = _number(params.get(unit)) if unit else None
        if work is not None:
            series.work[str(point["label"])] = work
    for series in found.values():
        value = _number(default.get("params", {}).get(series.parameter)) if default else None
        if default is not None and value is not None and series.name == series.parameter:
            series.pairs.append((str(default["label"]), value))
        series.pairs.sort(key=lambda pair: pair[1])
    return list(found.values())


def sweep_series(points: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Per sweep (sweeps_of), its (point label, value) pairs."""
    return {series.name: series.pairs for series in sweeps_of(points)}


def point_costs(
    probe_summary: pd.DataFrame, summary: pd.DataFrame, technique: str
) -> tuple[dict[tuple[str, str], float], str]:
    """(variant, point) -> cost in ms: probe medians if the run has them, else loaded p50."""
    chosen = probe_summary[probe_summary["technique"] == technique]
    if len(chosen):
        found = zip(chosen["variant"], chosen["point"], chosen["latency_ms"], strict=True)
        return {(str(v), str(p)): float(m) for v, p, m in found}, PROBE_SOURCE
    rows = summary[(summary["technique"] == technique) & (summary["mode"] == CLOSED)]
    costs = {
        (str(v), str(p)): float(m)
        for v, p, m in zip(rows["variant"], rows["point"], rows["p50_ms"], strict=True)
    }
    return costs, LOAD_SOURCE


@dataclass(frozen=True)
class Growth:
    """A technique's sweep fits (GROWTH_COLUMNS) and the points they fit (GROWTH_POINT_COLUMNS)."""

    fits: pd.DataFrame
    points: pd.DataFrame


def growth_table(
    technique: str,
    points: Sequence[Mapping[str, Any]],
    variants: Sequence[str],
    costs: Mapping[tuple[str, str], float],
    source: str,
) -> Growth:
    """One fit per sweep x variant, and the measured points each one fits; where the cost
    falls as the parameter rises (a setting, not work), the knee (pairbench.stats.knee)."""
    fits, measured = [], []
    for series in sweeps_of(points):
        parameter = series.parameter
        for variant in variants:
            found = [
                (label, value, costs[(variant, label)])
                for label, value in series.pairs
                if (variant, label) in costs
            ]
            fit = fit_growth([x for _, x, _ in found], [y for _, _, y in found])
            described = sentence(variant, parameter, fit)
            knee = None
            # A setting's sweep (its technique counts the work a request carries), or any
            # whose cost falls: where more stops paying is its finding, not a slope.
            if series.work_unit is not None or fit.shape == FALLING:
                knee = find_knee([(x, y, series.work.get(label, 1.0)) for label, x, y in found])
            unit = series.work_unit or REQUESTS
            if knee is not None:
                described = knee_sentence(variant, parameter, knee, unit)
            fits.append(
                {
                    "technique": technique,
                    "series": series.name,
                    "parameter": parameter,
                    "variant": variant,
                    "points": fit.points,
                    "slope_ms_per_unit": fit.slope,
                    "intercept_ms": fit.intercept,
                    "shape": fit.shape,
                    "exponent": fit.exponent,
                    "exponent_ci_low": fit.exponent_ci[0],
                    "exponent_ci_high": fit.exponent_ci[1],
                    "curve": fit.curve,
                    "curve_a": fit.a,
                    "curve_b": fit.b,
                    "curve_k": fit.k,
                    "x_min": fit.x_min,
                    "x_max": fit.x_max,
                    "source": source,
                    "knee_value": knee.value if knee else math.nan,
                    "knee_rate_per_s": knee.rate if knee else math.nan,
                    "best_value": knee.best_value if knee else math.nan,
                    "best_rate_per_s": knee.best_rate if knee else math.nan,
                    "rate_unit": unit if knee else "",
                    "sentence": described,
                }
            )
            measured += [
                {
                    "technique": technique,
                    "series": series.name,
                    "parameter": parameter,
                    "variant": variant,
                    "point": label,
                    "value": value,
                    "cost_ms": cost,
                    "rate_per_s": rate_per_s(cost, series.work.get(label, 1.0)),
                    "source": source,
                }
                for label, value, cost in found
            ]
    return Growth(
        pd.DataFrame(fits, columns=GROWTH_COLUMNS),
        pd.DataFrame(measured, columns=GROWTH_POINT_COLUMNS),
    )


def fit_of(row: Mapping[str, Any]) -> Fit:
    """A growth.csv row back as the Fit it records, to draw its curve."""

    def number(column: str) -> float:
        value = _number(row.get(column))
        return math.nan if value is None else value

    curve = row.get("curve")
    return Fit(
        slope=number("slope_ms_per_unit"),
        intercept=number("intercept_ms"),
        shape=str(row.get("shape", "")),
        points=int(number("points") or 0),
        exponent=number("exponent"),
        exponent_ci=(number("exponent_ci_low"), number("exponent_ci_high")),
        curve=curve if curve in (LINE, POWER, LOG) else "",
        a=number("curve_a"),
        b=number("curve_b"),
        k=number("curve_k"),
        x_min=number("x_min"),
        x_max=number("x_max"),
    )
