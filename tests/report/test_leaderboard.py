"""The leaderboard's choices: best variant, measured proof, SLOs."""

import math

from pairbench.report.leaderboard import best_variant, measured_proof, slo


def test_the_proof_names_the_counts_that_changed_most() -> None:
    baseline = {"queries_per_request": 51.0, "rows_per_request": 550.0, "bytes_per_request": 4200.0}
    best = {"queries_per_request": 1.0, "rows_per_request": 500.0, "bytes_per_request": 4200.0}
    assert measured_proof(baseline, best) == "queries 51 → 1; rows 550 → 500"
    assert measured_proof(baseline, baseline) == "no metered count changed"


def test_bytes_read_as_sizes_and_small_changes_are_ignored() -> None:
    baseline = {"bytes_per_request": 41_200.0, "queries_per_request": 2.0}
    best = {"bytes_per_request": 3_100.0, "queries_per_request": 2.02}
    assert measured_proof(baseline, best) == "bytes sent 41.2 kB → 3.10 kB"


def test_the_best_variant_is_the_fastest_equivalent_one() -> None:
    rows = [
        {"variant": "naive", "baseline": True, "speedup_p50": 1.0, "equivalent": True},
        {"variant": "wrong", "baseline": False, "speedup_p50": 9.0, "equivalent": False},
        {"variant": "good", "baseline": False, "speedup_p50": 3.0, "equivalent": True},
        {"variant": "none", "baseline": False, "speedup_p50": math.nan, "equivalent": True},
    ]
    best = best_variant(rows)
    assert best is not None and best["variant"] == "good"
    assert best_variant(rows[:1]) is None


def test_slos_check_p95_errors_and_the_cache_hit_rate_where_metered() -> None:
    assert slo({"p95_ms": 120.0, "error_rate": 0.0})["status"] == "met"
    assert slo({"p95_ms": 250.0, "error_rate": 0.0})["status"] == "missed"
    assert slo({"p95_ms": 20.0, "error_rate": 0.02})["status"] == "missed"
    cached = {"p95_ms": 20.0, "error_rate": 0.0, "cache_hits_per_request": 0.7}
    low_hits = slo({**cached, "cache_misses_per_request": 0.3})
    assert low_hits["status"] == "missed" and "cache hits 70%" in low_hits["detail"]
    assert slo({**cached, "cache_misses_per_request": 0.1})["status"] == "met"
    assert slo({"p95_ms": math.nan, "error_rate": 1.0})["status"] == "no data"


def test_any_metered_count_can_be_the_proof() -> None:
    """Counts another meter field adds (db_bytes here) take part without naming them."""
    baseline = {"db_bytes_per_request": 90_000.0, "rows_per_request": 100.0}
    best = {"db_bytes_per_request": 9_000.0, "rows_per_request": 100.0}
    assert measured_proof(baseline, best) == "DB bytes 90.0 kB → 9.00 kB"


def test_a_rare_count_from_zero_does_not_outrank_a_real_change() -> None:
    baseline = {"queries_per_request": 51.0, "connections_per_request": 0.0}
    best = {"queries_per_request": 1.0, "connections_per_request": 0.008}
    assert measured_proof(baseline, best) == "queries 51 → 1"
    redis = measured_proof({"redis_commands_per_request": 0.0}, {"redis_commands_per_request": 1.0})
    assert redis == "Redis commands 0 → 1"
