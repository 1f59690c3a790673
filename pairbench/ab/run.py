"""A run of pairs: same answers first, then interleaved rounds, then the stats tables.

It writes the same run directory a technique's run does (manifest, equivalence, samples,
segments, then summary and the other tables), so `pairbench report` and `pairbench check`
read it as they read any run. Each pair is a technique of the run; several pairs (`--all`)
share one run, one load generator and one report.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from bench_app.technique import Technique
from pairbench import results
from pairbench.ab.answers import AnswerCheck, check_answers, equivalence_entry
from pairbench.ab.ignore import describe
from pairbench.ab.pair import BASELINE, PairTechnique
from pairbench.ab.serve import PairApps
from pairbench.console import Log
from pairbench.env.distance import Distance
from pairbench.load.measure import LoadPlan, PointOutcome, measure
from pairbench.load.segment import LoadError, running_generator
from pairbench.plan import Point
from pairbench.runner import GENERATOR_LOG, start_manifest
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.stats.stage import write_tables


@dataclass(frozen=True)
class Sides:
    """Where a pair's a and b are served, and the pids of the processes pairbench serves
    them from (none for an app the user runs)."""

    base_urls: Mapping[str, str]
    pids: Mapping[str, int]
    described: Mapping[str, str]  # each side as the manifest says it: its URL or revision


@dataclass(frozen=True)
class MeasuredPair:
    """A pair, where its sides are, and the points it is measured at."""

    pair: PairTechnique
    sides: Sides
    points: list[Point]


@dataclass(frozen=True)
class PairsOutcome:
    """Where the run left its files, and whether it measured, stopped on different
    answers, failed or was interrupted."""

    run_dir: Path
    differences: dict[str, AnswerCheck] = field(default_factory=dict)  # pair -> first one
    stopped_on_difference: bool = False
    interrupted: bool = False
    error: str | None = None

    @property
    def complete(self) -> bool:
        return not (self.interrupted or self.error or self.stopped_on_difference)


def pair_points(pair: PairTechnique, sweep: tuple[str, list[Any]] | None) -> list[Point]:
    """The pair at its parameters, or at each value of its sweep (all loaded)."""
    if sweep is None:
        return [Point(pair, dict(pair.params))]
    name, values = sweep
    return [Point(pair, {**pair.params, name: value}, swept=name) for value in values]


def ab_entry(measured: MeasuredPair, allow_different: bool) -> dict[str, Any]:
    """What the manifest says of a pair: each side, the request, what was ignored."""
    pair = measured.pair
    return {
        "sides": dict(measured.sides.described),
        "method": pair.method,
        "headers": dict(pair.headers),
        "body": pair.body,
        "ignore": describe(pair.ignore),
        "allow_different": allow_different,
    }


def check_all_answers(pairs: list[MeasuredPair], run_dir: Path, log: Log) -> dict[str, AnswerCheck]:
    """Every pair's answers at every point, kept as equivalence.json; the first difference
    of each pair whose answers differ."""
    verdicts, differences = {}, {}
    for measured in pairs:
        pair, base_urls = measured.pair, measured.sides.base_urls
        checks = [
            check_answers(pair, base_urls, point.params, point.label) for point in measured.points
        ]
        verdicts[pair.key] = equivalence_entry(pair, checks)
        different = next((check for check in checks if not check.equal), None)
        if different is not None:
            differences[pair.key] = different
            what = "FAILED" if different.failed else "DIFFERENT ANSWERS"
            log(f"{pair.key}: {what} at {different.point}: {different.difference}")
        else:
            ignored = f", ignoring {describe(pair.ignore)}" if pair.ignore else ""
            log(f"{pair.key}: same answer at {len(checks)} point(s){ignored}")
    results.write_json(run_dir / results.EQUIVALENCE, verdicts)
    return differences


def run_pairs(
    pairs: list[MeasuredPair],
    plan: LoadPlan,
    run_dir: Path,
    log: Log = print,
    own_target: str | None = None,
    allow_different: bool = False,
    slos: Slos = DEFAULT_SLOS,
) -> PairsOutcome:
    """Check each pair's a and b answer alike at every point, then measure them all,
    interleaved, writing into `run_dir` (a new one: results.new_run_dir); a difference
    stops the run before any load unless `allow_different`."""
    points = [point for measured in pairs for point in measured.points]
    techniques: list[Technique] = [measured.pair for measured in pairs]
    manifest = start_manifest(run_dir, plan, techniques, points, False, Distance(), slos)
    manifest.ab = {measured.pair.key: ab_entry(measured, allow_different) for measured in pairs}
    manifest.generator_ceiling = {"measured": False, "why": "not measured by `pairbench ab`"}
    code = {
        measured.pair.key: {
            side: f"# {measured.pair.method} {text}\n"
            for side, text in measured.sides.described.items()
        }
        for measured in pairs
    }
    results.write_json(run_dir / results.CODE, code)
    results.write_manifest(run_dir, manifest)
    outcome = PairsOutcome(run_dir)
    try:
        started = time.perf_counter()
        differences = check_all_answers(pairs, run_dir, log)
        manifest.stages["equivalence"] = round(time.perf_counter() - started, 2)
        if differences and not allow_different:
            outcome = PairsOutcome(run_dir, differences, stopped_on_difference=True)
            return outcome
        if differences:
            log("measuring anyway (--allow-different): every speedup of b is marked as such")
        outcome = PairsOutcome(run_dir, differences)

        def keep(point: PointOutcome) -> None:
            manifest.stopping.append(point.manifest_entry())
            results.write_manifest(run_dir, manifest)

        apps = PairApps(
            {(m.pair.key, side): url for m in pairs for side, url in m.sides.base_urls.items()},
            {(m.pair.key, side): pid for m in pairs for side, pid in m.sides.pids.items()},
        )
        base_url = pairs[0].sides.base_urls[BASELINE]
        loading = time.perf_counter()
        with running_generator(base_url, run_dir / GENERATOR_LOG, own_host=own_target) as gen:
            # No uncontended probe: its one client cannot reach two revisions' apps. An
            # open-loop rate comes from the closed loop before it, or --rate.
            probe = pd.DataFrame(columns=results.PROBE_COLUMNS)
            probe.to_csv(run_dir / results.PROBE, index=False)
            measure(
                points,
                plan,
                run_dir=run_dir,
                base_url=base_url,
                probe=probe,
                generator=gen,
                log=log,
                on_point=keep,
                apps=apps,
            )
        manifest.stages["load"] = round(time.perf_counter() - loading, 2)
        summing = time.perf_counter()
        write_tables(run_dir)
        manifest.stages["stats"] = round(time.perf_counter() - summing, 2)
    except (KeyboardInterrupt, SystemExit):
        outcome = PairsOutcome(run_dir, outcome.differences, interrupted=True)
    except LoadError as error:
        outcome = PairsOutcome(run_dir, outcome.differences, error=str(error))
    except httpx.HTTPError as error:
        outcome = PairsOutcome(run_dir, outcome.differences, error=f"a request failed: {error}")
    finally:
        manifest.complete = outcome.complete
        manifest.stopped_by = (
            "different answers" if outcome.stopped_on_difference
            else "interrupted" if outcome.interrupted else outcome.error
        )  # fmt: skip
        manifest.ended_at = results.now_iso()
        results.write_manifest(run_dir, manifest)
    return outcome
