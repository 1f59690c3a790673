"""Throughput near the load generator's ceiling: which summary rows are flagged, and why."""

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pairbench.load.ceiling import ceiling_figures
from pairbench.manifest import Manifest
from pairbench.stats.ceiling import CEILING_SHARE, ceiling_findings, ceiling_rps, ceiling_shares
from pairbench.stats.stage import write_tables
from pairbench.stats.summary import requests_per_second
from tests.synthetic_run import write_run

CEILING = 1000.0


def rows(*specs: tuple[str, str, float, str]) -> pd.DataFrame:
    """Summary rows of n_plus_one at one point: (variant, mode, rps, request kind)."""
    return pd.DataFrame(
        [
            {
                "technique": "n_plus_one",
                "variant": variant,
                "point": "authors=50",
                "mode": mode,
                "name": name,
                "rps": rps,
            }
            for variant, mode, rps, name in specs
        ]
    )


def flagged(summary: pd.DataFrame, ceiling: float = CEILING) -> list[str]:
    summary = summary.assign(ceiling_share=ceiling_shares(summary, ceiling))
    return [message.split(":")[0] for _, message in ceiling_findings(summary, ceiling)]


def test_a_variant_is_flagged_from_half_the_ceiling_and_not_below() -> None:
    half = CEILING * CEILING_SHARE
    summary = rows(
        ("below", "closed", half - 0.1, "target"),
        ("at", "closed", half, "target"),
        ("above", "closed", CEILING * 0.9, "target"),
    )
    assert flagged(summary) == ["n_plus_one/at at authors=50", "n_plus_one/above at authors=50"]
    shares = ceiling_shares(summary, CEILING)
    assert list(shares) == pytest.approx([(half - 0.1) / CEILING, CEILING_SHARE, 0.9])


def test_the_warning_names_the_throughput_its_share_and_the_ceiling() -> None:
    summary = rows(("joined", "closed", 640.0, "target"))
    summary = summary.assign(ceiling_share=ceiling_shares(summary, 1270.0))
    ((technique, message),) = ceiling_findings(summary, 1270.0)
    assert technique == "n_plus_one"
    assert message == (
        "n_plus_one/joined at authors=50: throughput 640 req/s is 50% of the load generator's "
        "ceiling (1,270 req/s): the generator may limit this figure"
    )


def test_open_loop_rows_are_not_judged() -> None:
    summary = rows(("joined", "open", CEILING * 0.9, "target"))
    assert ceiling_shares(summary, CEILING).isna().all() and flagged(summary) == []


def test_a_mixed_workload_counts_every_request_kind_of_its_segments() -> None:
    # 300 of the variant's own requests a second and 300 bystanders': 60% of the ceiling.
    summary = rows(
        ("offloaded", "closed", 300.0, "target"), ("offloaded", "closed", 300.0, "bystander")
    )
    assert list(ceiling_shares(summary, CEILING)) == pytest.approx([0.6, 0.6])


def test_without_a_ceiling_nothing_is_flagged() -> None:
    summary = rows(("joined", "closed", CEILING, "target"))
    assert ceiling_shares(summary, math.nan).isna().all()
    assert flagged(summary, math.nan) == []


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ({"generator_ceiling": {"measured": True, "rps": 1270.5}}, 1270.5),
        ({"generator_ceiling": {"measured": False, "error": "skipped by the gate profile"}}, None),
        ({"generator_ceiling": {"measured": True, "rps": 0.0}}, None),
        ({}, None),  # a run from before the ceiling was measured
    ],
)
def test_the_ceiling_is_read_from_the_manifest(
    manifest: dict[str, Any], expected: float | None
) -> None:
    found = ceiling_rps(Manifest.from_json({"run_id": "run", **manifest}))
    assert (math.isnan(found) and expected is None) or found == expected


def test_the_stats_stage_writes_the_shares_and_the_warnings(tmp_path: Path) -> None:
    # The synthetic run's closed-loop segments send ~100 requests/s each.
    run_dir = tmp_path / "near"
    write_run(run_dir, modes=("closed", "open"), generator_ceiling=150.0)
    tables = write_tables(run_dir)
    closed = tables.summary[tables.summary["mode"] == "closed"]
    assert (closed["ceiling_share"] == closed["rps"] / 150.0).all()
    assert tables.summary.loc[tables.summary["mode"] == "open", "ceiling_share"].isna().all()
    messages = [m for m in tables.warnings["message"] if "generator's ceiling (150 req/s)" in m]
    assert len(messages) == 3  # every closed-loop variant, no open-loop one

    far = tmp_path / "far"
    write_run(far, generator_ceiling=1000.0)
    tables = write_tables(far)
    assert (tables.summary["ceiling_share"] < CEILING_SHARE).all()
    assert not any("ceiling" in message for message in tables.warnings["message"])


def test_the_ceilings_rate_is_of_the_time_its_requests_took_as_a_variants_is() -> None:
    """On a busy machine the last requests of the window answer long after it closed: the
    rate and the seconds it is of come from the same span (first send to last answer)."""
    window = (100.0, 100.5)
    raw = pd.DataFrame(
        {
            "t_start": [99.9, 100.0, 100.1, 100.2, 100.5, 100.6],  # first and last: outside
            "latency_ms": [5.0, 10.0, 10.0, 10.0, 700.0, 5.0],  # one answers at 101.2 s
            "status": [200, 200, 200, 503, 200, 200],
        }
    )
    figures = ceiling_figures(raw, window)
    assert (figures["requests"], figures["failures"]) == (4, 1)
    assert figures["measured_s"] == pytest.approx(1.2)  # 100.0 until 101.2, past the window
    assert figures["rps"] == pytest.approx(figures["requests"] / figures["measured_s"])
    in_window = raw.iloc[1:5].assign(repetition=0)
    assert figures["rps"] == pytest.approx(requests_per_second(in_window))
