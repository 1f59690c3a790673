"""A run: plan -> services -> seed -> app -> equivalence -> interleaved load -> files.

Variants of a technique are measured interleaved (A B C A B C ...) so drift of the
machine falls on all of them alike. Each segment's samples are appended to the run
directory as soon as it ends, so an interrupted run keeps what it measured.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from bench_app.db import make_engine
from bench_app.seed import seed
from bench_app.settings import Settings
from bench_app.technique import Technique
from pairbench import results
from pairbench.equivalence import check_equivalence
from pairbench.load import LoadError, run_segment
from pairbench.probe import probe
from pairbench.profiles import Profile
from pairbench.server import ServerError, app_environment, running_app
from pairbench.services import ServiceError, ServiceUrls, running_services, server_versions

Log = Callable[[str], None]
PROBE_REQUESTS = 20
RESET_TIMEOUT_S = 600.0  # a reset may first wait for a previous segment's stragglers
# One request of the slowest variant: bulk_insert's row_by_row at rows=10000 commits 10,000
# times, over 10 s on a quiet machine and past a minute on a busy one.
REQUEST_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Point:
    """One technique at one set of request parameters (its defaults or a sweep point)."""

    technique: Technique
    params: dict[str, Any]
    given_label: str | None = None  # kept when run-time params are added (resolve_points)

    @property
    def label(self) -> str:
        if self.given_label is not None:
            return self.given_label
        return ",".join(f"{name}={value}" for name, value in self.params.items()) or "default"


def plan_points(techniques: list[Technique], profile: Profile) -> list[Point]:
    """Every (technique, parameters) pair the profile measures."""
    points = []
    for technique in techniques:
        points.append(Point(technique, dict(technique.params)))
        if profile.sweep:
            for name, values in technique.sweep.items():
                for value in values:
                    params = {**technique.params, name: value}
                    if params != dict(technique.params):
                        points.append(Point(technique, params))
    return points


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


def resolve_points(base_url: str, points: list[Point]) -> list[Point]:
    """Points with the extra params their technique derives at run time (see params_path)."""
    resolved = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for point in points:
            path = point.technique.params_path
            if path is None:
                resolved.append(point)
                continue
            response = client.get(path, params=point.params)
            response.raise_for_status()
            resolved.append(
                Point(point.technique, {**point.params, **response.json()}, point.label)
            )
    return resolved


def check_all_equivalent(base_url: str, points: list[Point], log: Log) -> dict[str, Any]:
    """Each variant's answer against its baseline's, at every point; all points must match."""
    verdicts: dict[str, dict[str, dict[str, Any]]] = {}
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for point in points:
            found = check_equivalence(client, point.technique, point.params)
            merged = verdicts.setdefault(point.technique.key, {})
            for variant, verdict in found.items():
                if variant not in merged or merged[variant]["equivalent"]:
                    merged[variant] = {**verdict, "detail": f"{point.label}: {verdict['detail']}"}
    for technique, variants in verdicts.items():
        for variant, verdict in variants.items():
            if not verdict["equivalent"]:
                log(f"NOT EQUIVALENT {technique}/{variant}: {verdict['detail']}")
    return verdicts


def save_artifacts(run_dir: Path, base_url: str, techniques: list[Technique], log: Log) -> None:
    """What techniques show beyond timings (e.g. EXPLAIN plans), kept as artifacts/<key>.json."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for technique in techniques:
            if technique.artifacts_path:
                log(f"capturing {technique.key} artifacts ...")
                response = client.get(technique.artifacts_path)
                response.raise_for_status()
                (run_dir / results.ARTIFACTS).mkdir(exist_ok=True)
                results.write_json(
                    run_dir / results.ARTIFACTS / f"{technique.key}.json", response.json()
                )


def probe_uncontended(run_dir: Path, base_url: str, points: list[Point], log: Log) -> None:
    """One request at a time per variant: the cost split without load (see pairbench.probe)."""
    log(f"probing each variant with up to {PROBE_REQUESTS} sequential requests ...")
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        targets = [(point.technique, point.label, point.params) for point in points]
        probe(client, targets, PROBE_REQUESTS).to_csv(run_dir / results.PROBE, index=False)


def segment_order(points: list[Point], repetitions: int) -> Iterator[tuple[int, Point, str]]:
    """(repetition, point, variant) in measuring order: per point, variants interleaved."""
    for point in points:
        for repetition in range(repetitions):
            for variant in point.technique.variants:
                yield repetition, point, variant


def tidy_samples(
    raw_path: Path, point: Point, variant: str, repetition: int, warmup_s: float
) -> pd.DataFrame:
    """Locust's raw rows labelled with what they measured; the first `warmup_s` seconds marked."""
    frame = results.read_table(raw_path, ["t_start", "latency_ms", "status"])
    first = frame["t_start"].min() if len(frame) else 0.0
    labels: dict[str, str | int] = {
        "technique": point.technique.key,
        "variant": variant,
        "point": point.label,
        "repetition": repetition,
    }
    frame.insert(
        0, "phase", ["warmup" if t < first + warmup_s else "measure" for t in frame["t_start"]]
    )
    for position, (name, value) in enumerate(labels.items()):
        frame.insert(position, name, value)
    return frame


