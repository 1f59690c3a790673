"""Break-even bandwidth and time saved per link, from metered bytes and encoder time."""

import math
from pathlib import Path

import pandas as pd
import pytest

from pairbench import results
from pairbench.stats.bandwidth import (
    LOAD_SOURCE,
    PROBE_SOURCE,
    bandwidth_table,
    break_even_mbit_s,
    net_saving_ms,
)
from pairbench.stats.stage import read_tables, write_tables
from tests.synthetic_run import write_run

BASELINES = {"compression": "plain", "n_plus_one": "naive"}


def probe_rows(point: str, variant: str, body: int, wire: int, encode_ms: list[float]) -> list:
    return [
        {
            "technique": "compression",
            "variant": variant,
            "point": point,
            "latency_ms": 1.0,
            "bytes": wire,
            "body_bytes": body,
            "wire_bytes": wire,
            "encode_ms": ms,
        }
        for ms in encode_ms
    ]


def test_break_even_is_bits_saved_per_second_of_encoding() -> None:
    # 800 kB saved for 10 ms: 6.4 Mbit in 0.01 s = 640 Mbit/s.
    assert break_even_mbit_s(800_000, 10.0) == pytest.approx(640.0)
    assert break_even_mbit_s(0, 10.0) == 0.0  # no bytes saved: pays on no link
    assert break_even_mbit_s(-50, 0.1) == 0.0
    assert break_even_mbit_s(1000, 0.0) == math.inf  # bytes saved for free: any link
    assert math.isnan(break_even_mbit_s(math.nan, 1.0))


def test_net_saving_is_transfer_time_saved_minus_encoder_time() -> None:
    assert net_saving_ms(800_000, 10.0, 10.0) == pytest.approx(640.0 - 10.0)
    assert net_saving_ms(800_000, 10.0, 1000.0) == pytest.approx(6.4 - 10.0)  # a loss


def test_each_variant_against_the_baseline_at_each_point_from_probe_medians() -> None:
    probe = pd.DataFrame(
        probe_rows("posts=1000", "plain", 1_000_000, 1_000_000, [0.01, 0.02, 0.01])
        + probe_rows("posts=1000", "gzip", 1_000_000, 200_000, [9.0, 10.0, 50.0])
        + probe_rows("posts=1", "plain", 1_100, 1_100, [0.01])
        + probe_rows("posts=1", "gzip", 1_100, 480, [0.11])
    )
    table = bandwidth_table(probe, pd.DataFrame(), BASELINES)
    rows = table.set_index(["point", "variant"])
    big = rows.loc[("posts=1000", "gzip")]
    assert big["bytes_saved"] == 800_000 and big["wire_ratio"] == pytest.approx(0.2)
    assert big["encode_ms"] == 10.0  # the median: one slow request does not move it
    assert big["encode_ms_added"] == pytest.approx(10.0 - 0.01)
    assert big["break_even_mbit_s"] == pytest.approx(6.4 / (9.99 / 1000))
    assert big["net_saving_ms_10mbit"] == pytest.approx(640.0 - 9.99)
    assert big["net_saving_ms_1gbit"] < 0
    small = rows.loc[("posts=1", "gzip")]
    assert small["break_even_mbit_s"] == pytest.approx(620 * 8 / 0.0001 / 1e6)
    baseline = rows.loc[("posts=1", "plain")]
    assert bool(baseline["baseline"]) and baseline["bytes_saved"] == 0
    assert set(table["source"]) == {PROBE_SOURCE}


def test_points_not_probed_come_from_the_load_and_unmetered_techniques_are_left_out() -> None:
    summary = pd.DataFrame(
        [
            {
                "technique": "compression",
                "variant": variant,
                "point": "posts=10",
                "mode": "closed",
                "body_bytes_per_request": 11_000.0,
                "wire_bytes_per_request": wire,
                "encode_ms_per_request": encode,
            }
            for variant, wire, encode in (("plain", 11_000.0, 0.0), ("gzip", 2_750.0, 0.3))
        ]
        + [
            {
                "technique": "n_plus_one",
                "variant": "naive",
                "point": "authors=50",
                "mode": "closed",
                "body_bytes_per_request": math.nan,
                "wire_bytes_per_request": math.nan,
                "encode_ms_per_request": math.nan,
            }
        ]
    )
    table = bandwidth_table(pd.DataFrame(), summary, BASELINES)
    assert list(table["variant"]) == ["plain", "gzip"] and set(table["source"]) == {LOAD_SOURCE}
    assert table.iloc[1]["break_even_mbit_s"] == pytest.approx(8250 * 8 / 0.0003 / 1e6)


def test_a_technique_without_its_baseline_measured_gets_no_rows() -> None:
    probe = pd.DataFrame(probe_rows("posts=1", "gzip", 1_100, 480, [0.11]))
    assert bandwidth_table(probe, pd.DataFrame(), BASELINES).empty


def test_the_stats_stage_writes_the_table_and_infinity_survives_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_run(run_dir)
    assert write_tables(run_dir).bandwidth.empty  # no encoding metered: no rows
    probe = pd.DataFrame(
        probe_rows("posts=1", "plain", 1_100, 1_100, [0.01])
        + probe_rows("posts=1", "gzip_level9", 1_100, 480, [0.0])
    )
    probe.to_csv(run_dir / results.PROBE, index=False)
    built = write_tables(run_dir).bandwidth
    read = read_tables(run_dir).bandwidth
    assert list(read["break_even_mbit_s"]) == list(built["break_even_mbit_s"])
    assert math.isinf(read.iloc[1]["break_even_mbit_s"])  # free encoding: pays on any link
