"""End to end: `pairbench ab` on the sample shop (tests/sample_app), nobody's code here."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pairbench import results
from pairbench.cli import main

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_APP = "tests.sample_app.main:app"
VERDICT = re.compile(
    r"^totals: b vs a at customers=40 \(closed loop\): p50 [\d.]+ ms vs [\d.]+ ms; "
    r"speedup [\d.]+x \[([\d.]+), ([\d.]+)\] \(95% CI\): (faster|slower|no significant difference)",
    re.MULTILINE,
)


def pairbench(tmp_path: Path, *args: str) -> int:
    """The command, in this process (its load generator and the app are processes of their
    own, as always): its exit code; the test reads what it printed from capsys."""
    return main([*args, "--results-dir", str(tmp_path / "results")])


def test_an_equal_pair_prints_a_verdict_with_its_ci_and_writes_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = pairbench(
        tmp_path, "ab", "--app", SAMPLE_APP, "--app-dir", str(REPO_ROOT),
        "/totals/per-customer-scan", "/totals/indexed",
        "--name", "totals", "--ignore", "generated_at", "--sweep", "customers=40",
        # a header makes the load generator send the pair's own request, not a plain GET
        "-H", "accept: application/json",
        "--profile", "smoke", "--reports-dir", str(tmp_path / "reports"),
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    found = VERDICT.search(printed.out)
    assert found, printed.out
    assert float(found.group(1)) <= float(found.group(2))
    (run_dir,) = (tmp_path / "results").iterdir()
    report = tmp_path / "reports" / run_dir.name / "index.html"
    assert f"report:  {report}" in printed.out
    assert "totals" in report.read_text()
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert list(summary["variant"]) == ["a", "b"]
    assert (summary["requests"] > 0).all() and (summary["failures"] == 0).all()
    assert summary["equivalent"].all()
    manifest = json.loads((run_dir / results.MANIFEST).read_text())
    assert manifest["complete"]
    assert manifest["ab"]["totals"]["ignore"] == "generated_at (key name)"


def test_a_different_answer_stops_the_run_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = pairbench(
        tmp_path, "ab", "--app", SAMPLE_APP, "--app-dir", str(REPO_ROOT),
        "/totals/indexed", "/totals/from-orders",
        "--ignore", "generated_at", "--profile", "smoke",
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 1, printed.out + printed.err
    assert "first difference at body.customers: 100 items vs 80" in printed.err
    (run_dir,) = (tmp_path / "results").iterdir()
    assert not (run_dir / results.SAMPLES).exists()
    manifest = json.loads((run_dir / results.MANIFEST).read_text())
    assert manifest["stopped_by"] == "different answers" and not manifest["complete"]
    equivalence = json.loads((run_dir / results.EQUIVALENCE).read_text())
    assert not equivalence["ab"]["b"]["equivalent"]


def test_load_to_another_host_is_refused_unless_named_as_your_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = pairbench(tmp_path, "ab", "http://192.0.2.1:8000/a", "http://192.0.2.1:8000/b")
    assert code == 2
    assert "--own-target 192.0.2.1" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
