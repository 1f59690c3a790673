"""Known answers of the sweep fit: slopes and shapes of made-up cost curves."""

import math

import numpy as np
import pandas as pd
import pytest

from pairbench.stats.growth import fit_growth, growth_table, sentence, singular, sweep_series

WORK = [10.0, 50.0, 100.0, 1000.0]


def test_a_line_gives_its_slope_and_linear() -> None:
    fit = fit_growth(WORK, [2.0 + 0.3 * x for x in WORK])
    assert fit.slope == pytest.approx(0.3) and fit.intercept == pytest.approx(2.0)
    assert fit.shape == "linear" and fit.points == 4
    assert sentence("naive", "authors", fit) == "naive +0.3 ms per author, linear"


def test_a_nearly_constant_cost_is_flat() -> None:
    fit = fit_growth(WORK, [5.0, 5.2, 4.9, 5.4])
    assert fit.shape == "flat"
    assert sentence("joined", "authors", fit) == "joined flat"


def test_a_quadratic_cost_is_superlinear() -> None:
    fit = fit_growth(WORK, [1.0 + 0.001 * x * x for x in WORK])
    assert fit.shape == "superlinear (~x^2.0)"


def test_a_square_root_cost_is_sublinear() -> None:
    fit = fit_growth(WORK, [2.0 + 3.0 * math.sqrt(x) for x in WORK])
    assert fit.shape == "sublinear (~x^0.5)"


def test_a_cost_that_bends_gets_its_exponent() -> None:
    """Per-unit cost that grows along the range, as n_plus_one showed at 1000 authors."""
    fit = fit_growth(WORK, [5.0 + 0.1 * x**1.4 for x in WORK])
    assert fit.shape == "superlinear (~x^1.4)"


def test_a_logarithmic_cost_is_named_so() -> None:
    fit = fit_growth(WORK, [1.0 + 4.0 * math.log(x) for x in WORK])
    assert fit.shape == "logarithmic"


def test_noise_on_a_line_stays_linear() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        noisy = [(3.0 + 0.3 * x) * rng.uniform(0.93, 1.07) for x in WORK]
        assert fit_growth(WORK, noisy).shape == "linear"


def test_three_points_never_claim_a_curve() -> None:
    """A three-parameter curve passes through any three points: noise would look like shape."""
    assert fit_growth([10, 100, 1000], [3.0, 20.0, 900.0]).shape == "linear"


def test_two_points_give_a_slope_and_one_point_gives_none() -> None:
    assert fit_growth([10, 100], [4.0, 31.0]).slope == pytest.approx(0.3)
    assert fit_growth([10, 10], [4.0, 31.0]).shape == "too few points"


def test_small_slopes_are_in_microseconds() -> None:
    fit = fit_growth([10, 100, 1000], [1.0, 1.45, 5.95])
    assert sentence("joined", "rows", fit) == "joined +5 µs per row, linear"


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
    table = growth_table("n_plus_one", points, ["naive", "joined"], costs, "probe")
    assert isinstance(table, pd.DataFrame)
    assert list(table["sentence"]) == ["naive +0.3 ms per author, linear", "joined flat"]
