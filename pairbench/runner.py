"""A run: plan -> environment -> equivalence -> probe -> load -> micro -> stats.

`run` plans the points and starts the manifest; `Run.measure` then reads as the stages in
order, each a method timed into the manifest. Variants of a technique are measured
interleaved (A B C A B C ...) so drift of the machine falls on all of them alike
(pairbench.load.measure), once the load generator's ceiling is known
(pairbench.load.ceiling). Every stage leaves its files in the run directory, so an
interrupted run keeps what it measured and the stats and the report can be rebuilt from
them alone.
"""

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from bench_app.settings import Settings
from bench_app.technique import Technique
from pairbench import results
from pairbench.console import Log
from pairbench.env.distance import Distance
from pairbench.env.environment import Environment
from pairbench.env.server import AppServer, ServerError
from pairbench.env.services import ServiceError, server_versions
from pairbench.load.answers_under_load import check_answers_under_load
from pairbench.load.ceiling import measure_ceiling_safely
from pairbench.load.control import control_equivalence, control_of
from pairbench.load.effects import Services
from pairbench.load.equivalence import check_equivalence
from pairbench.load.measure import Arms, LoadPlan, PointOutcome, measure
from pairbench.load.micro import micro_plan, run_microbenchmarks
from pairbench.load.overhead import OverheadError, measure_overhead
from pairbench.load.probe_stage import probe_rtt_sweep, probe_uncontended
from pairbench.load.proxy_cost import measure_proxies, watching_proxies
from pairbench.load.segment import LoadError, LoadGenerator, starting_generator
from pairbench.load.slow_queries import save_slow_queries
from pairbench.manifest import Manifest, Rounds
from pairbench.plan import Point, manifest_points, plan_points, resolve_points, rtt_sweep_points
from pairbench.profiles import OPEN_LOOP_LOAD, REQUEST_TIMEOUT_S, Profile
from pairbench.slo import DEFAULT_SLOS, Slos, slos_entry
from pairbench.sources import capture_sources
from pairbench.stats.drift import DRIFT_PREFIX
from pairbench.stats.headline import manifest_entry as headline_entry
from pairbench.stats.noise_floor import noise_floor
from pairbench.stats.precision import precision
from pairbench.stats.stage import Tables, write_tables
from pairbench.topology import Topology

GENERATOR_LOG = "generator.log"


def check_all_equivalent(
    base_url: str, points: list[Point], log: Log, services: Services | None = None
) -> dict[str, Any]:
    """Each variant's answer (body and effects, seen through `services` where they are not
    over HTTP) against its baseline's, at every point; all points must match."""
    verdicts: dict[str, dict[str, dict[str, Any]]] = {}
    checked: dict[str, list[str]] = {}
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for point in points:
            found = check_equivalence(client, point.technique, point.params, services)
            merged = verdicts.setdefault(point.technique.key, {})
            checked.setdefault(point.technique.key, []).append(point.label)
            for variant, verdict in found.items():
                if variant not in merged or merged[variant]["equivalent"]:
                    merged[variant] = {
                        **verdict,
                        "point": point.label,
                        "detail": f"{point.label}: {verdict['detail']}",
                    }
    for technique, variants in verdicts.items():
        labels = checked[technique]
        for verdict in variants.values():
            if verdict["equivalent"] and len(labels) > 1:
                body = verdict["detail"].split(": ", 1)[-1]
                verdict["detail"] = f"{body} at all {len(labels)} points ({', '.join(labels)})"
    for line in not_equivalent(verdicts):
        log(f"NOT EQUIVALENT {line}")
    return verdicts


