"""A run of one pair: same answer first, then interleaved rounds, then the stats tables.

It writes the same run directory a technique's run does (manifest, equivalence, samples,
segments, then summary and the other tables), so `pairbench report` and `pairbench check`
read it as they read any run.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from pairbench import results
from pairbench.ab.answers import AnswerCheck, check_answers, equivalence_entry
from pairbench.ab.ignore import describe
from pairbench.ab.pair import BASELINE, CANDIDATE, PairTechnique
from pairbench.ab.serve import PairApps
from pairbench.env.distance import Distance
from pairbench.load.measure import LoadPlan, PointOutcome, measure
from pairbench.load.segment import LoadError, running_generator
from pairbench.plan import Point
from pairbench.runner import GENERATOR_LOG, start_manifest
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.stats.stage import write_tables

Log = Callable[[str], None]


@dataclass(frozen=True)
class Sides:
    """Where a and b are served, and the pids of the processes pairbench serves them from."""

    base_urls: Mapping[str, str]
    pids: Mapping[str, int]
    described: Mapping[str, str]  # each side as the manifest says it: its URL or revision


@dataclass(frozen=True)
class PairOutcome:
    """Where the run left its files, and whether it measured, stopped on a different
    answer, failed or was interrupted."""

    run_dir: Path
    different: AnswerCheck | None = None  # the first difference, if the answers differ
    stopped_on_difference: bool = False
    interrupted: bool = False
    error: str | None = None

    @property
    def complete(self) -> bool:
        return not (self.interrupted or self.error or self.stopped_on_difference)


def pair_points(pair: PairTechnique, sweep: tuple[str, list[str]] | None) -> list[Point]:
    """The pair at its parameters, or at each value of its sweep (all loaded)."""
    if sweep is None:
        return [Point(pair, dict(pair.params))]
    name, values = sweep
    return [Point(pair, {**pair.params, name: value}, swept=name) for value in values]


def ab_entry(pair: PairTechnique, sides: Sides, allow_different: bool) -> dict[str, Any]:
    """What the manifest says of the pair: each side, the request, what was ignored."""
    return {
        "pair": pair.key,
        "sides": dict(sides.described),
        "method": pair.method,
        "headers": dict(pair.headers),
        "body": pair.body,
        "ignore": describe(pair.ignore),
        "allow_different": allow_different,
    }


def run_pair(
    pair: PairTechnique,
    sides: Sides,
    points: list[Point],
    plan: LoadPlan,
    run_dir: Path,
    log: Log = print,
    own_target: str | None = None,
    allow_different: bool = False,
    slos: Slos = DEFAULT_SLOS,
) -> PairOutcome:
    """Check a and b answer alike at every point, then measure them interleaved, writing
    into `run_dir` (a new one: results.new_run_dir); a difference stops the run before any
    load unless `allow_different`."""
    log(f"ab {run_dir.name}: {pair.key}: a = {sides.described[BASELINE]}, "
        f"b = {sides.described[CANDIDATE]}; profile {plan.profile.name}")  # fmt: skip
    manifest = start_manifest(run_dir, plan, [pair], points, False, Distance(), slos)
    manifest["ab"] = ab_entry(pair, sides, allow_different)
    manifest["generator_ceiling"] = {"measured": False, "why": "not measured by `pairbench ab`"}
    code = {pair.key: {side: f"# {pair.method} {text}\n" for side, text in sides.described.items()}}
    results.write_json(run_dir / results.CODE, code)
    results.write_json(run_dir / results.MANIFEST, manifest)
    outcome = PairOutcome(run_dir)
    started = time.perf_counter()
    try:
        checks = [
            check_answers(pair, sides.base_urls, point.params, point.label) for point in points
        ]
        results.write_json(
            run_dir / results.EQUIVALENCE, {pair.key: equivalence_entry(pair, checks)}
        )
        different = next((check for check in checks if not check.equal), None)
        if different is not None:
            log(f"DIFFERENT ANSWERS at {different.point}: {different.difference}")
            if not allow_different:
                outcome = PairOutcome(run_dir, different, stopped_on_difference=True)
                return outcome
            log("measuring anyway (--allow-different): every figure of b is marked as such")
        else:
            log(f"same answer at {len(checks)} point(s)"
                + (f", ignoring {describe(pair.ignore)}" if pair.ignore else ""))  # fmt: skip
        outcome = PairOutcome(run_dir, different)
        manifest["stages"]["equivalence"] = round(time.perf_counter() - started, 2)

        def keep(point: PointOutcome) -> None:
            manifest["stopping"].append(point.manifest_entry())
            results.write_json(run_dir / results.MANIFEST, manifest)

        base_url = sides.base_urls[BASELINE]
        apps = PairApps(sides.base_urls, sides.pids)
        loading = time.perf_counter()
        with running_generator(base_url, run_dir / GENERATOR_LOG, own_host=own_target) as gen:
            measure(run_dir, base_url, points, plan, pd.DataFrame(), log, gen, keep, apps=apps)
        manifest["stages"]["load"] = round(time.perf_counter() - loading, 2)
        summing = time.perf_counter()
        write_tables(run_dir)
        manifest["stages"]["stats"] = round(time.perf_counter() - summing, 2)
    except (KeyboardInterrupt, SystemExit):
        outcome = PairOutcome(run_dir, outcome.different, interrupted=True)
    except LoadError as error:
        outcome = PairOutcome(run_dir, outcome.different, error=str(error))
    except httpx.HTTPError as error:
        outcome = PairOutcome(run_dir, outcome.different, error=f"a request failed: {error}")
    finally:
        manifest["complete"] = outcome.complete
        manifest["stopped_by"] = (
            "different answers" if outcome.stopped_on_difference
            else "interrupted" if outcome.interrupted else outcome.error
        )  # fmt: skip
        manifest["ended_at"] = results.now_iso()
        results.write_json(run_dir / results.MANIFEST, manifest)
    return outcome
