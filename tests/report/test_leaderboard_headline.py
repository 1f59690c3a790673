"""The leaderboard and the console judge a technique on its headline figure."""

from pairbench.report.leaderboard import best_variant, headline_text, leaderboard_line

ROWS = [
    {"variant": "keys_del", "baseline": True, "equivalent": True, "speedup_p50": 1.0,
     "p50_ms": 2.0, "headline": "read p99", "headline_figure": "p99_ms", "headline_value": 117.7,
     "headline_speedup": 1.0, "headline_ci_low": 1.0, "headline_ci_high": 1.0,
     "headline_verdict": "baseline"},
    {"variant": "scan_unlink", "baseline": False, "equivalent": True, "speedup_p50": 0.32,
     "speedup_ci_low": 0.28, "speedup_ci_high": 0.36, "p50_ms": 6.2, "headline": "read p99",
     "headline_figure": "p99_ms", "headline_value": 30.0, "headline_speedup": 3.9,
     "headline_ci_low": 2.9, "headline_ci_high": 5.3, "headline_verdict": "faster"},
    {"variant": "tag_set", "baseline": False, "equivalent": True, "speedup_p50": 0.9,
     "speedup_ci_low": 0.8, "speedup_ci_high": 1.0, "p50_ms": 2.2, "headline": "read p99",
     "headline_figure": "p99_ms", "headline_value": 16.3, "headline_speedup": 7.2,
     "headline_ci_low": 5.0, "headline_ci_high": 9.9, "headline_verdict": "faster"},
]  # fmt: skip


def test_the_best_variant_is_the_best_on_the_headline_not_on_p50() -> None:
    best = best_variant(ROWS)
    assert best is not None and best["variant"] == "tag_set"


def test_the_console_line_leads_with_the_headline_and_its_figures() -> None:
    text = headline_text("invalidation", ROWS)
    assert text.startswith("invalidation: tag_set vs keys_del: read p99 7.20x [5.00, 9.90] faster")
    assert "118 ms -> 16.3 ms" in text and "p50 0.90x" in text


def test_a_leaderboard_line_carries_the_headline() -> None:
    line = leaderboard_line("invalidation", "Invalidation", ROWS, [], 0)
    assert line["headline"]["label"] == "read p99"
    assert line["headline"]["speedup"] == "7.20x [5.00, 9.90]"


def test_rows_from_before_headlines_are_judged_on_p50() -> None:
    old = [
        {key: value for key, value in row.items() if not key.startswith("headline")} for row in ROWS
    ]
    best = best_variant(old)
    assert best is not None and best["variant"] == "tag_set"  # 0.9x beats 0.32x
    assert "p50 0.90x [0.80, 1.00]" in headline_text("invalidation", old)
