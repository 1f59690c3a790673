"""`pairbench run` on more than one process: Locust workers send the load, uvicorn workers
serve it; and a target off loopback refused unless named as the user's own."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pairbench.env.services import ServiceUrls
from tests.test_runner import RUN_TIMEOUT_S, SMOKE_N_PLUS_ONE, only_run_dir, pairbench


def test_a_target_off_loopback_is_refused_before_anything_starts(tmp_path: Path) -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pairbench.cli",
            "run",
            "--only",
            "n_plus_one",
            "--app-host",
            "192.0.2.10",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2
    assert "refusing to send load to '192.0.2.10'" in finished.stderr
    assert "--own-target 192.0.2.10" in finished.stderr  # the fix, named
    assert not (tmp_path / "results").exists()  # nothing ran


@pytest.mark.slow
def test_two_load_workers_against_two_app_workers(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    process = pairbench(
        *SMOKE_N_PLUS_ONE,
        "--no-micro",
        "--workers",
        "2",
        "--app-workers",
        "2",
        urls=service_urls,
        cwd=tmp_path,
    )
    output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, output
    run_dir = only_run_dir(tmp_path / "results")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["topology"]["load_workers"] == 2 and manifest["topology"]["app_workers"] == 2
    # the ceiling is measured through the same workers as the segments' load
    assert manifest["generator_ceiling"]["load_workers"] == 2
    assert manifest["generator_ceiling"]["rps"] > 0

    samples = pd.read_csv(run_dir / "samples.csv.gz")
    segments = pd.read_csv(run_dir / "segments.csv")
    assert (segments["load_workers"] == 2).all()
    for variant, rows in samples.groupby("variant"):
        assert rows["worker"].nunique() == 2, variant  # both workers loaded every variant
    # The summary counts the measured requests of both workers.
    summary = pd.read_csv(run_dir / "summary.csv").set_index("variant")
    measured = samples[(samples["phase"] == "measure")].groupby("variant").size()
    assert (summary["requests"] == measured.reindex(summary.index)).all()
