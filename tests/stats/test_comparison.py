"""Two runs compared: the ratio between them, of each variant's own requests, with its CI
and verdict."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pairbench.results import read_run
from pairbench.stats.comparison import compare_runs
from tests.synthetic_run import write_run


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    before, after = tmp_path / "results" / "before", tmp_path / "results" / "after"
    write_run(before, seed=1)
    write_run(after, seed=2, speed=2.0)  # the change halved every latency
    return before, after


def test_every_variant_of_both_runs_gets_its_ratio_and_verdict(two_runs: tuple[Path, Path]) -> None:
    rows = compare_runs(read_run(two_runs[0]), read_run(two_runs[1]))
    assert list(rows["variant"]) == ["naive", "selectin", "joined"]
    for row in rows.to_dict("records"):
        assert 1.7 < row["speedup_p50"] < 2.3  # after is twice as fast, give or take the noise
        assert row["speedup_ci_low"] <= row["speedup_p50"] <= row["speedup_ci_high"]
        assert row["verdict"] == "better" and row["verdict_p95"] == "better"
        assert row["p50_ms_after"] < row["p50_ms_before"]


def test_a_run_against_itself_shows_no_difference(two_runs: tuple[Path, Path]) -> None:
    run = read_run(two_runs[0])
    rows = compare_runs(run, run)
    assert (rows["speedup_p50"] == 1.0).all()
    assert set(rows["verdict"]) == {"no significant difference"}


def test_the_ratio_between_runs_is_of_the_variants_own_requests(
    two_runs: tuple[Path, Path],
) -> None:
    """Other request kinds of a mixed workload (bystanders) stay out of the before/after
    ratio, as they stay out of the summary figures printed beside it."""
    before, after = read_run(two_runs[0]), read_run(two_runs[1])
    bystanders = after.samples.assign(name="bystander", latency_ms=after.samples["latency_ms"] * 50)
    mixed = replace(after, samples=pd.concat([after.samples, bystanders], ignore_index=True))
    alone, beside = compare_runs(before, after), compare_runs(before, mixed)
    for column in ("speedup_p50", "speedup_ci_low", "speedup_ci_high", "speedup_rps"):
        assert list(beside[column]) == pytest.approx(list(alone[column])), column
