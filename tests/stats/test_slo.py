"""SLOs per summary row: the cache hit rate (hits over lookups), p95, p99 and errors against
the seed's objectives or a project's, as its run recorded them."""

import math

import pytest

from pairbench.manifest import Manifest
from pairbench.slo import DEFAULT_SLOS, SloError, Slos, slos_entry, slos_of_run
from pairbench.stats.slo import cache_hit_rate, slo_checks, slo_status


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


def test_slo_status_judges_p95_errors_and_the_hit_rate_where_metered() -> None:
    met = {"p95_ms": 120.0, "error_rate": 0.0}
    assert slo_status(met) == "met"
    assert slo_status({**met, "p95_ms": 250.0}) == "missed"
    assert slo_status({**met, "error_rate": 0.02}) == "missed"
    cached = {**met, "cache_hits_per_request": 0.7, "cache_misses_per_request": 0.3}
    assert slo_status(cached) == "missed"
    assert [check.name for check in slo_checks(cached)] == [
        "p95_ms",
        "error_rate",
        "cache_hit_rate",
    ]
    assert slo_status({"p95_ms": math.nan, "error_rate": 1.0}) == "no data"


def test_a_projects_slos_replace_the_seeds() -> None:
    row = {"p95_ms": 120.0, "p99_ms": 450.0, "error_rate": 0.0}
    cached = {**row, "cache_hits_per_request": 0.7, "cache_misses_per_request": 0.3}
    own = Slos(p95_ms=100.0, p99_ms=400.0, cache_hit_rate=None)
    assert [(check.name, check.met) for check in slo_checks(cached, own)] == [
        ("p95_ms", False),
        ("p99_ms", False),
        ("error_rate", True),
    ]
    assert slo_status(cached, own) == "missed"
    assert slo_status(row, Slos(p95_ms=150.0, p99_ms=500.0)) == "met"


def test_a_run_judges_by_the_slos_it_recorded() -> None:
    own = Slos(p95_ms=100.0, p99_ms=None)
    assert slos_of_run(Manifest(run_id="run", slos=slos_entry(own))) == own
    assert slos_of_run(Manifest(run_id="run")) == DEFAULT_SLOS  # from before the record
    with pytest.raises(SloError, match=r"manifest.json \(slos\): p95_ms must be a number"):
        slos_of_run(Manifest(run_id="run", slos={"p95_ms": "fast"}))


def test_the_memory_share_is_judged_where_it_was_measured() -> None:
    met = {"p95_ms": 120.0, "error_rate": 0.0}
    assert "memory_share" not in [check.name for check in slo_checks(met)]
    assert slo_status({**met, "memory_share": 0.5}) == "met"
    assert slo_status({**met, "memory_share": 0.85}) == "missed"
    assert slo_status({**met, "memory_share": 0.85}, Slos(memory_share=None)) == "met"
