"""The load segments of a run: per point, variants interleaved, closed loop then open loop.

Each segment's samples are appended to the run directory as soon as it ends, so an
interrupted run keeps what it measured. The open-loop arrival rate of a point is set
from what its baseline managed closed-loop just before (or, without that, from the
uncontended probe), so every variant is offered the same load, below capacity.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

from bench_app.technique import Technique
from pairbench import results
from pairbench.env.upstream import Upstream
from pairbench.load.segment import (
    LoadError,
    SegmentResult,
    has_own_workload,
    run_open_segment,
    run_segment,
)
from pairbench.load.segment_figures import SegmentWatch, measured_window
from pairbench.plan import Point, segment_order
from pairbench.profiles import OPEN_LOOP_LOAD, REQUEST_TIMEOUT_S, Profile
from pairbench.stats.summary import requests_per_second

Log = Callable[[str], None]
MIN_OPEN_LOOP_RATE = 1.0  # requests per second, when no capacity could be measured
RESET_TIMEOUT_S = 600.0  # a reset may first wait for a previous segment's stragglers


@dataclass(frozen=True)
class LoadPlan:
    """How to load: the profile, which modes, and an optional fixed open-loop rate."""

    profile: Profile
    modes: tuple[str, ...]
    rate: float | None = None  # requests per second for every open-loop segment


def tidy_samples(
    raw_path: Path, point: Point, variant: str, repetition: int, warmup_s: float, mode: str
) -> pd.DataFrame:
    """A generator's raw rows labelled with what they measured; the first `warmup_s` seconds
    marked as warm-up; columns exactly results.SAMPLE_COLUMNS (files append header-once)."""
    frame = results.read_table(raw_path, ["t_start", "latency_ms", "status"])
    first = frame["t_start"].min() if len(frame) else 0.0
    frame = frame.assign(
        technique=point.technique.key, variant=variant, point=point.label, mode=mode,
        repetition=repetition,
        phase=["warmup" if t < first + warmup_s else "measure" for t in frame["t_start"]],
    )  # fmt: skip
    return results.with_columns(frame, results.SAMPLE_COLUMNS)[results.SAMPLE_COLUMNS]


def reset(client: httpx.Client, technique: Technique) -> None:
    """Put the technique's state back (e.g. empty a scratch table) before a segment."""
    if technique.reset_path is None:
        return
    try:
        client.post(technique.reset_path, timeout=RESET_TIMEOUT_S).raise_for_status()
    except httpx.HTTPError as error:
        raise LoadError(f"{technique.key}: reset {technique.reset_path} failed: {error}") from None


def _progress_line(frame: pd.DataFrame, seconds: float) -> str:
    measured = frame[(frame["phase"] == "measure") & (frame["dropped"] != 1)]
    ok = measured[(measured["status"] > 0) & (measured["status"] < 400)]
    failures, dropped = len(measured) - len(ok), int((frame["dropped"] == 1).sum())
    p50 = ok["latency_ms"].median() if len(ok) else float("nan")
    rps = len(measured) / seconds if seconds > 0 else 0.0
    text = f"{len(measured)} requests, {failures} failed, p50 {p50:.1f} ms, ~{rps:.0f} req/s"
    return text + (f", {dropped} sends dropped" if dropped else "")


def open_loop_rate(
    closed: dict[str, list[pd.DataFrame]], probe: pd.DataFrame, point: Point
) -> float:
    """OPEN_LOOP_LOAD x the baseline's capacity: its closed-loop throughput here, if
    measured, else one request at a time from the probe (a lower bound of capacity)."""
    baseline = point.technique.baseline
    capacity = math.nan
    frames = closed.get(baseline, [])
    if frames:
        measured = pd.concat(frames)
        capacity = requests_per_second(measured[measured["phase"] == "measure"])
    if not capacity > 0:
        chosen = probe[
            (probe["technique"] == point.technique.key)
            & (probe["point"] == point.label)
            & (probe["variant"] == baseline)
        ]
        median_ms = float(chosen["latency_ms"].median()) if len(chosen) else math.nan
        capacity = 1000.0 / median_ms if median_ms > 0 else math.nan
    return OPEN_LOOP_LOAD * capacity if capacity > 0 else MIN_OPEN_LOOP_RATE


