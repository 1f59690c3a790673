"""The stats stage: a run's raw files in, its tables out; the report and the gate read them."""

import json
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest

from pairbench import cli, results
from pairbench.report.build import build_report
from pairbench.stats.requests import measured_successful
from pairbench.stats.stage import Tables, read_summary, read_tables, write_tables
from tests.synthetic_run import write_run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    found = tmp_path / "results" / "run-1"
    write_run(
        found,
        modes=("closed", "open"),
        probe_only=("authors=10", "authors=1000"),
        micro=True,
        stats=False,
    )
    return found


def test_every_table_is_written_then_the_stage_marks_itself_done(run_dir: Path) -> None:
    tables = write_tables(run_dir)
    assert all((run_dir / name).is_file() for name in results.STATS_TABLES)
    done = json.loads((run_dir / results.STATS_DONE).read_text())
    assert done["tables"] == list(results.STATS_TABLES)
    read = read_tables(run_dir)
    for field in fields(Tables):
        written, back = getattr(tables, field.name), getattr(read, field.name)
        assert len(written) == len(back), field.name
        assert list(back.columns[: len(written.columns)]) == list(written.columns), field.name
    assert len(tables.summary) == 6 and len(tables.growth) == 3 and len(tables.micro) == 3
    assert set(tables.latency_curves["series"]) == {"latency", "service"}  # open loop has both
    assert set(read.summary["slo"]) == {"met"} and read.summary["cache_hit_rate"].isna().all()


def test_the_tables_agree_with_the_one_definition_of_a_measured_successful_request(
    run_dir: Path,
) -> None:
    tables = write_tables(run_dir)
    samples = results.read_run(run_dir).samples
    ok = measured_successful(samples)
    for row in tables.summary.to_dict("records"):
        mine = ok[(ok["variant"] == row["variant"]) & (ok["mode"] == row["mode"])]
        assert row["requests"] - row["failures"] == len(mine)
        assert row["p50_ms"] == pytest.approx(mine["latency_ms"].median())
        curve = tables.latency_curves
        counted = curve[
            (curve["variant"] == row["variant"])
            & (curve["mode"] == row["mode"])
            & (curve["series"] == "latency")
        ]
        assert set(counted["samples"]) == {len(mine)}


def test_the_report_needs_only_the_tables(run_dir: Path, tmp_path: Path) -> None:
    """Once the stage has run, the raw samples can go: the report reads no statistic's input."""
    write_tables(run_dir)
    before = build_report(run_dir, tmp_path / "a").read_text()
    for name in (results.SAMPLES, results.SEGMENTS, results.PROBE, results.MICRO):
        (run_dir / name).unlink()
    after = build_report(run_dir, tmp_path / "b").read_text()
    assert after.count("<svg") == before.count("<svg") == 7
    assert after == before


def test_a_run_the_stage_never_finished_is_an_error_saying_how_to_rebuild_it(
    tmp_path: Path,
) -> None:
    """An old or interrupted run: a growth.csv of another layout and no stats.json. Reading
    it is an error naming the command that rebuilds it, never a silent recompute."""
    old = tmp_path / "results" / "old"
    write_run(old, probe_only=("authors=10", "authors=1000"), stats=False)
    pd.DataFrame({"technique": ["n_plus_one"], "sentence": ["old"]}).to_csv(
        old / results.GROWTH, index=False
    )
    rebuild = f"rebuild its tables with `pairbench stats {old}`"
    for read in (read_tables, read_summary, lambda run: build_report(run, tmp_path / "r")):
        with pytest.raises(results.ResultsError, match="never finished.*" + re.escape(rebuild)):
            read(old)
    assert not (old / results.STATS_DONE).exists() and not (old / results.SUMMARY).exists()
    assert cli.main(["stats", str(old)]) == 0
    tables = read_tables(old)
    assert "old" not in set(tables.growth["sentence"]) and len(tables.growth) == 3


def test_finished_tables_are_read_not_recomputed(run_dir: Path) -> None:
    write_tables(run_dir)
    summary = pd.read_csv(run_dir / results.SUMMARY)
    summary.loc[0, "p50_ms"] = 12345.0
    summary.to_csv(run_dir / results.SUMMARY, index=False)
    assert read_summary(run_dir).loc[0, "p50_ms"] == 12345.0
    assert read_tables(run_dir).summary.loc[0, "p50_ms"] == 12345.0
    (run_dir / results.STATS_DONE).write_text(json.dumps({"version": 0}))  # an older stage
    with pytest.raises(results.ResultsError, match="tables are version 0, this pairbench"):
        read_summary(run_dir)


def test_a_directory_with_only_a_summary_is_read_as_it_is(run_dir: Path, tmp_path: Path) -> None:
    """What CI keeps as artifacts: summary.csv and the manifest, no samples to recompute from."""
    write_tables(run_dir)
    kept = tmp_path / "artifact"
    kept.mkdir()
    for name in (results.MANIFEST, results.SUMMARY):
        shutil.copy(run_dir / name, kept / name)
    assert len(read_summary(kept)) == 6
    assert not (kept / results.STATS_DONE).exists()


def test_the_stats_command_recomputes_a_run(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stats", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "6 summary rows (1 techniques), 3 growth fits, 3 microbenchmarks" in out
    assert (run_dir / results.STATS_DONE).is_file()
    assert cli.main(["stats", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
