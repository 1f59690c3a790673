"""Reports opened in headless Chromium: no console errors, every section and chart drawn."""

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psutil
import pytest

from pairbench import results
from pairbench.cli import main
from pairbench.report import browser
from pairbench.report.browser import BrowserUnavailable, check_report
from pairbench.report.build import build_report
from tests.browser_support import require_chromium
from tests.synthetic_run import write_run

pytestmark = pytest.mark.usefixtures("chromium")


@pytest.fixture
def chromium() -> None:
    require_chromium()


def test_a_report_renders_every_section_and_chart_without_errors(tmp_path: Path) -> None:
    run_dir = tmp_path / "results" / "run-1"
    write_run(
        run_dir,
        techniques=("n_plus_one", "retired_trick"),
        modes=("closed", "open"),
        probe_only=("authors=10", "authors=1000"),
        micro=True,
    )
    html = build_report(run_dir, tmp_path / "reports")
    check = check_report(html, ["n_plus_one", "retired_trick"], run_dir / results.SCREENSHOT)
    assert check.console_errors == []
    assert check.sections == ["n_plus_one", "retired_trick"] and check.missing_sections == []
    assert check.charts == html.read_text().count("<svg") > 10 and check.blank_charts == []
    assert check.ok and check.title == "pairbench report: run-1"
    assert (run_dir / results.SCREENSHOT).read_bytes().startswith(b"\x89PNG")


def test_console_errors_missing_sections_and_blank_charts_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>broken</title>"
        '<section class="technique" id="shown"><svg width="0" height="0"></svg></section>'
        '<script>console.error("boom"); undefinedFunction();</script>'
    )
    check = check_report(page, ["shown", "absent"])
    assert any("boom" in error for error in check.console_errors)
    assert any("undefinedFunction" in error for error in check.console_errors)
    assert check.missing_sections == ["absent"]
    assert len(check.blank_charts) == 1 and not check.ok


def test_without_chromium_the_check_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("pairbench.report.browser.find_chromium", lambda: None)
    with pytest.raises(BrowserUnavailable, match="apt-get install chromium"):
        check_report(tmp_path / "x.html", [])


def test_report_check_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "results" / "run-2"
    write_run(run_dir)
    code = main(["report", str(run_dir), "--reports-dir", str(tmp_path / "reports"), "--check"])
    assert code == 0, capsys.readouterr().err
    assert "browser: 1 sections" in capsys.readouterr().out
    assert (run_dir / results.SCREENSHOT).exists()


def test_the_check_waits_for_every_chromium_process_and_removes_its_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    started: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(browser.subprocess, "Popen", recording_popen)
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><title>t</title><section class="technique" id="a">a</section>')
    assert check_report(page, ["a"]).ok
    [chromium] = started
    assert chromium.returncode is not None
    survivors = [
        process.pid
        for process in psutil.process_iter()
        if _group_of(process.pid) == chromium.pid and process.status() != psutil.STATUS_ZOMBIE
    ]
    assert survivors == []
    assert list(tmp_path.glob("pairbench-chromium-*")) == []


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_what_cannot_be_removed_is_left_and_said_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(browser.shutil, "rmtree", lambda *args, **kwargs: None)
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><title>t</title><section class="technique" id="a">a</section>')
    assert check_report(page, ["a"]).ok
    [left] = tmp_path.glob("pairbench-chromium-*")
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(left) in error