def _segments(points: list[Point], plan: LoadPlan, log: Log) -> list[tuple[Point, str, int, str]]:
    """(point, mode, repetition, variant) of every segment, in measuring order."""
    order = []
    for point in points:
        for mode in plan.modes:
            if mode == results.OPEN and has_own_workload(point.technique):
                key = point.technique.key
                log(f"{key} {point.label}: open loop skipped: its workload is its own Locust "
                    f"user ({point.technique.scenario}), which only runs closed-loop")  # fmt: skip
                continue
            for repetition, _, variant in segment_order([point], plan.profile.repetitions):
                order.append((point, mode, repetition, variant))
    return order


def measure(
    run_dir: Path,
    base_url: str,
    points: list[Point],
    plan: LoadPlan,
    probe: pd.DataFrame,
    log: Log,
    upstream: Upstream | None = None,
) -> None:
    """Run every loaded point's segments, appending samples and segment rows as they end."""
    profile = plan.profile
    order = _segments([point for point in points if point.loaded], plan, log)
    raw_dir = run_dir / "raw"
    raw_dir.mkdir(exist_ok=True)
    # Per point: its closed-loop frames by variant, then its open-loop rate, set from them.
    closed: dict[tuple[str, str], dict[str, list[pd.DataFrame]]] = {}
    rates: dict[tuple[str, str], float] = {}
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for number, (point, mode, repetition, variant) in enumerate(order, start=1):
            key = (point.technique.key, point.label)
            if mode == results.OPEN and key not in rates:
                rates[key] = plan.rate or open_loop_rate(closed.get(key, {}), probe, point)
            rate = rates.get(key, math.nan)
            name = (
                f"{point.technique.key} {point.label} {variant} {mode} loop"
                + (f" at {rate:.0f} req/s" if mode == results.OPEN else "")
                + f", round {repetition + 1}/{profile.repetitions}"
            )
            log(f"[{number}/{len(order)}] {name} ...")
            reset(client, point.technique)
            watch = SegmentWatch.start(client, upstream, point.technique)  # stub, lag, jobs
            raw_path = raw_dir / f"{point.technique.key}.{variant}.{mode}.{repetition}.csv"
            segment = _run(base_url, point, variant, mode, rate, profile, raw_path)
            frame = tidy_samples(raw_path, point, variant, repetition, profile.warmup_s, mode)
            if mode == results.CLOSED:
                closed.setdefault(key, {}).setdefault(variant, []).append(frame)
            results.append_rows(run_dir / results.SAMPLES, frame)
            segment_row = {
                "technique": point.technique.key, "variant": variant, "point": point.label,
                "mode": mode, "repetition": repetition, "started": segment.started,
                "ended": segment.ended,
                "users": profile.users if mode == results.CLOSED else math.nan,
                "rate": rate if mode == results.OPEN else math.nan,
                "generator_cpu_max": segment.generator_cpu_max,
            }  # fmt: skip
            segment_row.update(
                watch.finish(*measured_window(frame, segment.started, segment.ended))
            )
            results.append_rows(run_dir / results.SEGMENTS, pd.DataFrame([segment_row]))
            raw_path.unlink()
            log(f"    {_progress_line(frame, profile.duration_s)}")
    raw_dir.rmdir()


def _run(
    base_url: str, point: Point, variant: str, mode: str, rate: float, profile: Profile, raw: Path
) -> SegmentResult:
    target = point.technique.url(variant, point.params)
    seconds = profile.warmup_s + profile.duration_s
    if mode == results.OPEN:
        return run_open_segment(base_url, target, rate, seconds, raw)
    return run_segment(base_url, point.technique.key, target, profile.users, seconds, raw)
