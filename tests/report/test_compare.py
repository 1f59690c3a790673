"""`pairbench report BEFORE AFTER`: two runs side by side on one page."""

from pathlib import Path

import pytest

from pairbench.cli import main
from pairbench.report.compare import build_comparison
from tests.stats.test_comparison import two_runs  # noqa: F401 - the fixture


def test_the_comparison_page_overlays_both_runs(
    two_runs: tuple[Path, Path],  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    path = build_comparison(*two_runs, tmp_path / "reports")
    assert path == tmp_path / "reports" / "compare-before-vs-after" / "index.html"
    html = path.read_text()
    assert html.count("<svg") == 1 and "naive before" in html and "naive after" in html
    assert html.count(">better<") >= 6  # p50 and p95 of three variants, at least
    assert "<script" not in html


def test_the_command_line_takes_one_or_two_runs(
    two_runs: tuple[Path, Path],  # noqa: F811 - the fixture
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reports = str(tmp_path / "reports")
    assert main(["report", str(two_runs[0]), str(two_runs[1]), "--reports-dir", reports]) == 0
    assert "compare-before-vs-after" in capsys.readouterr().out
    assert main(["report", *map(str, two_runs), str(two_runs[0]), "--reports-dir", reports]) == 2
    assert main(["report", str(tmp_path / "missing"), "--reports-dir", reports]) == 2
    assert "is not a directory" in capsys.readouterr().err
