"""A run of pairs: same answers first, then the probe, interleaved rounds, then the stats.

It writes the same run directory a technique's run does (manifest, equivalence, probe,
samples, segments, then summary and the other tables, and the A/A control's noise floor),
so `pairbench report` and `pairbench check` read it as they read any run. Each pair is a
technique of the run; several pairs (`--all`) share one run, one load generator, one
control and one report.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench_app.technique import Technique
from pairbench import results
from pairbench.ab.answers import AnswerCheck, check_answers, equivalence_entry
from pairbench.ab.ignore import describe
from pairbench.ab.pair import BASELINE, PairTechnique
from pairbench.ab.serve import PairApps
from pairbench.console import Log
from pairbench.env.distance import Distance
from pairbench.env.server import AppServer
from pairbench.load.control import arms_equivalence, control_arms
from pairbench.load.measure import Arms, LoadPlan, PointOutcome, measure
from pairbench.load.probe_stage import probe_uncontended
from pairbench.load.segment import LoadError, running_generator
from pairbench.plan import Point
from pairbench.profiles import SWEEP_LOAD, SWEEP_OFF, Profile
from pairbench.runner import GENERATOR_LOG, record_trust, start_manifest
from pairbench.slo import DEFAULT_SLOS, Slos
from pairbench.stats.stage import write_tables
from pairbench.topology import Topology


@dataclass(frozen=True)
class Sides:
    """Where a pair's a and b are served, and the app servers pairbench runs them on (none
    for an app the user runs)."""

    base_urls: Mapping[str, str]
    served: Mapping[str, AppServer]
    described: Mapping[str, str]  # each side as the manifest says it: its URL or revision
    app: str = ""  # the "module:attribute" pairbench serves ("": an app the user runs)
    commit: str = ""  # the commit of the checkout it is served from ("": not one checkout)


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
    swept = {point.swept for point in measured.points if point.swept}
    return {
        "sides": dict(measured.sides.described),
        "app": measured.sides.app,
        "commit": measured.sides.commit,
        "method": pair.method,
        "params": {name: str(value) for name, value in pair.params.items()},
        "sweep": {name: [str(point.params[name]) for point in measured.points] for name in swept},
        "headers": dict(pair.headers),
        "body": pair.body,
        "ignore": describe(pair.ignore),
        "allow_different": allow_different,
    }


def pair_requests(measured: MeasuredPair) -> dict[str, str]:
    """Each side's request as sent at the pair's first point, in HTTP's own form: what the
    report shows of a pair where it shows a technique's code."""
    pair, params = measured.pair, measured.points[0].params
    found = {}
    for side in measured.sides.described:
        request = pair.request(side, params)
        lines = [f"{request.method} {request.url} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.content is not None:
            lines += ["", request.content.decode(errors="replace")]
        found[side] = "\n".join(lines) + "\n"
    return found


def check_all_answers(
    pairs: list[MeasuredPair], run_dir: Path, log: Log, control: tuple[Point, Arms] | None
) -> dict[str, AnswerCheck]:
    """Every pair's answers at every point, kept as equivalence.json (with the control's
    arms, equal by construction); the first difference of each pair whose answers differ."""
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
    if control is not None:
        verdicts[results.CONTROL_KEY] = arms_equivalence(control[0].label)
    results.write_json(run_dir / results.EQUIVALENCE, verdicts)
    return differences


def pair_control(pairs: list[MeasuredPair], profile: Profile) -> tuple[Point, Arms] | None:
    """The run's A/A control: side a of the first pair against itself at its first point,
    as a technique run measures a cheap variant against itself (None if the profile has no
    control). Its CI is the noise floor every speedup of the run is read against."""
    if not profile.control:
        return None
    first = pairs[0]
    point = first.points[0]
    name = f"{first.pair.key}/{BASELINE}"
    if point.params:  # say at which parameters
        name += f" at {point.label}"
    return Point(first.pair, dict(point.params), given_label=name), control_arms(BASELINE)


def run_pairs(
    pairs: list[MeasuredPair],
    plan: LoadPlan,
    run_dir: Path,
    log: Log = print,
    topology: Topology | None = None,
    allow_different: bool = False,
    slos: Slos = DEFAULT_SLOS,
) -> PairsOutcome:
    """Check each pair's a and b answer alike at every point, then probe them one request at
    a time and measure them all, interleaved, beside the A/A control, writing into `run_dir`
    (a new one: results.new_run_dir); a difference stops the run before any load unless
    `allow_different`. `topology`: the load workers, and the host the user named as theirs."""
    topology = topology or Topology()
    profile = plan.profile
    points = [point for measured in pairs for point in measured.points]
    techniques: list[Technique] = [measured.pair for measured in pairs]
    control = pair_control(pairs, profile)
    manifest = start_manifest(run_dir, plan, techniques, points, False, Distance(), slos)
    manifest.control = control[0].label if control else ""
    # a pair's sweep points are loaded, each a point like its first (pairbench.ab.run)
    manifest.sweep = SWEEP_LOAD if any(point.swept for point in points) else SWEEP_OFF
    manifest.ab = {measured.pair.key: ab_entry(measured, allow_different) for measured in pairs}
    manifest.topology = topology.manifest()
    manifest.generator_ceiling = {
        "measured": False,
        "error": "`pairbench ab` knows no route of your app that does no work",
    }
    manifest.overhead = {"measured": False, "error": "`pairbench ab` adds no meter to your app"}
    results.write_json(run_dir / results.CODE, {m.pair.key: pair_requests(m) for m in pairs})
    results.write_manifest(run_dir, manifest)
    outcome = PairsOutcome(run_dir)
    try:
        with manifest.timing("equivalence"):
            differences = check_all_answers(pairs, run_dir, log, control)
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
            {(m.pair.key, side): app for m in pairs for side, app in m.sides.served.items()},
        )
        with manifest.timing("probe"):
            probed = probe_uncontended(run_dir, apps, points, profile, log)
        base_url = pairs[0].sides.base_urls[BASELINE]
        with (
            manifest.timing("load"),
            running_generator(
                base_url, run_dir / GENERATOR_LOG, topology.load_workers, topology.own_target
            ) as gen,
        ):
            measure(
                points,
                plan,
                run_dir=run_dir,
                base_url=base_url,
                probe=probed,
                generator=gen,
                log=log,
                on_point=keep,
                apps=apps,
                control=control,
            )
        with manifest.timing("stats"):
            record_trust(manifest, write_tables(run_dir))
    except (KeyboardInterrupt, SystemExit):
        outcome = PairsOutcome(run_dir, outcome.differences, interrupted=True)
    except LoadError as error:
        outcome = PairsOutcome(run_dir, outcome.differences, error=str(error))
    except httpx.HTTPError as error:
        outcome = PairsOutcome(run_dir, outcome.differences, error=f"a request failed: {error}")
    finally:
        manifest.complete = outcome.complete
        manifest.stopped_by = (
            "different answers"
            if outcome.stopped_on_difference
            else "interrupted"
            if outcome.interrupted
            else outcome.error
        )
        manifest.ended_at = results.now_iso()
        results.write_manifest(run_dir, manifest)
    return outcome
