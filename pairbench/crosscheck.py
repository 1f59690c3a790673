"""`pairbench crosscheck`: a finished run's closed-loop throughput ratios against wrk's.

A ratio pairbench reports (a variant's throughput over its baseline's) should not depend
on the load generator that measured it. This brings up the environment the run measured
in (pairbench.env.environment: the same services, data scale, distance and app workers),
and has wrk (pairbench.load.wrk), a generator in C, load each pair at the run's default
point with the run's closed-loop users: a warm-up per variant, then interleaved rounds,
the variants' order shuffled each round. The rounds' ratios give wrk's ratio and its CI
(pairbench.stats.rounds, as the run's own rounds do). A pair agrees when wrk's ratio is
within the tolerance of pairbench's: |wrk / pairbench - 1| <= tolerance.

The table goes to the console and to crosscheck.csv in the run directory, the parameters
to crosscheck.json, the servers' logs to crosscheck-logs/; a run checked again gets
crosscheck-2.csv and so on: nothing the run holds is overwritten.
"""

import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from bench_app.technique import Technique
from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.console import Log
from pairbench.env.distance import Distance
from pairbench.env.environment import Environment
from pairbench.load.wrk import find_wrk, wrk_version
from pairbench.load.wrk_rounds import (
    DEFAULT_ROUND_S,
    DEFAULT_ROUNDS,
    DEFAULT_WARMUP_S,
    WrkPlan,
    measure_rounds,
)
from pairbench.manifest import Manifest
from pairbench.profiles import REQUEST_TIMEOUT_S
from pairbench.stats.rounds import RoundRatio, round_ratio_ci
from pairbench.stats.stage import read_summary

CROSSCHECK = "crosscheck"  # crosscheck.csv, crosscheck.json, crosscheck-logs/ (then -2, ...)
# Cheap techniques, served as a plain GET, whose every variant answers in about 20 ms or
# less one request at a time: a 2 s round sees a hundred answers of the slowest at least,
# and five rounds of their 11 variants take about two minutes.
DEFAULT_TECHNIQUES = ("aggregation", "indexing", "pooling", "projection", "serialization")
DEFAULT_TOLERANCE = 0.10
SUMMARY_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "rps",
    "speedup_rps",
    "speedup_rps_ci_low",
    "speedup_rps_ci_high",
    "repetitions",
]


class CrosscheckError(Exception):
    """The run cannot be crosschecked as asked (a usage error)."""


@dataclass(frozen=True)
class Pair:
    """A variant and its technique's baseline at the run's default point, with the
    throughput ratio the run measured (variant over baseline) and both throughputs."""

    technique: Technique
    variant: str
    point: str
    params: Mapping[str, Any]
    pairbench: RoundRatio
    pairbench_rps: tuple[float, float]  # baseline's, variant's

    @property
    def baseline(self) -> str:
        return self.technique.baseline

    @property
    def name(self) -> str:
        return f"{self.technique.key} {self.variant}/{self.baseline}"


@dataclass(frozen=True)
class Agreement:
    """A pair's throughput ratio by pairbench and by wrk, and whether they agree."""

    pair: Pair
    wrk: RoundRatio
    wrk_rps: tuple[float, float]  # baseline's, variant's: the means of their rounds
    tolerance: float

    @property
    def difference(self) -> float:
        """wrk's ratio against pairbench's, as a share: +0.05 is wrk 5% higher."""
        return self.wrk.estimate / self.pair.pairbench.estimate - 1.0

    @property
    def agrees(self) -> bool:
        return bool(abs(self.difference) <= self.tolerance)

    def row(self) -> dict[str, Any]:
        pairbench, wrk = self.pair.pairbench, self.wrk
        return {
            "technique": self.pair.technique.key,
            "variant": self.pair.variant,
            "baseline": self.pair.baseline,
            "point": self.pair.point,
            "pairbench_ratio": pairbench.estimate,
            "pairbench_ci_low": pairbench.low,
            "pairbench_ci_high": pairbench.high,
            "wrk_ratio": wrk.estimate,
            "wrk_ci_low": wrk.low,
            "wrk_ci_high": wrk.high,
            "difference": self.difference,
            "agrees": self.agrees,
            "tolerance": self.tolerance,
            "pairbench_baseline_rps": self.pair.pairbench_rps[0],
            "pairbench_variant_rps": self.pair.pairbench_rps[1],
            "wrk_baseline_rps": self.wrk_rps[0],
            "wrk_variant_rps": self.wrk_rps[1],
            "wrk_rounds": wrk.rounds,
        }


def crosscheckable(technique: Technique) -> str | None:
    """Why wrk cannot load this technique as the run did (None if it can): wrk sends the
    same GET over and over, and the run's shared app serves it."""
    if technique.scenario is not None:
        return f"has a workload of its own (scenarios/{technique.scenario}.py)"
    if technique.request_body is not None:
        return "is POSTed a body"
    if technique.fresh_process or technique.soak_process:
        return "is served by app processes of its own"
    return None


