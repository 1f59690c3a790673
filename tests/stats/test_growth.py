"""Known answers of the sweep fit: slopes, shapes and drawn curves of made-up cost curves."""

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pairbench.stats.growth import (
    LINEAR,
    UNKNOWN,
    fit_growth,
    fit_of,
    growth_table,
    sentence,
    singular,
    sweep_series,
)

WORK = [10.0, 50.0, 100.0, 1000.0]  # n_plus_one's sweep with its default point
FIVE = [10.0, 50.0, 100.0, 300.0, 1000.0]  # the fewest points that may name a shape
MANY = [10.0, 20.0, 50.0, 100.0, 200.0, 400.0, 700.0, 1000.0]


def claim(fit_shape: str) -> str:
    """A shape without its exponent: "superlinear (~x^1.4)" -> "superlinear"."""
    return fit_shape.split(" (")[0]


def test_a_line_gives_its_slope_and_linear() -> None:
    fit = fit_growth(FIVE, [2.0 + 0.3 * x for x in FIVE])
    assert fit.slope == pytest.approx(0.3) and fit.intercept == pytest.approx(2.0)
    assert fit.shape == "linear" and fit.points == 5
    assert sentence("naive", "authors", fit) == "naive +0.3 ms per author, linear"


def test_over_the_rtt_sweep_the_slope_is_round_trips_per_request() -> None:
    rtts = [0.0, 0.25, 0.5, 1.0]
    fit = fit_growth(rtts, [12.0 + 51 * rtt for rtt in rtts])
    assert fit.slope == pytest.approx(51)
    assert sentence("naive", "rtt_ms", fit).startswith("naive +51 x RTT per request")


def test_a_nearly_constant_cost_is_flat() -> None:
    fit = fit_growth(WORK, [5.0, 5.2, 4.9, 5.4])
    assert fit.shape == "flat"
    assert sentence("joined", "authors", fit) == "joined flat"


def test_a_quadratic_cost_is_superlinear() -> None:
    fit = fit_growth(FIVE, [1.0 + 0.001 * x * x for x in FIVE])
    assert fit.shape == "superlinear (~x^2.0)"


def test_a_square_root_cost_is_sublinear() -> None:
    fit = fit_growth(FIVE, [2.0 + 3.0 * math.sqrt(x) for x in FIVE])
    assert fit.shape == "sublinear (~x^0.5)"


def test_a_cost_that_bends_gets_its_exponent() -> None:
    """Exact points of a + b*x^1.4: nothing else fits them."""
    fit = fit_growth(FIVE, [5.0 + 0.1 * x**1.4 for x in FIVE])
    assert fit.shape == "superlinear (~x^1.4)"
    assert fit.exponent_ci == (1.4, 1.4)


def test_four_points_never_name_a_shape() -> None:
    """The issue's "superlinear (~x^1.4)" from 4 points: a three-parameter curve through
    four leaves one residual to judge it by, so even exact points name no shape; the
    best curve is still the one drawn."""
    fit = fit_growth(WORK, [5.0 + 0.1 * x**1.4 for x in WORK])
    assert fit.shape == UNKNOWN and fit.curve == "power" and fit.exponent == 1.4
    assert math.isnan(fit.exponent_ci[0])
    assert sentence("naive", "authors", fit).endswith("4 points: not enough to tell its shape")


def test_a_logarithmic_cost_is_named_so_given_enough_points() -> None:
    fit = fit_growth(MANY, [1.0 + 4.0 * math.log(x) for x in MANY])
    assert fit.shape == "logarithmic"
    assert fit.predict([100.0])[0] == pytest.approx(1.0 + 4.0 * math.log(100.0), rel=0.02)


def test_noise_on_a_line_reads_linear_with_enough_points() -> None:
    rng = np.random.default_rng(1)
    shapes = Counter(
        claim(fit_growth(MANY, [(3.0 + 0.3 * x) * rng.uniform(0.93, 1.07) for x in MANY]).shape)
        for _ in range(50)
    )
    assert shapes[LINEAR] >= 45 and set(shapes) <= {LINEAR, UNKNOWN}


