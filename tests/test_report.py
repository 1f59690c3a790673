"""The HTML report, built from a synthetic run directory written like the runner writes one."""

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pairbench import results
from pairbench.report import (
    build_report,
    format_bytes,
    format_number,
    format_speedup,
    load_or_build_summary,
)
from pairbench.stats import summarize

VARIANTS = {"naive": (30.0, 51.0), "selectin": (10.0, 2.0), "joined": (8.0, 1.0)}  # p50, queries
POINT = "authors=50"


def write_run(
    run_dir: Path,
    *,
    complete: bool = True,
    techniques: tuple[str, ...] = ("n_plus_one",),
    points: tuple[str, ...] = (POINT,),
) -> None:
    """A run directory of `techniques`, each with naive/selectin/joined, 2 repetitions."""
    rng = np.random.default_rng(0)
    samples: list[pd.DataFrame] = []
    segments: list[dict[str, Any]] = []
    clock = 1_700_000_000.0
    for technique, point in itertools.product(techniques, points):
        for repetition in range(2):
            for variant, (median, queries) in VARIANTS.items():
                latency = rng.lognormal(math.log(median), 0.3, 260)
                sent = clock + np.arange(260) * 0.01
                phase = np.where(np.arange(260) < 20, "warmup", "measure")
                columns = {
                    "technique": technique, "variant": variant, "point": point,
                    "repetition": repetition, "phase": phase, "t_start": sent,
                    "latency_ms": latency, "status": 200, "bytes": 4200,
                    "queries": queries, "db_ms": latency * 0.5, "redis_commands": 0.0,
                    "upstream_calls": 0.0, "app_ms": latency * 0.8, "error": "",
                }  # fmt: skip
                samples.append(pd.DataFrame(columns))
                segments.append(
                    {
                        "technique": technique, "variant": variant, "point": point,
                        "repetition": repetition, "started": clock, "ended": clock + 2.7,
                        "users": 4, "generator_cpu_max": 35.0,
                    }
                )  # fmt: skip
                clock += 3.0
    run_dir.mkdir(parents=True)
    pd.concat(samples).to_csv(run_dir / results.SAMPLES, index=False)
    pd.DataFrame(segments).to_csv(run_dir / results.SEGMENTS, index=False)
    equivalence = {
        technique: {
            variant: {"equivalent": True, "detail": f"{POINT}: same body as naive"}
            for variant in VARIANTS
        }
        for technique in techniques
    }
    (run_dir / results.EQUIVALENCE).write_text(json.dumps(equivalence))
    manifest = {
        "run_id": run_dir.name, "profile": "smoke", "started_at": "2024-01-01T00:00:00+00:00",
        "ended_at": "2024-01-01T00:01:00+00:00" if complete else None, "complete": complete,
        "git_commit": "abc123", "scale": 0.1, "techniques": list(techniques), "users": 4,
        "duration_s": 2.6, "warmup_s": 0.2, "repetitions": 2,
        "environment": {
            "python": "3.12.1", "platform": "Linux", "cpu_model": "Test CPU", "cores": 8,
            "postgresql": "16.2", "redis": "7.2.4", "packages": {"fastapi": "0.130.0"},
        },
    }  # fmt: skip
    (run_dir / results.MANIFEST).write_text(json.dumps(manifest))


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
    assert html.count("<svg") == 2  # latency percentiles, where the time goes
    assert "N+1 queries vs eager loading" in html  # registry metadata
    assert "queries per request: 1+N -&gt; 2 -&gt; 1" in html
    assert "Test CPU" in html and "INTERRUPTED" not in html
    assert "No stability warnings" in html
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert "<script" not in html and "<link" not in html


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


def test_sweep_points_each_get_charts_and_a_scaling_chart(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-7"
    write_run(run_dir, points=("authors=50", "authors=10", "authors=100"))
    equivalence = json.loads((run_dir / results.EQUIVALENCE).read_text())
    equivalence["n_plus_one"]["joined"] = {"equivalent": False, "detail": "differs at [0].posts"}
    (run_dir / results.EQUIVALENCE).write_text(json.dumps(equivalence))
    html = build_report(run_dir, tmp_path / "reports").read_text()
    assert html.count("<svg") == 7  # 2 per point, then p50 against the points
    assert (
        0
        < html.index("At authors=10<")
        < html.index("At authors=50")
        < html.index("At authors=100<")
    )
    assert "differs at [0].posts" in html and ">NO<" in html
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert len(summary) == 9 and not summary.loc[summary["variant"] == "joined", "equivalent"].any()


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
    built = load_or_build_summary(run_dir)
    assert (run_dir / results.SUMMARY).exists()
    read_back = load_or_build_summary(run_dir)
    assert list(read_back["point"]) == [POINT] * 3
    assert read_back["speedup_p50"].to_numpy() == pytest.approx(built["speedup_p50"].to_numpy())


def test_a_run_with_no_samples_yet_still_reports(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-6"
    write_run(run_dir, complete=False)
    (run_dir / results.SAMPLES).unlink()
    (run_dir / results.SEGMENTS).unlink()
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