def pairs_of(run_dir: Path, manifest: Manifest, keys: Sequence[str] | None) -> list[Pair]:
    """The pairs to crosscheck: each variant against its baseline at the default point of
    the techniques `keys` names (default: DEFAULT_TECHNIQUES the run measured)."""
    summary = read_summary(run_dir, SUMMARY_COLUMNS)
    closed = summary[summary["mode"] == results.CLOSED]
    if closed.empty:
        raise CrosscheckError(
            f"{run_dir} has no closed-loop rows: crosscheck compares closed-loop throughput "
            "(measure with --mode closed or both)"
        )
    if keys is None:
        keys = [key for key in DEFAULT_TECHNIQUES if key in manifest.techniques]
        if not keys:
            raise CrosscheckError(
                f"{run_dir} measured none of the default techniques "
                f"({', '.join(DEFAULT_TECHNIQUES)}): name some with --only"
            )
    unmeasured = [key for key in keys if key not in manifest.techniques]
    if unmeasured:
        raise CrosscheckError(f"{run_dir} did not measure {', '.join(unmeasured)}")
    catalog = all_techniques()
    pairs: list[Pair] = []
    for key in keys:
        technique = catalog[key]
        reason = crosscheckable(technique)
        if reason is not None:
            raise CrosscheckError(f"{key} {reason}: wrk cannot load it as the run did")
        pairs += _technique_pairs(technique, manifest, closed)
    if not pairs:
        raise CrosscheckError(f"{run_dir} has no closed-loop throughput ratio of {', '.join(keys)}")
    return pairs


def _technique_pairs(technique: Technique, manifest: Manifest, closed: pd.DataFrame) -> list[Pair]:
    """The technique's pairs at its default point whose throughput ratio the run has."""
    label = manifest.default_point(technique.key)
    planned = [entry for entry in manifest.planned_points(technique.key) if entry["label"] == label]
    if label is None or not planned:
        return []
    found = closed[(closed["technique"] == technique.key) & (closed["point"] == label)]
    rows: dict[str, dict[str, Any]] = {
        str(row["variant"]): {str(name): value for name, value in row.items()}
        for row in found.to_dict("records")
    }
    if technique.baseline not in rows:
        return []
    params = {k: v for k, v in planned[0]["params"].items() if k != results.RTT_PARAMETER}
    baseline_rps = results.as_float(rows[technique.baseline]["rps"])
    pairs = []
    for variant in technique.variants:
        row = rows.get(variant)
        if variant == technique.baseline or row is None:
            continue
        repetitions = results.as_float(row["repetitions"])
        ratio = RoundRatio(
            results.as_float(row["speedup_rps"]),
            results.as_float(row["speedup_rps_ci_low"]),
            results.as_float(row["speedup_rps_ci_high"]),
            int(repetitions) if np.isfinite(repetitions) else 0,
        )
        if np.isfinite(ratio.estimate) and ratio.estimate > 0:
            rps = (baseline_rps, results.as_float(row["rps"]))
            pairs.append(Pair(technique, variant, label, params, ratio, rps))
    return pairs


@dataclass(frozen=True)
class Output:
    """Where one crosscheck writes: files no earlier crosscheck of the run wrote."""

    table: Path
    parameters: Path
    logs: Path


def reserve_output(run_dir: Path) -> Output:
    """crosscheck.csv, .json and -logs/ in the run dir, or -2, -3, ...: the first names none
    of which exist; the logs directory, made here, keeps them for this crosscheck."""
    for number in range(1, 1000):
        stem = CROSSCHECK if number == 1 else f"{CROSSCHECK}-{number}"
        output = Output(run_dir / f"{stem}.csv", run_dir / f"{stem}.json", run_dir / f"{stem}-logs")
        if output.table.exists() or output.parameters.exists():
            continue
        try:
            output.logs.mkdir()
        except FileExistsError:
            continue
        return output
    raise CrosscheckError(f"{run_dir} holds 999 crosschecks already: remove some")


def _app_workers_of(manifest: Manifest) -> int:
    return int(manifest.topology.get("app_workers") or 1)