@pytest.mark.parametrize("work", [FIVE, MANY])
def test_noise_on_a_line_never_claims_a_curve(work: list[float]) -> None:
    """The exponent's 95% CI excludes 1 in about 5% of noisy lines at most; few points
    say "not enough points to tell" instead of guessing."""
    rng = np.random.default_rng(2)
    shapes = Counter(
        claim(fit_growth(work, [(3.0 + 0.3 * x) * rng.lognormal(0.0, 0.07) for x in work]).shape)
        for _ in range(200)
    )
    assert shapes["superlinear"] + shapes["sublinear"] + shapes["logarithmic"] <= 10, shapes


def test_a_noisy_curve_is_found_given_enough_points() -> None:
    rng = np.random.default_rng(3)
    shapes = Counter(
        fit_growth(MANY, [(3.0 + 0.01 * x**1.6) * rng.lognormal(0.0, 0.07) for x in MANY]).shape
        for _ in range(100)
    )
    assert sum(n for shape, n in shapes.items() if shape.startswith("superlinear")) >= 95, shapes


def test_three_points_never_claim_a_shape() -> None:
    """A three-parameter curve passes through any three points: noise would look like shape."""
    fit = fit_growth([10, 100, 1000], [3.0, 20.0, 900.0])
    assert fit.shape == UNKNOWN and fit.slope > 0
    assert sentence("naive", "authors", fit).endswith("3 points: not enough to tell its shape")


def test_two_points_give_a_slope_and_one_point_gives_none() -> None:
    assert fit_growth([10, 100], [4.0, 31.0]).slope == pytest.approx(0.3)
    assert fit_growth([10, 10], [4.0, 31.0]).shape == "too few points"


def test_small_slopes_are_in_microseconds() -> None:
    fit = fit_growth([10, 100, 1000], [1.0, 1.45, 5.95])
    assert sentence("joined", "rows", fit) == (
        "joined +5 µs per row; 3 points: not enough to tell its shape"
    )


def test_a_falling_cost_is_called_falling_not_flat() -> None:
    fit = fit_growth(WORK, [10.0, 5.0, 3.0, 1.0])
    assert fit.shape == "falling" and fit.slope < 0
    assert fit.drawn()[0].size == 0  # no rising curve is drawn through it


@pytest.mark.parametrize(
    "cost",
    [
        [9.8, 10.1, 10.9, 30.0],  # selectin-like: flat, then rising
        [4.0, 6.0, 8.0, 150.0],  # joined-like
        [10.0, 10.5, 11.0, 300.0],  # where the old line fell below zero
        [0.5, 2.0, 4.0, 41.0],
        [3.0, 20.0, 35.0, 900.0],
    ],
)
def test_the_drawn_curve_holds_on_log_axes(cost: list[float]) -> None:
    """The issue's chart: a least-squares line through these points dips far below them
    (to about zero) between the first two; the fit must stay positive, close to every
    point, and be drawn over the measured range only."""
    fit = fit_growth(WORK, cost)
    work, drawn = fit.drawn()
    assert work.min() == pytest.approx(10.0) and work.max() == pytest.approx(1000.0)
    assert (drawn > 0).all()
    at_points = fit.predict(WORK)
    assert np.all(np.abs(np.log(at_points / np.array(cost))) < math.log(1.5)), at_points
    between = fit.predict([25.0])[0]
    assert min(cost[:2]) / 1.5 < between < max(cost[:2]) * 1.5


def test_the_old_least_squares_line_would_have_dipped() -> None:
    """The motivating defect, shown: the plain least-squares line through points near
    10 ms is under a quarter of that at 25 authors, and below zero at 10."""
    slope, intercept = np.polyfit(WORK, [10.0, 10.5, 11.0, 300.0], 1)
    assert slope * 25.0 + intercept < 2.5 and slope * 10.0 + intercept < 0


@pytest.mark.parametrize(
    ("name", "unit"),
    [("authors", "author"), ("keys", "key"), ("entries", "entry"), ("size", "size")],
)
def test_units_are_singular(name: str, unit: str) -> None:
    assert singular(name) == unit


