"""Microbenchmarks: every variant in-process with pytest-benchmark, beside the load results.

No network, no other requests: one request at a time through the app's ASGI interface
(scenarios/micro/). What is left is the variant's own cost, which is why it belongs
beside the load figures: a variant that wins here but not under load is held back by
something else (the pool, the event loop, the network). pytest-benchmark runs in its own
process and writes micro.json (with every round's time) into the run directory.
"""

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pairbench import results
from pairbench.plan import Point
from pairbench.profiles import Profile
from pairbench.stats.bootstrap import bootstrap_ratio_ci
from pairbench.stats.significance import verdict

REPO_ROOT = Path(__file__).resolve().parents[2]
MICRO_DIR = REPO_ROOT / "scenarios" / "micro"
PLAN_FILE = "micro_plan.json"
PLAN_ENV = "PAIRBENCH_MICRO_PLAN"
VARIANT_BUDGET_ENV = "PAIRBENCH_MICRO_VARIANT_BUDGET_S"
OVERHEAD_S = 120.0  # pytest start-up, app lifespan, calibration, on top of the time budgets
MICRO_COLUMNS = [
    "technique", "variant", "point", "baseline", "rounds", "median_us", "iqr_us", "min_us",
    "ops_per_s", "speedup", "speedup_ci_low", "speedup_ci_high", "verdict",
]  # fmt: skip


def micro_plan(points: list[Point]) -> list[dict[str, str]]:
    """One case per variant at each technique's default point (params resolved)."""
    return [
        {
            "technique": point.technique.key,
            "variant": variant,
            "point": point.label,
            "url": point.technique.url(variant, point.params),
        }
        for point in points
        if point.swept is None
        for variant in point.technique.variants
    ]


def run_microbenchmarks(
    run_dir: Path,
    plan: list[dict[str, str]],
    environment: Mapping[str, str],
    profile: Profile,
    log: Callable[[str], None],
) -> str | None:
    """Run the plan's cases into run_dir/micro.json; None on success, else what went wrong."""
    (run_dir / PLAN_FILE).write_text(json.dumps(plan, indent=2) + "\n")
    command = [
        sys.executable, "-m", "pytest", str(MICRO_DIR), "-c", str(MICRO_DIR / "pytest.ini"),
        "--rootdir", str(REPO_ROOT), "-q", "-p", "no:cacheprovider",
        f"--benchmark-json={run_dir.resolve() / results.MICRO}", "--benchmark-save-data",
        f"--benchmark-max-time={profile.micro_max_time_s}",
        f"--benchmark-min-rounds={profile.micro_min_rounds}",
        "--benchmark-min-time=0.000005", "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=3", "--benchmark-disable-gc",
    ]  # fmt: skip
    budget = OVERHEAD_S + len(plan) * (
        profile.micro_max_time_s * 3 + profile.micro_variant_budget_s
    )
    log(f"microbenchmarks: {len(plan)} variants in-process (pytest-benchmark) ...")
    env = {
        **environment,
        PLAN_ENV: str((run_dir / PLAN_FILE).resolve()),
        VARIANT_BUDGET_ENV: f"{profile.micro_variant_budget_s:g}",
    }
    log_path = run_dir / results.MICRO_LOG
    with open(log_path, "wb") as log_file:
        try:
            finished = subprocess.run(
                command, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                timeout=budget, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"microbenchmarks did not finish within {budget:.0f} s (see {log_path})"
    if finished.returncode != 0:
        return f"microbenchmarks failed with exit code {finished.returncode} (see {log_path})"
    return None


def read_micro(run_dir: Path) -> list[dict[str, Any]]:
    """The benchmarks of micro.json, or [] if the run has none; malformed is a ResultsError."""
    path = run_dir / results.MICRO
    if not path.exists():
        return []
    found = results.read_json(path)
    benchmarks = found.get("benchmarks") if isinstance(found, dict) else None
    if not isinstance(benchmarks, list):
        raise results.ResultsError(f"{path} has no 'benchmarks' list: not pytest-benchmark JSON")
    return [item for item in benchmarks if isinstance(item, dict)]


def _rounds_us(benchmark: Mapping[str, Any]) -> np.ndarray:
    """Each round's time in microseconds (every round if saved, else the median alone)."""
    stats = benchmark.get("stats", {})
    data = stats.get("data") or [stats.get("median", float("nan"))]
    return np.asarray(data, dtype=float) * 1e6


def summarize_micro(benchmarks: list[dict[str, Any]], baselines: Mapping[str, str]) -> pd.DataFrame:
    """One row per technique x variant: median time, spread, and speedup with its CI."""
    by_case: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for benchmark in benchmarks:
        info = benchmark.get("extra_info", {})
        if "technique" in info and "variant" in info:
            key = (str(info["technique"]), str(info.get("point", "")))
            by_case.setdefault(key, {})[str(info["variant"])] = _rounds_us(benchmark)
    rows = []
    for (technique, point), variants in by_case.items():
        base_name = baselines.get(technique)
        base = variants.get(base_name or "")
        for variant in sorted(variants, key=lambda name: name != base_name):
            rounds = variants[variant]
            q1, median, q3 = np.percentile(rounds, [25, 50, 75])
            row: dict[str, Any] = {
                "technique": technique, "variant": variant, "point": point,
                "baseline": variant == base_name, "rounds": len(rounds), "median_us": median,
                "iqr_us": q3 - q1, "min_us": rounds.min(), "ops_per_s": 1e6 / median,
            }  # fmt: skip
            if variant == base_name:
                row.update(speedup=1.0, speedup_ci_low=1.0, speedup_ci_high=1.0, verdict="baseline")
            elif base is None:
                row.update(speedup=np.nan, speedup_ci_low=np.nan, speedup_ci_high=np.nan)
                row["verdict"] = "no baseline"
            else:
                ratio, low, high = bootstrap_ratio_ci([base], [rounds])
                row.update(speedup=ratio, speedup_ci_low=low, speedup_ci_high=high)
                row["verdict"] = verdict(low, high)
            rows.append(row)
    return pd.DataFrame(rows, columns=MICRO_COLUMNS)


def load_or_build_micro_summary(run_dir: Path, baselines: Mapping[str, str]) -> pd.DataFrame:
    """micro_summary.csv, built from micro.json (and written) if missing."""
    path = run_dir / results.MICRO_SUMMARY
    if path.exists():
        return results.read_run_table(path, MICRO_COLUMNS, MICRO_COLUMNS[:3])
    summary = summarize_micro(read_micro(run_dir), baselines)
    if len(summary):
        summary.to_csv(path, index=False)
    return summary
