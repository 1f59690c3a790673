"""The gate on real runs: an injected regression fails it, against a baseline made here.

That an honest rerun passes is what `.ci/run` shows on every CI run: its gate run is
checked against the committed baseline, made on another day.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pairbench.env.services import ServiceUrls
from tests.test_runner import SMOKE_RUN, run_environment

pytestmark = pytest.mark.slow
RUN_TIMEOUT_S = 300
# One round per variant moves a speedup by about a third between runs on a shared machine.
CI_TOLERANCE = ("--tolerance", "n_plus_one=0.5")


def pairbench(
    *args: str, urls: ServiceUrls, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pairbench.cli", *args],
        cwd=cwd,
        env=run_environment(urls, extra_env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def smoke_run(urls: ServiceUrls, cwd: Path, extra_env: dict[str, str] | None = None) -> Path:
    before = set((cwd / "results").glob("*-smoke*"))
    # The gate reads no microbenchmark and no report, only the stats tables.
    ran = pairbench(
        *SMOKE_RUN,  # with the A/A control: the tolerances come from its floor
        "--no-micro",
        "--no-report",
        urls=urls,
        cwd=cwd,
        extra_env=extra_env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (run_dir,) = set((cwd / "results").glob("*-smoke*")) - before
    assert "report:  not built (--no-report)" in ran.stdout
    assert not (cwd / "reports" / run_dir.name).exists()
    return run_dir


def test_gate_fails_an_injected_regression(service_urls: ServiceUrls, tmp_path: Path) -> None:
    first = smoke_run(service_urls, tmp_path)
    made = pairbench("baseline", str(first), urls=service_urls, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    # against its own baseline: no regression
    passed = pairbench("check", str(first), *CI_TOLERANCE, urls=service_urls, cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "no regression" in passed.stdout

    switch = {"PAIRBENCH_INJECT_REGRESSION": "n_plus_one:selectin"}
    regressed = smoke_run(service_urls, tmp_path, extra_env=switch)
    failed = pairbench("check", str(regressed), *CI_TOLERANCE, urls=service_urls, cwd=tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "REGRESSION: n_plus_one/selectin at authors=50: queries_per_request baseline 2" in (
        failed.stdout
    )
    # Only a significant win is gated on its speedup: when the baseline run showed one
    # (on a quiet machine it does), its loss is a finding too.
    baseline = json.loads((tmp_path / "results" / "baseline.json").read_text())
    (selectin,) = [entry for entry in baseline["entries"] if entry["variant"] == "selectin"]
    if selectin["verdict"] == "faster":
        assert "speedup_p50" in (regressed / "check.md").read_text()
