"""The gate guards each technique's headline, and still reads baselines from before them."""

from pathlib import Path

import pandas as pd
import pytest

from pairbench.gate.check import compare, make_baseline, read_baseline
from pairbench.results import write_json
from tests.gate.test_check import summary_rows, write_run


def with_read_tail(summary: pd.DataFrame, selectin_speedup: float) -> pd.DataFrame:
    """The summary with a readers' p99 headline: selectin's is `selectin_speedup` x better."""
    frame = summary.copy()
    frame["headline"], frame["headline_figure"], frame["headline_kind"] = (
        "read p99",
        "p99_ms",
        "read",
    )
    frame["headline_value"] = [120.0, 120.0 / selectin_speedup, 60.0]
    frame["headline_speedup"] = [1.0, selectin_speedup, 2.0]
    frame["headline_ci_low"] = [1.0, selectin_speedup * 0.9, 1.8]
    frame["headline_ci_high"] = [1.0, selectin_speedup * 1.1, 2.2]
    frame["headline_verdict"] = ["baseline", "faster", "faster"]
    return frame


def regressions(baseline: dict[str, object], summary: pd.DataFrame) -> list[str]:
    return [finding.describe() for finding in compare(baseline, summary) if finding.regressed]


def test_a_fall_of_the_headline_fails_though_p50_held(tmp_path: Path) -> None:
    before = with_read_tail(summary_rows(), 8.0)
    baseline = make_baseline(write_run(tmp_path / "base", before), before)
    assert regressions(baseline, before) == []
    tail_lost = with_read_tail(summary_rows(), 1.0)  # p50 columns unchanged
    found = regressions(baseline, tail_lost)
    assert any("selectin" in line and "headline speedup (read p99)" in line for line in found)


def test_a_version_1_baseline_is_read_and_gated_on_p50(tmp_path: Path) -> None:
    old = make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())
    old["version"] = 1
    for entry in old["entries"]:  # type: ignore[attr-defined]
        del entry["headline"]
    path = tmp_path / "baseline.json"
    write_json(path, old)
    document = read_baseline(path)
    current = with_read_tail(summary_rows(selectin_speedup=1.2), 8.0)  # headline fine, p50 fell
    found = regressions(document, current)
    assert any("selectin" in line and "speedup_p50" in line for line in found)


@pytest.mark.parametrize("version", [0, 3])
def test_an_unknown_baseline_version_is_refused(tmp_path: Path, version: int) -> None:
    document = make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())
    document["version"] = version
    write_json(tmp_path / "baseline.json", document)
    with pytest.raises(Exception, match="not a pairbench baseline"):
        read_baseline(tmp_path / "baseline.json")
