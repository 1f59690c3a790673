"""Microbenchmarks: every variant in-process with pytest-benchmark, beside the load results.

No network, no other requests: one request at a time through the app's ASGI interface
(scenarios/micro/). What is left is the variant's own cost, which is why it belongs
beside the load figures: a variant that wins here but not under load is held back by
something else (the pool, the event loop, the network). pytest-benchmark runs in its own
process and writes micro.json (with every round's time) into the run directory; the
stats stage summarizes it (pairbench.stats.micro).
"""

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pairbench import results
from pairbench.plan import Point
from pairbench.profiles import Profile

REPO_ROOT = Path(__file__).resolve().parents[2]
MICRO_DIR = REPO_ROOT / "scenarios" / "micro"
PLAN_FILE = "micro_plan.json"
PLAN_ENV = "PAIRBENCH_MICRO_PLAN"
VARIANT_BUDGET_ENV = "PAIRBENCH_MICRO_VARIANT_BUDGET_S"
OVERHEAD_S = 120.0  # pytest start-up, app lifespan, calibration, on top of the time budgets


def micro_plan(points: list[Point]) -> list[dict[str, Any]]:
    """One case per variant at each technique's default point (params resolved): its
    target, and its URL for the record."""
    return [
        {
            "technique": point.technique.key,
            "variant": variant,
            "point": point.label,
            "url": point.technique.url(variant, point.params),
            "target": point.technique.target(variant, point.params).to_json(),
        }
        for point in points
        if point.swept is None
        for variant in point.technique.variants
    ]


def run_microbenchmarks(
    run_dir: Path,
    plan: list[dict[str, Any]],
    environment: Mapping[str, str],
    profile: Profile,
    log: Callable[[str], None],
) -> str | None:
    """Run the plan's cases into run_dir/micro.json; None on success, else what went wrong."""
    (run_dir / PLAN_FILE).write_text(json.dumps(plan, indent=2) + "\n")
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(MICRO_DIR),
        "-c",
        str(MICRO_DIR / "pytest.ini"),
        "--rootdir",
        str(REPO_ROOT),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        f"--benchmark-json={run_dir.resolve() / results.MICRO}",
        "--benchmark-save-data",
        f"--benchmark-max-time={profile.micro_max_time_s}",
        f"--benchmark-min-rounds={profile.micro_min_rounds}",
        "--benchmark-min-time=0.000005",
        "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=3",
        "--benchmark-disable-gc",
    ]
    budget = OVERHEAD_S + len(plan) * (
        profile.micro_max_time_s * 3 + profile.micro_variant_budget_s
    )
    log(f"microbenchmarks: {len(plan)} variants in-process (pytest-benchmark) ...")
    env = {
        # pytest-benchmark turns itself off inside a pytest-xdist worker (whose variables a
        # run started from the test suite inherits): the benchmarks run in one process here
        **{key: value for key, value in environment.items() if not key.startswith("PYTEST_XDIST")},
        PLAN_ENV: str((run_dir / PLAN_FILE).resolve()),
        VARIANT_BUDGET_ENV: f"{profile.micro_variant_budget_s:g}",
    }
    log_path = run_dir / results.MICRO_LOG
    with open(log_path, "wb") as log_file:
        try:
            finished = subprocess.run(
                command,
                env=env,
                cwd=REPO_ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=budget,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"microbenchmarks did not finish within {budget:.0f} s (see {log_path})"
    if finished.returncode != 0:
        return f"microbenchmarks failed with exit code {finished.returncode} (see {log_path})"
    return None
