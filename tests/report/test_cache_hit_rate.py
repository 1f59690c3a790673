"""The cache hit rate: hits over lookups, judged against the seed's 80% target."""

import math

import pytest

from pairbench.report.leaderboard import cache_hit_rate


@pytest.mark.parametrize(
    ("hits", "misses", "rate"),
    [(1.0, 0.0, 1.0), (0.9, 0.1, 0.9), (100.0, 0.0, 1.0), (0.0, 1.0, 0.0), (3.0, 1.0, 0.75)],
)
def test_hit_rate_is_hits_over_lookups(hits: float, misses: float, rate: float) -> None:
    row = {"cache_hits_per_request": hits, "cache_misses_per_request": misses}
    assert cache_hit_rate(row) == pytest.approx(rate)


@pytest.mark.parametrize(
    "row", [{}, {"cache_hits_per_request": 0.0, "cache_misses_per_request": 0.0}]
)
def test_a_variant_without_lookups_has_no_hit_rate(row: dict[str, float]) -> None:
    assert math.isnan(cache_hit_rate(row))
