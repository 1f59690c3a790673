"""A run: plan -> services -> seed -> app -> equivalence -> probe -> load -> micro -> stats.

Variants of a technique are measured interleaved (A B C A B C ...) so drift of the
machine falls on all of them alike (pairbench.load.measure), once the load generator's
ceiling is known (pairbench.load.ceiling). Every stage leaves its files in
the run directory, so an interrupted run keeps what it measured and the stats and the
report can be rebuilt from them alone.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from bench_app.db import make_engine
from bench_app.seed import seed
from bench_app.settings import Settings
from bench_app.steady_state import pause_autovacuum, resume_autovacuum, settle
from bench_app.technique import Technique
from pairbench import results
from pairbench.console import Log
from pairbench.env.distance import (
    DATABASE,
    REDIS,
    UPSTREAM,
    Distance,
    running_proxy,
)
from pairbench.env.server import ServerError, app_environment, serving_app
from pairbench.env.services import ServiceError, ServiceUrls, running_services, server_versions
from pairbench.env.upstream import running_upstream
from pairbench.env.worker import running_worker
from pairbench.load.answers_under_load import check_answers_under_load
from pairbench.load.ceiling import measure_ceiling_safely
from pairbench.load.control import control_equivalence, control_of
from pairbench.load.effects import Services
from pairbench.load.equivalence import check_equivalence
from pairbench.load.measure import LoadPlan, PointOutcome, measure
from pairbench.load.micro import micro_plan, run_microbenchmarks
from pairbench.load.overhead import OverheadError, measure_overhead
from pairbench.load.probe_stage import probe_rtt_sweep, probe_uncontended
from pairbench.load.proxy_cost import measure_proxies, watching_proxies
from pairbench.load.segment import LoadError, running_generator
from pairbench.load.slow_queries import save_slow_queries
from pairbench.manifest import Manifest, Rounds
from pairbench.plan import Point, manifest_points, plan_points, resolve_points, rtt_sweep_points
from pairbench.profiles import OPEN_LOOP_LOAD, REQUEST_TIMEOUT_S, Profile
from pairbench.slo import DEFAULT_SLOS, Slos, slos_entry
from pairbench.sources import capture_sources
from pairbench.stats.drift import DRIFT_PREFIX
from pairbench.stats.headline import manifest_entry as headline_entry
from pairbench.stats.noise_floor import noise_floor
from pairbench.stats.stage import Tables, write_tables
from pairbench.topology import Topology

GENERATOR_LOG = "generator.log"


def seed_database(settings: Settings, log: Log) -> None:
    async def load() -> None:
        engine = make_engine(settings)
        try:
            outcome = await seed(engine, settings, log)
            if not outcome.loaded:
                log(f"data already loaded: {outcome.users} users, {outcome.posts} posts")
        finally:
            await engine.dispose()

    asyncio.run(load())


def settle_database(settings: Settings, log: Log) -> None:
    """The database in a steady state before it is measured (bench_app.steady_state)."""

    async def work() -> list[str]:
        engine = make_engine(settings)
        try:
            return await settle(engine, settings.db_schema)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    tables = asyncio.run(work())
    log(f"database settled: VACUUM (ANALYZE) of {len(tables)} tables "
        f"({time.perf_counter() - started:.1f} s)")  # fmt: skip


@contextmanager
def autovacuum_off(settings: Settings, log: Log) -> Iterator[None]:
    """Autovacuum off the app's tables while the run measures, back on afterwards."""

    async def change(tables: list[str] | None) -> list[str]:
        engine = make_engine(settings)
        try:
            if tables is None:
                return await pause_autovacuum(engine, settings.db_schema)
            await resume_autovacuum(engine, tables)
            return tables
        finally:
            await engine.dispose()

    paused = asyncio.run(change(None))
    log(f"autovacuum paused on {len(paused)} tables while measuring")
    try:
        yield
    finally:
        asyncio.run(change(paused))


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
    """The run's noise floor (its A/A control's CI) and drift warnings, into the manifest."""
    floor = noise_floor(tables.summary, manifest)
    manifest.noise_floor = floor.manifest_entry() if floor else None
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