def _progress_line(frame: pd.DataFrame, seconds: float) -> str:
    measured = frame[frame["phase"] == "measure"]
    ok = measured[(measured["status"] > 0) & (measured["status"] < 400)]
    failures = len(measured) - len(ok)
    p50 = ok["latency_ms"].median() if len(ok) else float("nan")
    rps = len(measured) / seconds if seconds > 0 else 0.0
    return f"{len(measured)} requests, {failures} failed, p50 {p50:.1f} ms, ~{rps:.0f} req/s"


def reset_technique(base_url: str, technique: Technique) -> None:
    """POST the technique's reset_path, if any, so each of its segments starts the same way."""
    if technique.reset_path is None:
        return
    response = httpx.post(f"{base_url}{technique.reset_path}", timeout=RESET_TIMEOUT_S)
    if response.status_code >= 400:
        raise LoadError(f"{technique.key}: reset {technique.reset_path} answered {response.text}")


def measure(run_dir: Path, base_url: str, points: list[Point], profile: Profile, log: Log) -> None:
    """Run every segment, appending its samples and its segment row to the run directory."""
    order = list(segment_order(points, profile.repetitions))
    raw_dir = run_dir / "raw"
    raw_dir.mkdir(exist_ok=True)
    for number, (repetition, point, variant) in enumerate(order, start=1):
        technique = point.technique
        raw_path = raw_dir / f"{technique.key}.{variant}.{repetition}.csv"
        name = (
            f"{technique.key} {point.label} {variant} round {repetition + 1}/{profile.repetitions}"
        )
        log(f"[{number}/{len(order)}] {name} ...")
        reset_technique(base_url, technique)
        segment = run_segment(
            base_url,
            technique.key,
            technique.url(variant, point.params),
            profile.users,
            profile.warmup_s + profile.duration_s,
            raw_path,
        )
        frame = tidy_samples(raw_path, point, variant, repetition, profile.warmup_s)
        results.append_rows(run_dir / results.SAMPLES, frame)
        segment_row = {
            "technique": technique.key, "variant": variant, "point": point.label,
            "repetition": repetition, "started": segment.started, "ended": segment.ended,
            "users": profile.users, "generator_cpu_max": segment.generator_cpu_max,
        }  # fmt: skip
        results.append_rows(run_dir / results.SEGMENTS, pd.DataFrame([segment_row]))
        raw_path.unlink()
        log(f"    {_progress_line(frame, profile.duration_s)}")
    raw_dir.rmdir()


def start_manifest(run_dir: Path, profile: Profile, techniques: list[Technique]) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "run_id": run_dir.name,
        "profile": profile.name,
        "started_at": results.now_iso(),
        "ended_at": None,
        "complete": False,
        "git_commit": results.git_commit(Path(__file__).resolve().parents[1]),
        "scale": profile.scale,
        "techniques": [technique.key for technique in techniques],
        "baselines": {technique.key: technique.baseline for technique in techniques},
        "users": profile.users,
        "warmup_s": profile.warmup_s,
        "duration_s": profile.duration_s,
        "repetitions": profile.repetitions,
        "environment": results.environment({}),
    }
    results.write_json(run_dir / results.MANIFEST, manifest)
    return manifest


def app_settings(urls: ServiceUrls, profile: Profile) -> Settings:
    return Settings(database_url=urls.database_url, redis_url=urls.redis_url, scale=profile.scale)


@dataclass(frozen=True)
class RunOutcome:
    """Where a run left its files and whether it measured everything it planned."""

    run_dir: Path
    interrupted: bool = False
    error: str | None = None  # what stopped a run that failed

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.error is None


def run(
    profile: Profile, techniques: list[Technique], results_root: Path, log: Log = print
) -> RunOutcome:
    """Measure `techniques` under `profile`; whatever happens, the run dir keeps the samples."""
    run_dir = results.new_run_dir(results_root, profile.name)
    keys = ", ".join(technique.key for technique in techniques)
    log(f"run {run_dir.name}: profile {profile.name} ({profile.description}); techniques: {keys}")
    manifest = start_manifest(run_dir, profile, techniques)
    points = plan_points(techniques, profile)
    outcome = RunOutcome(run_dir)
    try:
        with running_services(log) as urls:
            manifest["environment"] = results.environment(server_versions(urls))
            results.write_json(run_dir / results.MANIFEST, manifest)
            seed_database(app_settings(urls, profile), log)
            environment = app_environment(urls.database_url, urls.redis_url, profile.scale)
            with running_app(environment, run_dir / "server.log", log) as base_url:
                points = resolve_points(base_url, points)
                equivalence = check_all_equivalent(base_url, points, log)
                results.write_json(run_dir / results.EQUIVALENCE, equivalence)
                save_artifacts(run_dir, base_url, techniques, log)
                probe_uncontended(run_dir, base_url, points, log)
                started = time.perf_counter()
                measure(run_dir, base_url, points, profile, log)
                log(f"measured in {time.perf_counter() - started:.0f} s")
    except (KeyboardInterrupt, SystemExit):
        outcome = RunOutcome(run_dir, interrupted=True)
    except (ServiceError, ServerError, LoadError, results.ResultsError) as error:
        outcome = RunOutcome(run_dir, error=str(error))
    finally:
        manifest["complete"] = outcome.complete
        manifest["stopped_by"] = "interrupted" if outcome.interrupted else outcome.error
        manifest["ended_at"] = results.now_iso()
        results.write_json(run_dir / results.MANIFEST, manifest)
    return outcome
