"""End to end: `pairbench run` on real servers, from services to report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from pairbench import results
from pairbench.env.services import ServiceUrls
from pairbench.report.browser import check_report
from tests.browser_support import require_chromium

pytestmark = pytest.mark.slow
RUN_TIMEOUT_S = 300
# The end-to-end tests' run: a smoke run of n_plus_one alone, each test's options after it;
# without the A/A control where a test does not look at the noise floor (its 3 rounds cost
# each run ~6 s), with it in the smoke run test and the gate's end-to-end test.
SMOKE_RUN = ("run", "--profile", "smoke", "--only", "n_plus_one")
SMOKE_N_PLUS_ONE = (*SMOKE_RUN, "--control", "none")


def run_environment(urls: ServiceUrls, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, pointed at the test's services (and `extra` on top)."""
    return {
        **os.environ,
        "DATABASE_URL": urls.database_url,
        "REDIS_URL": urls.redis_url,
        **(extra or {}),
    }


def pairbench(*args: str, urls: ServiceUrls, cwd: Path) -> subprocess.Popen[str]:
    environment = run_environment(urls)
    command = [sys.executable, "-m", "pairbench.cli", *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A process a non-interactive shell starts in the background ignores SIGINT, and
        # hands that down: the run must get it as Ctrl-C sends it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def only_run_dir(results_dir: Path) -> Path:
    (run_dir,) = [path for path in results_dir.iterdir() if path.is_dir()]
    return run_dir


def test_smoke_run_produces_a_summary_and_report_that_agree_with_the_samples(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    """Closed and open loop, microbenchmarks, report, and the report checked in Chromium."""
    process = pairbench(
        *SMOKE_RUN,
        "--mode",
        "both",
        urls=service_urls,
        cwd=tmp_path,
    )
    output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, output
    report_line = output.strip().splitlines()[-1]
    assert report_line.startswith("report:"), output
    report = tmp_path / report_line.split(":", 1)[1].strip()
    assert report.is_file()

    run_dir = only_run_dir(tmp_path / "results")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["techniques"] == ["n_plus_one"]
    assert manifest["modes"] == ["closed", "open"] and manifest["micro"]["error"] is None
    ceiling = manifest["generator_ceiling"]  # measured by the run's generator before its load
    assert ceiling["measured"] is True and ceiling["rps"] > 0 and ceiling["users"] == 8
    assert f"generator ceiling: {ceiling['rps']:,.0f} req/s on /health/live" in output
    floor = manifest["noise_floor"]  # the A/A control, in its own rounds (smoke: 3)
    assert floor["control"] == "projection/columns" and floor["rounds"] == 3
    assert "noise floor (A/A control: projection/columns against itself, 3 rounds)" in output
    # the runner ran the stats stage: every table, then stats.json
    assert all((run_dir / name).is_file() for name in results.STATS_TABLES)
    assert json.loads((run_dir / results.STATS_DONE).read_text())["version"] >= 1
    summary = pd.read_csv(run_dir / "summary.csv")
    assert sorted(set(summary["mode"])) == ["closed", "open"]
    closed = summary[summary["mode"] == "closed"].set_index("variant")
    authors = 50  # n_plus_one's default
    assert closed.loc["naive", "queries_per_request"] == authors + 1
    assert closed.loc["selectin", "queries_per_request"] == 2
    assert closed.loc["joined", "queries_per_request"] == 1
    assert summary["equivalent"].all()
    assert closed.loc["naive", "speedup_p50"] == 1.0
    open_loop = summary[summary["mode"] == "open"]
    assert open_loop["rate"].nunique() == 1 and (open_loop["rate"] > 0).all()
    shares = closed["ceiling_share"]
    assert shares.to_numpy() == pytest.approx((closed["rps"] / ceiling["rps"]).to_numpy())
    assert open_loop["ceiling_share"].isna().all()

    samples = pd.read_csv(run_dir / "samples.csv.gz")
    measured = samples[(samples["phase"] == "measure") & (samples["mode"] == "closed")]
    for variant, rows in measured.groupby("variant"):
        assert closed.loc[variant, "requests"] == len(rows)
        ok = rows[(rows["status"] >= 200) & (rows["status"] < 400)]
        assert closed.loc[variant, "p50_ms"] == pytest.approx(ok["latency_ms"].median(), rel=1e-6)
    micro = pd.read_csv(run_dir / results.MICRO_SUMMARY)
    assert sorted(micro["variant"]) == ["joined", "naive", "selectin"]
    html = report.read_text()
    for needle in (
        "naive",
        "selectin",
        "joined",
        "<svg",
        "Open loop at",
        "In-process",
        "queries 51",
    ):
        assert needle in html

    require_chromium()
    check = check_report(report, ["n_plus_one"], run_dir / results.SCREENSHOT)
    assert check.ok, check
    assert (run_dir / results.SCREENSHOT).stat().st_size > 10_000


def test_an_interrupted_run_keeps_what_it_measured(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    process = pairbench(
        *SMOKE_N_PLUS_ONE,
        "--no-micro",
        "--mode",
        "both",
        "--redis-rtt",
        "0.1ms",
        urls=service_urls,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    samples_path = None
    while samples_path is None and time.monotonic() < deadline and process.poll() is None:
        found = list((tmp_path / "results").glob("*/samples.csv.gz"))
        samples_path = found[0] if found else None
        time.sleep(0.5)
    assert samples_path is not None, "no segment finished"
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    run_dir = samples_path.parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["stopped_by"] == "interrupted"
    samples = pd.read_csv(samples_path)
    assert len(samples) > 0
    assert (run_dir / "summary.csv").is_file()
    assert (run_dir / results.STATS_DONE).is_file()  # the run ran the stats stage on it
    assert "report:" in output
    # the delay proxy (started in the run's cwd) stopped with the run
    proxies = [
        process
        for process in psutil.process_iter(["cmdline", "cwd"])
        if "pairbench.env.delay_proxy" in (process.info["cmdline"] or [])
        and process.info["cwd"] == str(tmp_path)
    ]
    assert proxies == []
