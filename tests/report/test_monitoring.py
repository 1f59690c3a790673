"""The report's monitoring parts: what measuring cost (trust section), each variant's slow SQL."""

from pathlib import Path

import pandas as pd

from pairbench.report.build import build_report
from pairbench.results import OVERHEAD, SLOW_QUERIES
from pairbench.stats.stage import write_tables
from tests.synthetic_run import write_run


def write_overhead(run_dir: Path) -> None:
    rows = [
        {
            "target": target,
            "path": path,
            "config": config,
            "round": round_number,
            "requests": 30,
            "failures": 0,
            "cpu_s": 0.0,
            "wall_s": 0.0,
            "cpu_us_per_request": base + extra,
        }
        for round_number in range(4)
        for target, path, base in (
            ("trivial", "/health/live", 200.0),
            ("one statement", "/health", 800.0),
        )
        for config, extra in (("off", 0.0), ("meter", 4.0), ("meter+metrics", 12.0))
    ]
    pd.DataFrame(rows).to_csv(run_dir / OVERHEAD, index=False)


def write_slow_queries(run_dir: Path) -> None:
    rows = [
        {
            "technique": "n_plus_one",
            "variant": "naive",
            "route": "/n-plus-one/naive",
            "statement": f"SELECT posts {n} <slow>",
            "count": n,
            "max_ms": 60.0 + n,
            "mean_ms": 55.0,
            "threshold_ms": 50.0,
        }
        for n in range(5)
    ]
    pd.DataFrame(rows).to_csv(run_dir / SLOW_QUERIES, index=False)


def test_the_trust_section_shows_what_measuring_cost(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(run_dir, stats=False)
    write_overhead(run_dir)
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    trust = html[html.index('id="trust"') : html.index('id="reading"')]
    assert "What measuring costs" in trust
    assert "+6.0% [+6.0, +6.0]" in trust  # meter+metrics on the trivial route: 12 / 200
    assert "+1.5% [+1.5, +1.5]" in trust  # meter+metrics on one statement: 12 / 800
    assert trust.count(">NO<") == 1 and "/health/live" in trust
    assert "the machine was busy" not in trust  # every round agreed


def test_a_busy_machine_is_said_to_loosen_the_bound(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(run_dir, stats=False)
    write_overhead(run_dir)
    table = pd.read_csv(run_dir / OVERHEAD)
    busy = (table["round"] % 2 == 0) & (table["config"] == "meter")
    table.loc[busy, "cpu_us_per_request"] *= 1.3  # half the rounds 30% slower
    table.to_csv(run_dir / OVERHEAD, index=False)
    write_tables(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "the machine was busy" in html


def test_without_an_overhead_measurement_the_report_says_so(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "not measured in a smoke run" in html


def test_each_variant_lists_its_slowest_statements(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(run_dir)
    write_slow_queries(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "Slowest statements" in html and "Times over 50 ms" in html
    for n in (4, 3, 2):  # the slowest three of naive's
        assert f"SELECT posts {n} &lt;slow&gt;" in html
    assert "SELECT posts 1" not in html