def not_equivalent(verdicts: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """'technique/variant: point: its first difference' for each variant that failed."""
    return [
        f"{technique}/{variant}: {verdict['detail']}"
        for technique, variants in verdicts.items()
        for variant, verdict in variants.items()
        if not verdict["equivalent"]
    ]


def check_under_load(
    run_dir: Path, base_url: str, points: list[Point], equivalence: dict[str, Any], log: Log
) -> None:
    """Compare the answers sampled under load with the baseline's (into `equivalence`)."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        found = check_answers_under_load(client, points, run_dir / results.ANSWERS)
    for technique, variants in found.items():
        for variant, verdict in variants.items():
            checked = equivalence.setdefault(technique, {}).setdefault(variant, {})
            if not verdict["equivalent"]:
                log(f"NOT EQUIVALENT {technique}/{variant}: {verdict['detail']}")
                if checked.get("equivalent", True):  # the first difference found is kept
                    checked.update({k: value for k, value in verdict.items() if k != "answers"})
            elif checked.get("equivalent"):
                count = verdict["answers"]
                checked["detail"] += f"; {count} answer{'s' * (count != 1)} under load matched"
    results.write_json(run_dir / results.EQUIVALENCE, equivalence)


def save_artifacts(run_dir: Path, base_url: str, techniques: list[Technique], log: Log) -> None:
    """What techniques show beyond timings (e.g. EXPLAIN plans), kept as artifacts/<key>.json."""
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for technique in techniques:
            if technique.artifacts_path:
                log(f"capturing {technique.key} artifacts ...")
                response = client.get(technique.artifacts_path)
                response.raise_for_status()
                (run_dir / results.ARTIFACTS).mkdir(exist_ok=True)
                results.write_json(
                    run_dir / results.ARTIFACTS / f"{technique.key}.json", response.json()
                )


def start_manifest(
    run_dir: Path,
    plan: LoadPlan,
    techniques: list[Technique],
    points: list[Point],
    micro: bool,
    distance: Distance,
    slos: Slos = DEFAULT_SLOS,
) -> Manifest:
    """The manifest of a run about to start, written to its directory."""
    profile = plan.profile
    manifest = Manifest(
        run_id=run_dir.name,
        profile=profile.name,
        started_at=results.now_iso(),
        git_commit=results.git_commit(Path(__file__).resolve().parents[1]),
        scale=profile.scale,
        techniques=[technique.key for technique in techniques],
        baselines={technique.key: technique.baseline for technique in techniques},
        headlines={technique.key: headline_entry(technique.headline) for technique in techniques},
        # Each round's variant order is shuffled from this seed (pairbench.load.measure).
        order_seed=plan.order_seed,
        control=profile.control,
        users=profile.users,
        rounds=Rounds(
            warmup_min_s=profile.warmup_min_s,
            warmup_max_s=profile.warmup_max_s,
            round_s=profile.round_s,
            min_rounds=profile.min_rounds,
            max_rounds=profile.max_rounds,
            target_half_width=profile.target_half_width,
            load_budget_s=profile.load_budget_s,
        ),
        modes=list(plan.modes),
        open_loop={"rate": plan.rate, "share_of_capacity": OPEN_LOOP_LOAD},
        sweep=profile.sweep,
        points=manifest_points(points),
        probe_requests=profile.probe_requests,
        distance=distance.manifest_entry(),
        micro={
            "planned": micro,
            "max_time_s": profile.micro_max_time_s,
            "min_rounds": profile.micro_min_rounds,
        },
        environment=results.environment({}),
        slos=slos_entry(slos),
    )
    if profile.control:  # the A/A control's first arm is its baseline
        manifest.baselines[results.CONTROL_KEY] = results.CONTROL_ARMS[0]
    results.write_manifest(run_dir, manifest)
    return manifest


def record_trust(manifest: Manifest, tables: Tables) -> None:
    """The run's noise floor (its A/A control's CI), its precision and drift warnings, into
    the manifest."""
    floor = noise_floor(tables.summary, manifest)
    manifest.noise_floor = floor.manifest_entry() if floor else None
    reached = precision(tables.summary, manifest.rounds.target_half_width)
    manifest.precision = reached.manifest_entry()
    messages = [str(message) for message in tables.warnings["message"]]
    manifest.drift = [message for message in messages if message.startswith(DRIFT_PREFIX)]


def measure_overhead_safely(run_dir: Path, settings: Settings, log: Log) -> dict[str, Any]:
    """The overhead measurement, whose failure the run notes and outlives."""
    try:
        measure_overhead(run_dir, settings, log)
    except OverheadError as error:
        log(f"warning: the meter's overhead was not measured: {error}")
        return {"measured": False, "error": str(error)}
    return {"measured": True}


@dataclass(frozen=True)
class RunOutcome:
    """Where a run left its files and whether it measured everything it planned."""

    run_dir: Path
    interrupted: bool = False
    error: str | None = None  # what stopped a run that failed
    # Variants whose answer differed from their baseline's: the run measured them, and fails.
    not_equivalent: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.error is None


@dataclass
class Run:
    """A run under way: what it measures, where it writes, and the manifest it keeps up to
    date there. Each method below is a stage, timed into the manifest."""

    plan: LoadPlan
    techniques: list[Technique]
    run_dir: Path
    manifest: Manifest
    log: Log
    micro: bool
    distance: Distance
    topology: Topology
    control: tuple[Point, Arms] | None  # the A/A pair (pairbench.load.control), if any
    started: float = field(default_factory=time.perf_counter)

    @property
    def profile(self) -> Profile:
        return self.plan.profile

    def measure(self, points: list[Point]) -> RunOutcome:
        """Every stage in order; whatever happens, the manifest says how the run ended."""
        outcome = RunOutcome(self.run_dir)
        try:
            with Environment(self.run_dir, self.distance, self.profile.scale, self.log) as env:
                self.start_environment(env)
                topology = self.topology
                with (
                    env.serving_app(topology.app_host, workers=topology.app_workers) as app,
                    # it imports while the answers are checked, and is ready before the probe
                    self.starting_generator(app.base_url) as generator,
                ):
                    points, equivalence = self.check_equivalence(app.base_url, points, env)
                    generator.wait_ready()
                    probed = self.probe(app, points, env)
                    self.load(app, points, probed, env, generator)
                    self.check_under_load(app.base_url, points, equivalence)
                    self.save_what_the_load_left(app.base_url)
                self.measure_overhead(env)  # with the app stopped
                self.run_microbenchmarks(points, env)
            with self.stage("stats"):
                record_trust(self.manifest, write_tables(self.run_dir))
            outcome = RunOutcome(self.run_dir, not_equivalent=tuple(self.manifest.not_equivalent))
        except (KeyboardInterrupt, SystemExit):
            outcome = RunOutcome(self.run_dir, interrupted=True)
        except (ServiceError, ServerError, LoadError, results.ResultsError) as error:
            outcome = RunOutcome(self.run_dir, error=str(error))
        except httpx.HTTPError as error:
            outcome = RunOutcome(
                self.run_dir, error=f"the target app failed a harness request: {error}"
            )
        finally:
            self.manifest.complete = outcome.complete
            self.manifest.stopped_by = "interrupted" if outcome.interrupted else outcome.error
            self.manifest.ended_at = results.now_iso()
            self.write_manifest()
        return outcome

    def write_manifest(self) -> None:
        results.write_manifest(self.run_dir, self.manifest)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Times a stage into the manifest (kept even if the stage is interrupted)."""
        try:
            with self.manifest.timing(name):
                yield
        finally:
            self.write_manifest()
            so_far = time.perf_counter() - self.started
            self.log(f"{name}: {self.manifest.stages[name]:.1f} s (run so far {so_far:.0f} s)")

    def start_environment(self, env: Environment) -> None:
        """The dependencies (with their proxies' cost measured before the app starts), the
        data settled, autovacuum paused, and the job worker, which the microbenchmarks
        need too."""
        with self.stage("services"):
            dependencies = env.start_dependencies()
        self.manifest.environment = results.environment(server_versions(dependencies.services))
        self.write_manifest()
        if dependencies.proxies:
            with self.stage("distance"):
                self.manifest.distance["proxies"] = measure_proxies(
                    dependencies.proxies, dependencies.direct, self.distance, self.log
                )
        with self.stage("seed"):
            env.load_data()
            env.settle_data()
        env.pause_autovacuum()
        env.start_worker()

    def check_equivalence(
        self, base_url: str, points: list[Point], env: Environment
    ) -> tuple[list[Point], dict[str, Any]]:
        """The points with their parameters resolved, and each variant's answer checked
        against its baseline's at every one of them (the effects seen directly)."""
        with self.stage("equivalence"):
            points = resolve_points(base_url, points)
            self.manifest.points = manifest_points(points)
            services = env.dependencies.services
            equivalence = check_all_equivalent(
                base_url, points, self.log, Services(services.redis_url, services.database_url)
            )
            if self.control is not None:
                equivalence[results.CONTROL_KEY] = control_equivalence(self.profile)
            results.write_json(self.run_dir / results.EQUIVALENCE, equivalence)
            self.manifest.not_equivalent = not_equivalent(equivalence)
            save_artifacts(self.run_dir, base_url, self.techniques, self.log)
        return points, equivalence

    def probe(self, app: AppServer, points: list[Point], env: Environment) -> pd.DataFrame:
        """One request at a time: every point, then the RTT sweep's (if asked for)."""
        with self.stage("probe"):
            probed = probe_uncontended(self.run_dir, app, points, self.profile, self.log)
        if self.distance.sweep_ms:
            with self.stage("rtt sweep"):
                swept = rtt_sweep_points(points, self.distance.sweep_ms)
                self.manifest.points = manifest_points(points + swept)
                probe_rtt_sweep(
                    self.run_dir,
                    app,
                    swept,
                    env.dependencies.proxies,
                    self.distance,
                    self.profile,
                    self.log,
                )
        return probed

    def starting_generator(self, base_url: str) -> AbstractContextManager[LoadGenerator]:
        """The load generator (and its load workers) of the run's topology, starting."""
        return starting_generator(
            base_url,
            self.run_dir / GENERATOR_LOG,
            self.topology.load_workers,
            self.topology.own_target,
        )

    def load(
        self,
        app: AppServer,
        points: list[Point],
        probed: pd.DataFrame,
        env: Environment,
        generator: LoadGenerator,
    ) -> None:
        """The generator's ceiling, then every loaded point in rounds (pairbench.load.measure)."""
        with self.stage("load"), watching_proxies(env.dependencies.proxies, self.manifest):
            # What the generator sends at most, before any figure depends on it.
            self.manifest.generator_ceiling = measure_ceiling_safely(
                generator, self.run_dir, self.profile, self.log
            )
            self.write_manifest()
            measure(
                points,
                self.plan,
                run_dir=self.run_dir,
                base_url=app.base_url,
                probe=probed,
                generator=generator,
                log=self.log,
                on_point=self.keep_outcome,
                app=app,  # the shared app: its memory watched, never restarted
                upstream=env.dependencies.upstream,
                control=self.control,
            )

    def keep_outcome(self, point: PointOutcome) -> None:
        """How a point's rounds stopped, into the manifest as soon as it is measured."""
        self.manifest.stopping.append(point.manifest_entry())
        self.write_manifest()

    def check_under_load(
        self, base_url: str, points: list[Point], equivalence: dict[str, Any]
    ) -> None:
        """The answers sampled under load against the baseline's (into `equivalence`)."""
        with self.stage("answers under load"):
            check_under_load(self.run_dir, base_url, points, equivalence, self.log)
            self.manifest.not_equivalent = not_equivalent(equivalence)

    def save_what_the_load_left(self, base_url: str) -> None:
        """Artifacts again (instrumentation's series counts), and the slow-query log by
        variant."""
        save_artifacts(self.run_dir, base_url, self.techniques, self.log)
        save_slow_queries(self.run_dir, base_url, self.techniques, self.log)

    def measure_overhead(self, env: Environment) -> None:
        """What the meter and /metrics cost, if the profile asks (the app must be stopped)."""
        if self.profile.overhead:
            with self.stage("overhead"):
                self.manifest.overhead = measure_overhead_safely(
                    self.run_dir, env.app_settings(), self.log
                )

    def run_microbenchmarks(self, points: list[Point], env: Environment) -> None:
        """The in-process microbenchmarks, if planned; their failure is noted, not fatal."""
        if not self.micro:
            return
        with self.stage("micro"):
            error = run_microbenchmarks(
                self.run_dir, micro_plan(points), env.app_environment(), self.profile, self.log
            )
        self.manifest.micro["error"] = error
        if error:
            self.log(f"warning: {error}")