def crosscheck(
    run_dir: Path,
    keys: Sequence[str] | None,
    log: Log,
    rounds: int = DEFAULT_ROUNDS,
    round_s: int = DEFAULT_ROUND_S,
    warmup_s: int = DEFAULT_WARMUP_S,
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[list[Agreement], Output]:
    """Crosscheck the run's pairs with wrk (CrosscheckError: it cannot be, as asked;
    pairbench.load.wrk_rounds.VariantFailed: a variant answered errors;
    pairbench.load.wrk.WrkError: wrk failed, and its WrkMissing: it is not installed)."""
    manifest = results.read_manifest(run_dir)
    pairs = pairs_of(run_dir, manifest, keys)
    if not manifest.users:
        raise CrosscheckError(f"{run_dir}'s manifest does not say how many users it ran")
    wrk = find_wrk()
    version = wrk_version(wrk)
    plan = WrkPlan(manifest.users, rounds, round_s, warmup_s, secrets.randbelow(2**31))
    output = reserve_output(run_dir)
    parameters: dict[str, Any] = {
        "run_id": manifest.run_id,
        "wrk": wrk,
        "wrk_version": version,
        "wrk_threads": 1,
        "users": plan.users,
        "rounds": plan.rounds,
        "round_s": plan.round_s,
        "warmup_s": plan.warmup_s,
        "tolerance": tolerance,
        "order_seed": plan.order_seed,
        "app_workers": _app_workers_of(manifest),
        "started_at": results.now_iso(),
        "load_average_before": list(os.getloadavg()),
        "pairs": [pair.name for pair in pairs],
    }
    log(
        f"crosscheck {manifest.run_id} with wrk {version}: {len(pairs)} pair(s), "
        f"{plan.users} connections, {plan.rounds} rounds of {plan.round_s} s "
        f"after {plan.warmup_s} s of warm-up per variant; logs in {output.logs}"
    )
    by_technique: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_technique.setdefault(pair.technique.key, []).append(pair)
    with Environment(
        output.logs, Distance.loaded_in(manifest.distance), manifest.scale or 1.0, log
    ) as env:
        env.start_dependencies()
        env.load_data()
        env.settle_data()
        env.pause_autovacuum()
        env.start_worker()
        with env.serving_app(workers=_app_workers_of(manifest)) as app:
            agreements = _measure_all(wrk, app.base_url, by_technique, plan, tolerance, log)
    parameters["ended_at"] = results.now_iso()
    parameters["load_average_after"] = list(os.getloadavg())
    write_output(output, agreements, parameters)
    return agreements, output


def _measure_all(
    wrk: str,
    base_url: str,
    by_technique: Mapping[str, list[Pair]],
    plan: WrkPlan,
    tolerance: float,
    log: Log,
) -> list[Agreement]:
    """Each technique's variants in wrk rounds, and each pair's ratio set beside the run's."""
    planned_s = sum(
        (len(pairs) + 1) * plan.seconds_per_variant() for pairs in by_technique.values()
    )
    started = time.monotonic()
    agreements: list[Agreement] = []
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for number, pairs in enumerate(by_technique.values(), start=1):
            elapsed = time.monotonic() - started
            technique, point = pairs[0].technique, pairs[0].point
            log(
                f"[{number}/{len(by_technique)}] {technique.key} {point} under wrk "
                f"(elapsed {elapsed:.0f}s, ETA {max(planned_s - elapsed, 0):.0f}s) ..."
            )
            variants = [technique.baseline, *(pair.variant for pair in pairs)]
            rps = measure_rounds(
                wrk, base_url, client, technique, pairs[0].params, variants, plan, log
            )
            for pair in pairs:
                base, other = rps[technique.baseline], rps[pair.variant]
                ratio = round_ratio_ci(base, other, higher_is_better=True)
                found = Agreement(
                    pair, ratio, (float(np.mean(base)), float(np.mean(other))), tolerance
                )
                by_run = _ratio_text(pair.pairbench)
                log(f"    {pair.name}: {_ratio_text(ratio)} by wrk, {by_run} by pairbench")
                agreements.append(found)
    return agreements


def _ratio_text(ratio: RoundRatio) -> str:
    if np.isfinite(ratio.low) and np.isfinite(ratio.high):
        return f"{ratio.estimate:.3g}x [{ratio.low:.3g}, {ratio.high:.3g}]"
    return f"{ratio.estimate:.3g}x [no CI]"


def table_lines(agreements: Sequence[Agreement]) -> list[str]:
    """The console's table: each pair's ratio by pairbench and by wrk, with their CIs, the
    difference and the verdict, then both tools' throughputs (baseline -> variant)."""
    header = (
        f"{'pair':<40} {'pairbench ratio [95% CI]':<26} {'wrk ratio [95% CI]':<26} "
        f"{'wrk/pb-1':>8}  agrees"
    )
    lines = [header]
    for found in agreements:
        pair = found.pair
        verdict = "yes" if found.agrees else f"NO (beyond +/-{found.tolerance:.0%})"
        lines.append(
            f"{pair.name:<40} {_ratio_text(pair.pairbench):<26} {_ratio_text(found.wrk):<26} "
            f"{found.difference:>+8.1%}  {verdict}"
        )
        lines.append(
            f"{'':<40} req/s: pairbench {pair.pairbench_rps[0]:,.0f} -> "
            f"{pair.pairbench_rps[1]:,.0f}, wrk {found.wrk_rps[0]:,.0f} -> {found.wrk_rps[1]:,.0f}"
        )
    return lines


def write_output(
    output: Output, agreements: Sequence[Agreement], parameters: dict[str, Any]
) -> None:
    """The table and the parameters, into files that must not exist yet."""
    table = pd.DataFrame([found.row() for found in agreements])
    with output.table.open("x") as file:
        table.to_csv(file, index=False)
    with output.parameters.open("x") as file:
        file.write(json.dumps(parameters, indent=2, sort_keys=True) + "\n")