def app_settings(urls: ServiceUrls, profile: Profile) -> Settings:
    return Settings(database_url=urls.database_url, redis_url=urls.redis_url, scale=profile.scale)


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
    `topology` says which processes send the load and serve it (one each by default);
    `slos` are the objectives its variants are judged by (pairbench.slo)."""
    profile = plan.profile
    distance = distance or Distance()  # no proxies: every dependency on loopback
    results.require_writable(results_root)  # before any server starts or any load is sent
    run_dir = results.new_run_dir(results_root, profile.name)
    keys = ", ".join(technique.key for technique in techniques)
    modes = " and ".join(f"{mode} loop" for mode in plan.modes)
    log(f"run {run_dir.name}: profile {profile.name} ({profile.description}), {modes}; "
        f"techniques: {keys}")  # fmt: skip
    points = plan_points(techniques, profile)
    control = control_of(profile)
    manifest = start_manifest(run_dir, plan, techniques, points, micro, distance, slos)
    topology = topology or Topology()
    manifest.topology = topology.manifest()
    results.write_json(run_dir / results.CODE, capture_sources(techniques))
    outcome = RunOutcome(run_dir)

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        """Times a stage into the manifest (kept even if the stage is interrupted)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            manifest.stages[name] = round(seconds, 2)
            results.write_manifest(run_dir, manifest)
            log(f"{name}: {seconds:.1f} s (run so far {time.perf_counter() - run_started:.0f} s)")

    def keep_outcome(point: PointOutcome) -> None:
        manifest.stopping.append(point.manifest_entry())
        results.write_manifest(run_dir, manifest)

    run_started = time.perf_counter()
    try:
        with ExitStack() as services:
            with stage("services"):
                urls = services.enter_context(running_services(log))
                # The outbound techniques' upstream stub.
                upstream = services.enter_context(running_upstream(run_dir / "upstream.log", log))
                direct = {
                    DATABASE: urls.database_url,
                    REDIS: urls.redis_url,
                    UPSTREAM: upstream.url,
                }
                proxies = {
                    kind: services.enter_context(
                        running_proxy(kind, direct[kind], distance.rtt_of(kind),
                                      run_dir / f"proxy-{kind}.log", log)
                    )
                    for kind in distance.proxied()
                }  # fmt: skip
            manifest.environment = results.environment(server_versions(urls))
            results.write_manifest(run_dir, manifest)
            if proxies:
                with stage("distance"):
                    manifest.distance["proxies"] = measure_proxies(proxies, direct, distance, log)
            # The app (and its worker, the overhead and micro stages) reach each dependency
            # through its proxy; the harness's seeding goes direct.
            app_urls = replace(
                urls,
                database_url=proxies[DATABASE].url if DATABASE in proxies else urls.database_url,
                redis_url=proxies[REDIS].url if REDIS in proxies else urls.redis_url,
            )
            with stage("seed"):
                seed_database(app_settings(urls, profile), log)
                settle_database(app_settings(urls, profile), log)
            services.enter_context(autovacuum_off(app_settings(urls, profile), log))
            environment = app_environment(
                app_urls.database_url, app_urls.redis_url, profile.scale,
                proxies[UPSTREAM].url if UPSTREAM in proxies else upstream.url,
            )  # fmt: skip
            # background_jobs' job worker; up through the microbenchmarks, which enqueue jobs too.
            services.enter_context(running_worker(environment, run_dir / "worker.log", log))
            with serving_app(
                environment, run_dir / "server.log", log,
                host=topology.app_host, workers=topology.app_workers,
            ) as app:  # fmt: skip
                base_url = app.base_url
                with stage("equivalence"):
                    points = resolve_points(base_url, points)
                    manifest.points = manifest_points(points)
                    equivalence = check_all_equivalent(
                        base_url, points, log, Services(urls.redis_url, urls.database_url)
                    )
                    if control is not None:
                        equivalence[results.CONTROL_KEY] = control_equivalence(profile)
                    results.write_json(run_dir / results.EQUIVALENCE, equivalence)
                    manifest.not_equivalent = not_equivalent(equivalence)
                    save_artifacts(run_dir, base_url, techniques, log)
                with stage("probe"):
                    probed = probe_uncontended(run_dir, app, points, profile, log)
                if distance.sweep_ms:
                    with stage("rtt sweep"):
                        swept = rtt_sweep_points(points, distance.sweep_ms)
                        manifest.points = manifest_points(points + swept)
                        probe_rtt_sweep(run_dir, app, swept, proxies, distance, profile, log)
                with (
                    stage("load"),
                    running_generator(
                        base_url, run_dir / GENERATOR_LOG, topology.load_workers,
                        topology.own_target,
                    ) as gen,
                    watching_proxies(proxies, manifest),
                ):  # fmt: skip
                    # What the generator sends at most, before any figure depends on it.
                    manifest.generator_ceiling = measure_ceiling_safely(gen, run_dir, profile, log)
                    results.write_manifest(run_dir, manifest)
                    measure(  # memory hook: the shared app, watched (never restarted)
                        run_dir,
                        base_url,
                        points,
                        plan,
                        probed,
                        log,
                        gen,
                        keep_outcome,
                        app,
                        upstream,
                        control=control,
                    )
                with stage("answers under load"):
                    check_under_load(run_dir, base_url, points, equivalence, log)
                    manifest.not_equivalent = not_equivalent(equivalence)
                # monitoring: what the load left: artifacts again (instrumentation's
                # series counts), and the slow-query log by variant.
                save_artifacts(run_dir, base_url, techniques, log)
                save_slow_queries(run_dir, base_url, techniques, log)
            # monitoring: what the meter and /metrics cost, with the app stopped.
            if profile.overhead:
                with stage("overhead"):
                    manifest.overhead = measure_overhead_safely(
                        run_dir, app_settings(app_urls, profile), log
                    )
            if micro:
                with stage("micro"):
                    error = run_microbenchmarks(
                        run_dir, micro_plan(points), environment, profile, log
                    )
                manifest.micro["error"] = error
                if error:
                    log(f"warning: {error}")
        with stage("stats"):
            record_trust(manifest, write_tables(run_dir))
        outcome = RunOutcome(run_dir, not_equivalent=tuple(manifest.not_equivalent))
    except (KeyboardInterrupt, SystemExit):
        outcome = RunOutcome(run_dir, interrupted=True)
    except (ServiceError, ServerError, LoadError, results.ResultsError) as error:
        outcome = RunOutcome(run_dir, error=str(error))
    except httpx.HTTPError as error:
        outcome = RunOutcome(run_dir, error=f"the target app failed a harness request: {error}")
    finally:
        manifest.complete = outcome.complete
        manifest.stopped_by = "interrupted" if outcome.interrupted else outcome.error
        manifest.ended_at = results.now_iso()
        results.write_manifest(run_dir, manifest)
    return outcome
