"""The HTML report, built from a synthetic run directory written like the runner writes one."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pairbench import results
from pairbench.report.build import build_report, headlines
from pairbench.report.formatting import format_bytes, format_number, format_speedup
from pairbench.stats.stage import read_summary, write_tables
from pairbench.stats.summary import summarize
from tests.synthetic_run import POINT, VARIANTS, write_run


def read_samples(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / results.SAMPLES, dtype={"point": str, "error": str})


def test_report_is_one_self_contained_page(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(run_dir)
    path = build_report(run_dir, tmp_path / "reports")

    assert path == tmp_path / "reports" / "run-1" / "index.html"
    html = path.read_text()
    for variant in VARIANTS:
        assert variant in html
    # percentiles, throughput, latency over time, where the time goes
    assert html.count("<svg") == 4
    assert "N+1 queries vs eager loading" in html  # registry metadata
    assert "queries per request: 1+N -&gt; 2 -&gt; 1" in html
    assert "Test CPU" in html and "INTERRUPTED" not in html
    assert "No stability warnings" in html
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert "<script" not in html and "<link" not in html
    assert 'id="leaderboard"' in html and 'id="environment"' in html and "<nav" in html


def test_report_speedups_are_those_stats_computes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-2"
    write_run(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()

    written = pd.read_csv(run_dir / results.SUMMARY)
    baselines = {"n_plus_one": "naive"}
    equivalence = json.loads((run_dir / results.EQUIVALENCE).read_text())
    segments = pd.read_csv(run_dir / results.SEGMENTS)
    expected = summarize(read_samples(run_dir), segments, equivalence, baselines)
    assert list(written["variant"]) == ["naive", "selectin", "joined"]
    for column in ("requests", "p50_ms", "speedup_p50", "speedup_ci_low", "speedup_ci_high"):
        assert written[column].to_numpy() == pytest.approx(expected[column].to_numpy())
    assert list(written["verdict"]) == ["baseline", "faster", "faster"]
    for row in written.to_dict("records"):
        assert format_speedup({str(name): value for name, value in row.items()}) in html
    selectin = written[written["variant"] == "selectin"].iloc[0]
    assert 2.5 < selectin["speedup_p50"] < 3.5  # drawn with medians 30 and 10 ms


def test_sweep_points_each_get_charts_and_a_growth_chart(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-7"
    write_run(run_dir, points=("authors=50", "authors=100", "authors=10"), stats=False)
    equivalence = json.loads((run_dir / results.EQUIVALENCE).read_text())
    equivalence["n_plus_one"]["joined"] = {"equivalent": False, "detail": "differs at [0].posts"}
    (run_dir / results.EQUIVALENCE).write_text(json.dumps(equivalence))
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    # the default point: 4 charts; each other point: percentiles, throughput, time split;
    # then cost against the work
    assert html.count("<svg") == 4 + 3 + 3 + 1
    assert (
        0
        < html.index("(authors=50, the default)")
        < html.index("Under load at authors=10<")
        < html.index("Under load at authors=100<")
    )
    assert "differs at [0].posts" in html and ">NO<" in html
    assert "n_plus_one/joined: NOT EQUIVALENT, its answer did not match the baseline" in html
    assert "differs at [0].posts); its speedup is not an optimization" in html  # run-level
    assert "NOT EQUIVALENT: joined (never counted as its best)" in html  # the leaderboard
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert len(summary) == 9 and not summary.loc[summary["variant"] == "joined", "equivalent"].any()
    growth = pd.read_csv(run_dir / results.GROWTH)
    assert list(growth["variant"]) == ["naive", "selectin", "joined"]
    # three points: a slope, but too few to tell a line from a curve
    assert all(
        text.endswith("per author; 3 points: not enough to tell its shape")
        for text in growth["sentence"]
    )
    assert "Cost as the work grows" in html


def test_probed_sweeps_fit_growth_and_open_loop_and_micro_get_their_parts(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run-8"
    write_run(
        run_dir, modes=("closed", "open"), probe_only=("authors=10", "authors=1000"), micro=True
    )
    html = build_report(run_dir, tmp_path / "reports").read_text()
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert sorted(set(summary["mode"])) == ["closed", "open"]
    assert "Open loop at 60.0 requests/s" in html and "from actual send" in html
    # closed: percentiles, throughput, timeline; open: percentiles, timeline; split; growth
    assert html.count("<svg") == 3 + 2 + 1 + 1
    growth = pd.read_csv(run_dir / results.GROWTH)
    assert set(growth["source"]) == {"one request at a time (median)"}
    assert growth["points"].tolist() == [3, 3, 3]  # two probed points and the default
    micro = pd.read_csv(run_dir / results.MICRO_SUMMARY)
    assert list(micro["verdict"]) == ["baseline", "faster", "faster"]
    assert "In-process microbenchmark" in html
    assert html.count('class="code-grid"') == 1 and "selectinload" in html  # the code


def test_the_leaderboard_shows_the_best_variant_and_the_measured_proof(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-9"
    write_run(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    board = html[html.index('id="leaderboard"') : html.index('id="trust"')]
    assert "joined" in board and "queries 51 → 1" in board
    assert board.count("✓") == 3  # every variant met the SLOs


def test_interrupted_run_shows_the_banner(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-3"
    write_run(run_dir, complete=False)
    assert "INTERRUPTED" in build_report(run_dir, tmp_path / "reports").read_text()


def test_a_technique_gone_from_the_registry_still_gets_a_section(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-4"
    write_run(run_dir, techniques=("n_plus_one", "retired_trick"))
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert 'id="retired_trick"' in html and "no longer in the technique registry" in html
    summary = pd.read_csv(run_dir / results.SUMMARY)
    retired = summary[summary["technique"] == "retired_trick"]
    assert list(retired["verdict"])[0] == "baseline"  # its first variant stands in


def test_summary_is_built_once_then_read_back(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-5"
    write_run(run_dir)
    built = read_summary(run_dir)
    assert (run_dir / results.SUMMARY).exists()
    read_back = read_summary(run_dir)
    assert list(read_back["point"]) == [POINT] * 3
    assert read_back["speedup_p50"].to_numpy() == pytest.approx(built["speedup_p50"].to_numpy())


def test_a_run_with_no_samples_yet_still_reports(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-6"
    write_run(run_dir, complete=False, stats=False)
    (run_dir / results.SAMPLES).unlink()
    (run_dir / results.SEGMENTS).unlink()
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "INTERRUPTED" in html and "No measured samples" in html


def test_a_directory_without_a_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(results.ResultsError, match="manifest.json"):
        build_report(tmp_path, tmp_path / "reports")


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.5, "1,230"), (123.45, "123"), (12.345, "12.3"), (0.012345, "0.0123"), (0, "0")],
)
def test_numbers_keep_three_significant_digits(value: float, text: str) -> None:
    assert format_number(value) == text


def test_formats_of_speedups_and_sizes() -> None:
    row = {"speedup_p50": 3.1, "speedup_ci_low": 2.8, "speedup_ci_high": 3.4, "baseline": False}
    assert format_speedup(row) == "3.10x [2.80, 3.40]"
    assert format_speedup({**row, "speedup_p50": 1.0, "baseline": True}) == "1.00x"
    assert format_number(math.nan) == "–" and format_bytes(4200) == "4.20 kB"


def test_headlines_give_the_verdicts_in_one_line_each(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-10"
    write_run(run_dir, techniques=("n_plus_one", "retired_trick"))
    lines = headlines(run_dir)
    assert len(lines) == 3  # a verdict each, then how precise they came out
    assert lines[2].startswith("precision: ") and "headline CIs within" in lines[2]
    assert lines[0].startswith("n_plus_one: joined vs naive: p50 3.")
    assert "] faster (" in lines[0] and lines[0].endswith("queries 51 → 1")


def test_the_warning_count_says_where_to_read_them_with_or_without_a_report(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run-12"
    write_run(run_dir)
    warned = pd.DataFrame([{"technique": "n_plus_one", "message": "a noisy round"}])
    warned.to_csv(run_dir / results.WARNINGS, index=False)
    assert headlines(run_dir)[-1].endswith(
        "1 warning(s) on how far to trust these figures: see the report"
    )
    last = headlines(run_dir, report_built=False)[-1]
    assert last.endswith(
        f"see {run_dir / results.WARNINGS} and the report `pairbench report` builds"
    )


def test_a_run_from_before_open_loop_mode_still_reports(tmp_path: Path) -> None:
    """Older run directories lack the mode, send_lag_ms and dropped columns and code.json."""
    run_dir = tmp_path / "run-11"
    write_run(run_dir, stats=False)
    samples = pd.read_csv(run_dir / results.SAMPLES)
    samples.drop(columns=["mode", "send_lag_ms", "dropped"]).to_csv(
        run_dir / results.SAMPLES, index=False
    )
    segments = pd.read_csv(run_dir / results.SEGMENTS)
    segments.drop(columns=["mode", "rate"]).to_csv(run_dir / results.SEGMENTS, index=False)
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "Closed loop" in html and "selectinload" in html  # code from the registry
    assert set(pd.read_csv(run_dir / results.SUMMARY)["mode"]) == {"closed"}


def test_the_memory_table_names_the_process_that_served_each_variant(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-13"
    write_run(run_dir, techniques=("retired_trick",), stats=False)  # not registered
    segments = pd.read_csv(run_dir / results.SEGMENTS)
    own = segments["variant"] != "naive"  # the optimized variants: each a soak of its own
    segments = segments.assign(
        app_process=np.where(own, results.APP_OWN, results.APP_FRESH),
        fresh_process=~own,
        app_pid=4321.0,
        rss_peak_mb=120.0,
        rss_measured_growth_mb=1.5,
    )
    segments.to_csv(run_dir / results.SEGMENTS, index=False)
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "App memory and first byte" in html
    assert html.count("<td>its own for the run</td>") == 2
    assert html.count("<td>fresh per segment</td>") == 1


def test_the_summary_and_report_judge_by_the_slos_the_run_recorded(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-14"
    write_run(run_dir, stats=False)
    manifest = json.loads((run_dir / results.MANIFEST).read_text())
    (run_dir / results.MANIFEST).write_text(json.dumps({**manifest, "slos": {"p95_ms": 0.001}}))
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert set(summary["slo"]) == {"missed"}  # nothing answers within a microsecond
    assert "SLOs: p95 &lt; 0.001 ms, error rate &lt; 0.01, cache hit rate &gt; 0.8" in html


def test_gc_pauses_are_shown_only_where_the_variants_differ(tmp_path: Path) -> None:
    html = {}
    for case, naive_pause_ms in (("alike", 5.0), ("differ", 50.0)):
        run_dir = tmp_path / case
        write_run(run_dir, stats=False)
        segments = pd.read_csv(run_dir / results.SEGMENTS)
        naive = segments["variant"] == "naive"
        segments = segments.assign(
            gc_collections=10.0,
            gc_pause_ms=np.where(naive, naive_pause_ms, 5.0),
            gc_pause_max_ms=1.0,
        )
        segments.to_csv(run_dir / results.SEGMENTS, index=False)
        write_tables(run_dir)
        html[case] = build_report(run_dir, tmp_path / f"{case}-reports").read_text()
    assert "GC pause per 1k requests" not in html["alike"]
    assert "GC pause per 1k requests" in html["differ"]
    assert "Shown because the variants' pauses differ" in html["differ"]
