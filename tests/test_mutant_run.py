"""A run with an injected wrong answer (bench_app.mutants) fails, and so does the gate."""

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pairbench.env.services import ServiceUrls
from pairbench.gate.equivalence_check import METRIC
from tests.gate.test_gate_end_to_end import pairbench
from tests.test_runner import SMOKE_N_PLUS_ONE

pytestmark = pytest.mark.slow


def test_a_run_with_a_mutant_fails_naming_it_and_the_gate_fails_on_it(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    ran = pairbench(
        *SMOKE_N_PLUS_ONE,
        "--no-micro",
        "--no-report",
        urls=service_urls,
        cwd=tmp_path,
        extra_env={"PAIRBENCH_MUTANT": "n_plus_one"},
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    named = "NOT EQUIVALENT n_plus_one/joined: authors=50: differs from naive at body: 50 items"
    assert named in ran.stderr
    (run_dir,) = (tmp_path / "results").glob("*-smoke*")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (wrong,) = manifest["not_equivalent"]
    assert manifest["complete"] and named.removeprefix("NOT EQUIVALENT ") in wrong
    assert (run_dir / "summary.csv").exists()  # what it measured is kept

    # No baseline file: the gate still holds the run to equivalence (and the SLOs).
    checked = pairbench(
        "check",
        str(run_dir),
        "--baseline",
        str(tmp_path / "none.json"),
        "--slo",
        urls=service_urls,
        cwd=tmp_path,
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"n_plus_one/joined at authors=50: {METRIC}" in checked.stdout
    suite = ElementTree.fromstring((run_dir / "check.xml").read_text().split("?>", 1)[1])
    failed = [
        case.get("classname")
        for case in suite.iter("testcase")
        if case.find("failure") is not None and METRIC in (case.get("name") or "")
    ]
    assert failed == ["n_plus_one.joined"]
