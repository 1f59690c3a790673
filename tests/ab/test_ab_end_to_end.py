"""End to end: `pairbench ab` on the sample shop (tests/sample_app), nobody's code here."""

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pairbench import results
from pairbench.cli import main
from pairbench.env.services import ServiceUrls
from pairbench.profiles import PROFILES

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_APP = "tests.sample_app.main:app"
PAIRS = """
[tool.pairbench.pairs.totals]
a = "/totals/per-customer-scan"
b = "/totals/indexed"
ignore = ["generated_at"]
sweep = { customers = [40] }
# a header makes the load generator send the pair's own request, not a plain GET
headers = { accept = "application/json" }

[tool.pairbench.pairs.orders]
a = "/orders/per-customer"
b = "/orders/grouped"
params = { customers = 20 }
"""


def verdict(pair: str, point: str) -> re.Pattern[str]:
    """The console's line for a pair: p50s, the speedup with its CI and the verdict."""
    return re.compile(
        rf"^{pair}: b vs a at {point} \(closed loop\): p50 [\d.]+ ms vs [\d.]+ ms; speedup "
        r"[\d.]+x \[([\d.]+), ([\d.]+)\] \(95% CI\): (faster|slower|no significant difference)"
        r"(.*)$",
        re.MULTILINE,
    )


@pytest.fixture(autouse=True)
def environment_kept() -> Iterator[None]:
    """The environment as it was: a test may give the app it serves a DATABASE_URL."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


def pairbench(tmp_path: Path, *args: str) -> int:
    """The command, in this process (its load generator and the app are processes of their
    own, as always): its exit code; the test reads what it printed from capsys."""
    return main([*args, "--results-dir", str(tmp_path / "results")])


def test_equal_pairs_print_a_verdict_with_its_ci_and_costs_and_write_a_report(
    service_urls: ServiceUrls, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both pairs of a pyproject in one run: the shop's pure-Python pair and its N+1 pair on
    PostgreSQL (the app reads DATABASE_URL, as a user's app does; the middleware meters it)."""
    config = tmp_path / "pyproject.toml"
    config.write_text(PAIRS)
    os.environ["DATABASE_URL"] = service_urls.database_url  # restored by the fixture below
    code = pairbench(
        tmp_path,
        "ab",
        "--all",
        "--config",
        str(config),
        "--app",
        SAMPLE_APP,
        "--app-dir",
        str(REPO_ROOT),
        "--profile",
        "smoke",
        "--reports-dir",
        str(tmp_path / "reports"),
        "--workers",
        "1",
        "--app-workers",
        "2",  # as `pairbench run` takes them
    )
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    for pair, point in (("totals", "customers=40"), ("orders", "customers=20")):
        found = verdict(pair, point).search(printed.out)
        assert found, printed.out
        assert float(found.group(1)) <= float(found.group(2))
        if pair == "orders":  # counted by the app's x-cost header: 1 + N statements, then 1
            assert "queries 21 → 1" in found.group(4)
    (run_dir,) = (tmp_path / "results").iterdir()
    report = tmp_path / "reports" / run_dir.name / "index.html"
    assert f"report:  {report}" in printed.out
    # the A/A control, the first pair's a against itself: the run's noise floor, printed
    # (smoke's pairs have one round, its control the rounds of its own that a floor needs)
    control, rounds = "totals/a at customers=40", PROFILES["smoke"].control_rounds
    assert f"noise floor (A/A control: {control} against itself, {rounds} rounds): " in printed.out
    html = report.read_text()
    assert 'id="totals"' in html and 'id="orders"' in html
    # each pair's section says what its sides are, the request, what was ignored, the answers
    for fact in (
        "<dt>a, the baseline</dt><dd>/totals/per-customer-scan</dd>",
        "<dt>b, compared with a</dt><dd>/totals/indexed</dd>",
        "<dt>Request (both sides)</dt><dd>GET; customers swept over 40; headers accept: "
        "application/json</dd>",
        "<dt>Answers compared</dt><dd>JSON decoded, byte for byte otherwise, ignoring "
        "generated_at (key name)</dd>",
        "<dt>Same answer</dt><dd>yes: same body as a at customers=40 (ignoring generated_at",
        "<dt>Served by</dt><dd>tests.sample_app.main:app, served by pairbench (2 uvicorn "
        "processes) from commit ",
        f"Noise floor</strong> (the A/A control: {control} measured against",
    ):
        assert fact in html, fact
    # and nothing of the catalog's: bench_app's services, meter, microbenchmarks, guide
    for catalog in ("technique registry", "upstream stub", "In-process", "Data scale", "guide"):
        assert catalog not in html, catalog
    summary = pd.read_csv(run_dir / results.SUMMARY)
    assert sorted(zip(summary["technique"], summary["variant"], strict=True)) == [
        (results.CONTROL_KEY, "a"),
        (results.CONTROL_KEY, "b"),
        ("orders", "a"),
        ("orders", "b"),
        ("totals", "a"),
        ("totals", "b"),
    ]
    assert (summary["requests"] > 0).all() and (summary["failures"] == 0).all()
    assert summary["equivalent"].all()
    # the probe: each side of each pair one request at a time before the load
    probe = pd.read_csv(run_dir / results.PROBE)
    assert set(zip(probe["technique"], probe["variant"], probe["point"], strict=True)) == {
        ("totals", "a", "customers=40"),
        ("totals", "b", "customers=40"),
        ("orders", "a", "customers=20"),
        ("orders", "b", "customers=20"),
    }
    assert (probe.loc[probe["technique"] == "orders", "queries"] > 0).all()
    manifest = json.loads((run_dir / results.MANIFEST).read_text())
    assert manifest["complete"]
    assert manifest["ab"]["totals"]["ignore"] == "generated_at (key name)"
    assert manifest["control"] == control and manifest["noise_floor"]["control"] == control
    assert manifest["noise_floor"]["rounds"] == rounds and "probe" in manifest["stages"]
    assert manifest["topology"]["app_workers"] == 2
    segments = pd.read_csv(run_dir / results.SEGMENTS)
    assert (segments["load_workers"] == 1).all()  # every segment sent by the Locust worker


def test_a_different_answer_stops_the_run_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = pairbench(
        tmp_path,
        "ab",
        "--app",
        SAMPLE_APP,
        "--app-dir",
        str(REPO_ROOT),
        "/totals/indexed",
        "/totals/from-orders",
        "--ignore",
        "generated_at",
        "--profile",
        "smoke",
    )
    printed = capsys.readouterr()
    assert code == 1, printed.out + printed.err
    assert "first difference at body.customers: 100 items vs 80" in printed.err
    (run_dir,) = (tmp_path / "results").iterdir()
    assert not (run_dir / results.SAMPLES).exists()
    manifest = json.loads((run_dir / results.MANIFEST).read_text())
    assert manifest["stopped_by"] == "different answers" and not manifest["complete"]
    equivalence = json.loads((run_dir / results.EQUIVALENCE).read_text())
    assert not equivalence["ab"]["b"]["equivalent"]