def test_series_include_the_default_point_and_tables_hold_sentences() -> None:
    points = [
        {"label": "authors=50", "params": {"authors": 50}, "swept": None},
        {"label": "authors=10", "params": {"authors": 10}, "swept": "authors"},
        {"label": "authors=1000", "params": {"authors": 1000}, "swept": "authors"},
    ]
    series = sweep_series(points)
    assert series == {
        "authors": [("authors=10", 10.0), ("authors=50", 50.0), ("authors=1000", 1000.0)]
    }
    costs = {("naive", label): 2 + 0.3 * value for label, value in series["authors"]}
    costs |= {("joined", label): 3.0 for label, _ in series["authors"]}
    growth = growth_table("n_plus_one", points, ["naive", "joined"], costs, "probe")
    assert isinstance(growth.fits, pd.DataFrame)
    assert list(growth.fits["sentence"]) == [
        "naive +0.3 ms per author; 3 points: not enough to tell its shape",
        "joined flat",
    ]
    assert list(growth.points["value"]) == [10.0, 50.0, 1000.0] * 2
    naive = fit_of(growth.fits.iloc[0].to_dict())
    assert naive.predict([100.0])[0] == pytest.approx(32.0)


def test_sweep_values_come_from_params_not_labels() -> None:
    """A label is only a name: values are read from the point's params."""
    points = [
        {"label": "default", "params": {"count": 100}, "swept": None},
        {"label": "small", "params": {"count": 10}, "swept": "count"},
        {"label": "large", "params": {"count": 1000}, "swept": "count"},
    ]
    assert sweep_series(points) == {
        "count": [("small", 10.0), ("default", 100.0), ("large", 1000.0)]
    }


def test_a_sweep_from_named_starts_is_a_series_of_each_without_the_default_point() -> None:
    """queue_concurrency's worker concurrency, swept for I/O-bound and CPU-bound jobs."""
    points = [{"label": "default", "params": {"kind": "io", "jobs": 4, "c": 8}, "swept": None}]
    for kind, start in (("io", "I/O-bound jobs"), ("cpu", "CPU-bound jobs")):
        points += [
            {
                "label": f"{kind}{c}",
                "params": {"kind": kind, "jobs": 32, "c": c},
                "swept": "c",
                "series": start,
                "work_unit": "jobs",
            }
            for c in (1, 2, 4, 8)
        ]
    assert sweep_series(points) == {
        "c, I/O-bound jobs": [(f"io{c}", float(c)) for c in (1, 2, 4, 8)],
        "c, CPU-bound jobs": [(f"cpu{c}", float(c)) for c in (1, 2, 4, 8)],
    }
    # I/O-bound: halves with each doubling until 4, then no better; CPU-bound: 2 is the best.
    costs = {("concurrent", f"io{c}"): 320.0 / min(c, 4) for c in (1, 2, 4, 8)}
    costs |= {
        ("concurrent", f"cpu{c}"): {1: 100.0, 2: 50.0, 4: 54.0, 8: 55.0}[c] for c in (1, 2, 4, 8)
    }
    costs |= {("one_at_a_time", label): 320.0 for label in ("io1", "io2", "io4", "io8")}
    growth = growth_table("queue_concurrency", points, ["one_at_a_time", "concurrent"], costs, "p")
    fits = growth.fits.set_index(["series", "variant"])
    io = fits.loc[("c, I/O-bound jobs", "concurrent")]
    assert (io["parameter"], io["knee_value"], io["rate_unit"]) == ("c", 4.0, "jobs")
    assert io["knee_rate_per_s"] == pytest.approx(32 / 0.080)  # 32 jobs in 80 ms
    assert io["sentence"] == (
        "concurrent levels off at c 4: 400 jobs/s, within 10% of its best (400 jobs/s at 4); "
        "the setting to pick on this machine"
    )
    assert fits.loc[("c, CPU-bound jobs", "concurrent"), "knee_value"] == 2.0
    assert fits.loc[("c, I/O-bound jobs", "one_at_a_time"), "sentence"] == (
        "one_at_a_time: more c does not pay here: its best (100 jobs/s at 1) is under 1.5x "
        "its rate at 1 (100 jobs/s); the setting to pick is 1"
    )
    rates = growth.points.set_index(["variant", "point"])["rate_per_s"]
    assert rates[("concurrent", "cpu2")] == pytest.approx(640.0)


def test_a_sweep_of_work_gets_no_knee() -> None:
    points = [
        {"label": "a", "params": {"rows": 10}, "swept": None},
        {"label": "b", "params": {"rows": 100}, "swept": "rows"},
        {"label": "c", "params": {"rows": 1000}, "swept": "rows"},
    ]
    costs = {("v", "a"): 2.0, ("v", "b"): 11.0, ("v", "c"): 101.0}
    fits = growth_table("t", points, ["v"], costs, "p").fits
    assert fits["series"].tolist() == ["rows"] and math.isnan(fits["knee_value"].iloc[0])
