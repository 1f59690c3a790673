"""The leaderboard's choices: best variant, measured proof, SLOs; the leaderboard and the
console judge a technique on its headline figure."""

import math

from bench_app.headline import MEMORY_GROWTH
from pairbench.report.leaderboard import (
    best_variant,
    headline_text,
    leaderboard_line,
    measured_proof,
    slo,
)


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
    assert best_variant(rows[:2]) is None  # a wrong answer is never the best, even alone


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


def test_a_mixed_workload_line_names_what_the_bystanders_saw() -> None:
    """Each other request kind gets the variant that served it best, not the target's best."""
    target = [
        {
            "variant": "naive",
            "baseline": True,
            "speedup_p50": 1.0,
            "equivalent": True,
            "p50_ms": 40.0,
        },
        {
            "variant": "thread",
            "baseline": False,
            "speedup_p50": 1.3,
            "equivalent": True,
            "p50_ms": 30.0,
            "speedup_ci_low": 1.2,
            "speedup_ci_high": 1.4,
            "verdict": "faster",
        },
        {
            "variant": "process",
            "baseline": False,
            "speedup_p50": 1.1,
            "equivalent": True,
            "p50_ms": 36.0,
        },
    ]
    bystanders = [
        {
            **row,
            "name": "bystander",
            "speedup_p50": speedup,
            "p99_ms": p99,
            "speedup_ci_low": speedup * 0.9,
            "speedup_ci_high": speedup * 1.1,
            "verdict": "faster",
        }
        for row, speedup, p99 in zip(target, (1.0, 3.0, 20.0), (48.0, 20.0, 1.5), strict=True)
    ]
    [kind] = leaderboard_line("blocking", "t", target, [], 0, bystanders)["kinds"]
    assert (kind["name"], kind["best"]["variant"], kind["baseline"]["p99_ms"]) == (
        "bystander",
        "process",
        48.0,
    )
    line = headline_text("blocking", target, bystanders)
    assert line.startswith("blocking: thread vs naive: p50 1.30x")
    assert line.endswith("; bystander: process p50 20.00x [18.00, 22.00] faster, p99 48 -> 1.5 ms")
    assert leaderboard_line("plain", "t", target, [], 0)["kinds"] == []


# The headline: a readers' p99 (invalidation), not the variant's own p50.

HEADLINE_ROWS = [
    {
        "variant": "keys_del",
        "baseline": True,
        "equivalent": True,
        "speedup_p50": 1.0,
        "p50_ms": 2.0,
        "headline": "read p99",
        "headline_figure": "p99_ms",
        "headline_value": 117.7,
        "headline_speedup": 1.0,
        "headline_ci_low": 1.0,
        "headline_ci_high": 1.0,
        "headline_verdict": "baseline",
    },
    {
        "variant": "scan_unlink",
        "baseline": False,
        "equivalent": True,
        "speedup_p50": 0.32,
        "speedup_ci_low": 0.28,
        "speedup_ci_high": 0.36,
        "p50_ms": 6.2,
        "headline": "read p99",
        "headline_figure": "p99_ms",
        "headline_value": 30.0,
        "headline_speedup": 3.9,
        "headline_ci_low": 2.9,
        "headline_ci_high": 5.3,
        "headline_verdict": "faster",
    },
    {
        "variant": "tag_set",
        "baseline": False,
        "equivalent": True,
        "speedup_p50": 0.9,
        "speedup_ci_low": 0.8,
        "speedup_ci_high": 1.0,
        "p50_ms": 2.2,
        "headline": "read p99",
        "headline_figure": "p99_ms",
        "headline_value": 16.3,
        "headline_speedup": 7.2,
        "headline_ci_low": 5.0,
        "headline_ci_high": 9.9,
        "headline_verdict": "faster",
    },
]


def test_the_best_variant_is_the_best_on_the_headline_not_on_p50() -> None:
    best = best_variant(HEADLINE_ROWS)
    assert best is not None and best["variant"] == "tag_set"


def test_the_console_line_leads_with_the_headline_and_its_figures() -> None:
    text = headline_text("invalidation", HEADLINE_ROWS)
    assert text.startswith("invalidation: tag_set vs keys_del: read p99 7.20x [5.00, 9.90] faster")
    assert "118 ms -> 16.3 ms" in text and "p50 0.90x" in text


def test_a_leaderboard_line_carries_the_headline() -> None:
    line = leaderboard_line("invalidation", "Invalidation", HEADLINE_ROWS, [], 0)
    assert line["headline"]["label"] == "read p99"
    assert line["headline"]["speedup"] == "7.20x [5.00, 9.90]"


def test_rows_from_before_headlines_are_judged_on_p50() -> None:
    old = [
        {key: value for key, value in row.items() if not key.startswith("headline")}
        for row in HEADLINE_ROWS
    ]
    best = best_variant(old)
    assert best is not None and best["variant"] == "tag_set"  # 0.9x beats 0.32x
    assert "p50 0.90x [0.80, 1.00]" in headline_text("invalidation", old)


def growth_row(
    variant: str, value: float, saves: float, low: float, high: float
) -> dict[str, object]:
    verdict = "baseline" if variant == "unbounded" else "faster"
    return {
        "variant": variant,
        "baseline": variant == "unbounded",
        "equivalent": True,
        "speedup_p50": 1.0,
        "speedup_ci_low": 0.95,
        "speedup_ci_high": 1.05,
        "headline": "memory growth per 10k requests",
        "headline_figure": MEMORY_GROWTH,
        "headline_value": value,
        "headline_speedup": saves,
        "headline_ci_low": low,
        "headline_ci_high": high,
        "headline_verdict": verdict,
    }


def test_a_growth_headline_says_what_the_variant_saves_not_a_ratio_against_none() -> None:
    rows = [
        growth_row("unbounded", 20.2, 0.0, 0.0, 0.0),
        growth_row("bounded", 0.1, 20.1, 19.6, 20.6),
    ]
    line = leaderboard_line("bounded_cache", "Bounded cache", rows, [], 0)
    assert line["headline"]["speedup"] == "saves 20.1 MB [19.6, 20.6]"
    assert (line["headline"]["verdict"], line["headline"]["verdict_class"]) == (
        "grows less",
        "faster",
    )
    text = headline_text("bounded_cache", rows)
    assert text.startswith(
        "bounded_cache: bounded vs unbounded: memory growth per 10k requests "
        "saves 20.1 MB [19.6, 20.6] grows less (20.2 MB -> 0.1 MB)"
    )


def test_a_growth_from_one_round_has_no_ci_and_says_so_and_a_missing_figure_is_a_dash() -> None:
    rows = [
        growth_row("unbounded", math.nan, 0.0, 0.0, 0.0),
        growth_row("bounded", math.nan, 20.1, math.nan, math.nan),
    ]
    rows[1]["headline_verdict"] = "no CI (one round)"
    text = headline_text("bounded_cache", rows)
    assert "saves 20.1 MB no CI (one round) (– -> –)" in text
