"""The report's bandwidth table: where a technique's encoding pays, read from bandwidth.csv."""

import math
from pathlib import Path

import pandas as pd

from pairbench import results
from pairbench.report.bandwidth_view import link_speed, net_saving
from pairbench.report.build import build_report
from pairbench.stats.stage import write_tables
from tests.synthetic_run import POINT, write_run

WIRE = {"naive": (100_000, 0.01), "selectin": (20_000, 1.0), "joined": (25_000, 0.2)}


def test_link_speeds_and_savings_in_words() -> None:
    assert link_speed(640.0) == "640 Mbit/s" and link_speed(1520.0) == "1.52 Gbit/s"
    assert link_speed(math.inf) == "any link" and link_speed(0.0) == "no link"
    assert net_saving(12.345) == "saves 12.3 ms" and net_saving(-0.41) == "costs 0.410 ms"


def test_a_technique_that_meters_its_encoding_gets_the_bandwidth_table(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir, probe_only=("authors=500",), stats=False)
    probe = pd.read_csv(run_dir / results.PROBE)
    probe["body_bytes"] = 100_000
    probe["wire_bytes"] = probe["variant"].map(lambda variant: WIRE[variant][0])
    probe["encode_ms"] = probe["variant"].map(lambda variant: WIRE[variant][1])
    probe.to_csv(run_dir / results.PROBE, index=False)
    write_tables(run_dir)

    html = build_report(run_dir, tmp_path / "reports").read_text()
    table = pd.read_csv(run_dir / results.BANDWIDTH)
    assert set(table["point"]) == {POINT, "authors=500"}
    assert "On a real link: where the encoding pays" in html
    assert html.index(f"At {POINT}") < html.index("At authors=500")  # the default first
    # selectin saves 80 kB for 0.99 ms: 640 kbit / 0.99 ms = 646 Mbit/s; joined 75 kB for
    # 0.19 ms pays on faster links still, so the sentence names it.
    assert "joined sends 75.0 kB fewer per request for 0.190 ms more encoder time" in html
    assert "it pays on links slower than 3.16 Gbit/s" in html
    assert "646 Mbit/s" in html and "saves 63.0 ms" in html  # selectin at 10 Mbit/s


def test_a_run_without_encoding_metered_has_no_bandwidth_table(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir)
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert "On a real link" not in html and pd.read_csv(run_dir / results.BANDWIDTH).empty
