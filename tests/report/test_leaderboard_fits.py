"""The leaderboard fits a 1400 px window, however long the catalog's names and figures."""

import gzip
from pathlib import Path

from pairbench.report.browser import check_report
from pairbench.report.build import build_report
from tests.browser_support import require_chromium
from tests.synthetic_run import write_run

# The catalog's longest variant names, in place of the synthetic run's short ones.
LONG_NAMES = {"selectin": "cpu_offloaded_to_process", "joined": "single_flight_redis_lock"}
TECHNIQUES = (
    "n_plus_one",
    "event_loop_blocking",
    "request_coalescing",
    "conditional_get",
    "streaming_export",
    "upstream_timeouts",
)


def with_long_names(run_dir: Path) -> None:
    for path in run_dir.iterdir():
        if path.suffix not in (".csv", ".json", ".gz"):
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as file:
            text = file.read()
        for short, long in LONG_NAMES.items():
            text = text.replace(short, long)
        with opener(path, "wt") as file:
            file.write(text)


def test_the_leaderboard_is_no_wider_than_a_1400_px_window_leaves_it(tmp_path: Path) -> None:
    require_chromium()
    run_dir = tmp_path / "results" / "wide"
    write_run(run_dir, techniques=TECHNIQUES, micro=True)
    with_long_names(run_dir)
    html = build_report(run_dir, tmp_path / "reports")
    assert "cpu_offloaded_to_process" in html.read_text()
    check = check_report(html, list(TECHNIQUES), tmp_path / "wide.png")
    assert check.leaderboard_overflow_px == 0.0 and check.ok


def test_a_leaderboard_that_does_not_fit_fails_the_check(tmp_path: Path) -> None:
    require_chromium()
    page = tmp_path / "wide.html"
    cell = "x" * 400
    page.write_text(
        '<!DOCTYPE html><title>wide</title><div class="scroll" style="overflow-x:auto">'
        f'<table class="leaderboard"><tr><td style="white-space:nowrap">{cell}</td></tr>'
        "</table></div>"
    )
    check = check_report(page, [])
    assert check.leaderboard_overflow_px > 1000 and not check.ok