def run(
    plan: LoadPlan,
    techniques: list[Technique],
    results_root: Path,
    log: Log = print,
    micro: bool = True,
    distance: Distance | None = None,
    topology: Topology | None = None,
    slos: Slos = DEFAULT_SLOS,
) -> RunOutcome:
    """Measure `techniques` as `plan` says; whatever happens, the run dir keeps the samples.
    `distance` puts dependencies behind delay proxies (none by default: all on loopback);
    `topology` says which processes send the load and serve it (one each by default);
    `slos` are the objectives its variants are judged by (pairbench.slo)."""
    profile = plan.profile
    distance = distance or Distance()
    topology = topology or Topology()
    results.require_writable(results_root)  # before any server starts or any load is sent
    run_dir = results.new_run_dir(results_root, profile.name)
    keys = ", ".join(technique.key for technique in techniques)
    modes = " and ".join(f"{mode} loop" for mode in plan.modes)
    log(
        f"run {run_dir.name}: profile {profile.name} ({profile.description}), {modes}; "
        f"techniques: {keys}"
    )
    points = plan_points(techniques, profile)
    control = control_of(profile)
    manifest = start_manifest(run_dir, plan, techniques, points, micro, distance, slos)
    manifest.topology = topology.manifest()
    results.write_json(run_dir / results.CODE, capture_sources(techniques))
    current = Run(plan, techniques, run_dir, manifest, log, micro, distance, topology, control)
    return current.measure(points)
