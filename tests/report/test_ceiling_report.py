"""The load generator's ceiling in the report: stated once, and a warning beside each variant
whose closed-loop throughput reached half of it."""

import json
import re
from pathlib import Path

import pandas as pd

from pairbench import results
from pairbench.report.build import build_report, headlines
from pairbench.stats.stage import write_tables
from tests.synthetic_run import VARIANTS, write_run


def ceiling_fact(html: str) -> str:
    found = re.search(r'<dd id="generator-ceiling">(.*?)</dd>', html, re.S)
    assert found, "the environment facts do not state the ceiling"
    return " ".join(found.group(1).split())


def rps_cells(html: str) -> dict[str, str]:
    """Each variant's req/s cell in the closed-loop table (its first table row per variant)."""
    cells = {}
    for row in re.findall(r"<tr class=\"(?:baseline)?\">(.*?)</tr>", html, re.S):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        variant = re.sub(r"<[^>]+>", "", tds[0]).strip()
        if variant in VARIANTS and variant not in cells and len(tds) > 3:
            cells[variant] = tds[3]
    return cells


def test_variants_at_half_the_ceiling_or_more_are_flagged_where_their_throughput_is(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "near"
    write_run(run_dir, generator_ceiling=150.0)  # its segments send ~100 req/s: 2/3 of it
    html = build_report(run_dir, tmp_path / "reports").read_text()

    fact = ceiling_fact(html)
    assert fact.startswith("<strong>150 requests/s</strong>") and "/health/live" in fact
    assert "generator CPU 60%" in fact and "its CPU stayed under 90%" in fact  # the app's pace
    assert html.count('id="generator-ceiling"') == 1
    summary = pd.read_csv(run_dir / results.SUMMARY).set_index("variant")
    cells = rps_cells(html)
    assert set(cells) == set(VARIANTS)
    for variant, cell in cells.items():
        share = summary.loc[variant, "ceiling_share"]
        assert f"&#9888; {share * 100:.0f}% of ceiling" in cell, variant
    warnings = [
        line for line in re.findall(r"<li>(.*?)</li>", html) if "ceiling (150 req/s)" in line
    ]
    assert len(warnings) == 2 * len(VARIANTS)  # in the trust section and the technique's own
    (line,) = [line for line in headlines(run_dir) if "ceiling" in line]
    assert line.startswith(f"{len(VARIANTS)} closed-loop figure(s) at 50% or more")
    assert "(150 req/s)" in line and all(f"n_plus_one/{v}" in line for v in VARIANTS)


def test_variants_far_below_the_ceiling_are_not_flagged(tmp_path: Path) -> None:
    run_dir = tmp_path / "far"
    write_run(run_dir, generator_ceiling=1000.0)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert ceiling_fact(html).startswith("<strong>1,000 requests/s</strong>")
    assert "% of ceiling" not in html and "No stability warnings" in html
    assert not any("ceiling" in line for line in headlines(run_dir))


def test_a_ceiling_not_measured_says_why_and_flags_nothing(tmp_path: Path) -> None:
    skipped, before = tmp_path / "skipped", tmp_path / "before"
    write_run(skipped, stats=False)
    manifest = json.loads((skipped / results.MANIFEST).read_text())
    manifest["generator_ceiling"] = {"measured": False, "error": "skipped by the gate profile"}
    (skipped / results.MANIFEST).write_text(json.dumps(manifest))
    write_tables(skipped)
    write_run(before)  # a run from before the ceiling was measured
    for run_dir, fact in (
        (skipped, "not measured: skipped by the gate profile"),
        (before, "not recorded"),
    ):
        html = build_report(run_dir, tmp_path / "reports").read_text()
        assert ceiling_fact(html) == fact and "% of ceiling" not in html
