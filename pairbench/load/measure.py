"""The load segments of a run: per point and mode, rounds of interleaved variants.

A round loads every variant once, back to back (A B C), so drift of the machine falls
on all of them alike. After the profile's minimum rounds, those rounds decide how many
more the speedups need for a CI within the target (Stein's two-stage rule, see
pairbench.stats.rounds), bounded by the profile's maximum and the point's share of the
load budget; a point that runs out says so. Each segment's samples are appended to the
run directory as soon as it ends, so an interrupted run keeps what it measured.

The open-loop arrival rate of a point is set from what its baseline managed closed-loop
just before (or, without that, from the uncontended probe), so every variant is offered
the same load, below capacity.
"""

import json
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from bench_app.headline import Headline
from bench_app.technique import Technique
from pairbench import results
from pairbench.console import Log
from pairbench.env.server import AppServer
from pairbench.env.upstream import Upstream
from pairbench.load.app_memory import segment_memory, watch_app
from pairbench.load.segment import LoadError, LoadGenerator, SegmentResult, has_own_workload
from pairbench.load.segment_apps import SegmentApps
from pairbench.load.segment_figures import SegmentWatch
from pairbench.plan import Point
from pairbench.profiles import OPEN_LOOP_LOAD, REQUEST_TIMEOUT_S, Profile
from pairbench.stats import requests
from pairbench.stats.headline import compare_rounds, round_figure, rounds_needed_for
from pairbench.stats.stability import BUDGET_REACHED
from pairbench.stats.summary import requests_per_second

MIN_OPEN_LOOP_RATE = 1.0  # requests per second, when no capacity could be measured
RESET_TIMEOUT_S = 600.0  # a reset may first wait for a previous segment's stragglers
# Why a point stopped where it did (the manifest keeps it per point and mode):
STOPPED_AT_MINIMUM = "target met at the minimum rounds"
STOPPED_TARGET_MET = "target met"
STOPPED_BUDGET = BUDGET_REACHED
STOPPED_FIXED = "fixed rounds"


@dataclass(frozen=True)
class LoadPlan:
    """How to load: the profile, which modes, and an optional fixed open-loop rate."""

    profile: Profile
    modes: tuple[str, ...]
    rate: float | None = None  # requests per second for every open-loop segment
    # Seeds the order of the variants in each round (shuffled per round, so no variant
    # always follows the same one: what a segment leaves behind falls on all alike).
    order_seed: int = 0


@dataclass(frozen=True)
class Arms:
    """What a point's rounds load: each arm's variant, the baseline arm, the technique key
    its samples are filed under, and the figure its stopping rule judges."""

    key: str
    variants: Mapping[str, str]  # arm -> the variant it requests
    baseline: str
    headline: Headline

    @classmethod
    def of(cls, technique: Technique) -> "Arms":
        """A technique's own arms: each variant once, named as itself."""
        variants = {variant: variant for variant in technique.variants}
        return cls(technique.key, variants, technique.baseline, technique.headline)


def round_order(arms: list[str], rng: random.Random) -> list[str]:
    """The arms in one round's order: every arm once, shuffled."""
    order = list(arms)
    rng.shuffle(order)
    return order


@dataclass
class PointOutcome:
    """How one point was measured in one mode: rounds run, why it stopped, CIs reached."""

    technique: str
    point: str
    mode: str
    rounds: int = 0
    planning_rounds: int = 0
    stopped: str = STOPPED_FIXED
    seconds: float = 0.0
    half_widths: dict[str, float] = field(default_factory=dict)  # variant -> p50 CI half-width

    def describe(self) -> str:
        widest = max(self.half_widths.values(), default=float("nan"))
        ci = f"CI +/-{widest:.0%}" if not math.isnan(widest) else "no CI"
        return f"{self.rounds} round(s), {self.stopped}: {ci} ({self.seconds:.0f} s)"

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "technique": self.technique,
            "point": self.point,
            "mode": self.mode,
            "rounds": self.rounds,
            "planning_rounds": self.planning_rounds,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 2),
            "half_widths": {
                variant: None if math.isnan(width) else round(width, 4)
                for variant, width in self.half_widths.items()
            },
        }


def round_cap_s(rounds: int, share_s: float, profile: Profile) -> float:
    """How long a point's rounds so far and the next may take. The minimum rounds (fewer
    give no CI worth the name) may take up to the point's maximum, even past its share of
    the budget; rounds beyond them stop half a share past it."""
    return profile.point_max_s if rounds < profile.min_rounds else share_s * 1.5


class LoadBudget:
    """The profile's load seconds, shared out: each item gets its share of what is left,
    up to a maximum per item."""

    def __init__(self, seconds: float, items: int, item_max_s: float) -> None:
        self.left, self.items_left, self.item_max_s = seconds, items, item_max_s

    def share(self) -> float:
        return min(self.left / max(self.items_left, 1), self.item_max_s)

    def spend(self, seconds: float) -> None:
        self.left = max(self.left - seconds, 0.0)
        self.items_left -= 1


def tidy_samples(
    raw_path: Path,
    point: Point,
    variant: str,
    repetition: int,
    window: tuple[float, float],
    mode: str,
    key: str | None = None,
) -> pd.DataFrame:
    """A generator's raw rows labelled with what they measured: sent in the measuring
    `window` (epoch seconds), before it (warm-up) or after it (cool-down, e.g. a burst
    released as the segment ended); columns exactly SAMPLE_COLUMNS. `key` files them under
    another technique key than the point's (the A/A control's)."""
    frame = results.read_table(raw_path, ["t_start", "latency_ms", "status"])
    measure_start, measure_end = window
    starts = frame["t_start"].astype(float)
    frame = frame.assign(
        technique=key or point.technique.key,
        variant=variant,
        point=point.label,
        mode=mode,
        repetition=repetition,
        phase=np.select(
            [starts < measure_start, starts <= measure_end],
            [results.WARMUP_PHASE, results.MEASURE_PHASE],
            results.COOLDOWN_PHASE,
        ),
    )
    return results.with_columns(frame, results.SAMPLE_COLUMNS)[results.SAMPLE_COLUMNS]


def reset(
    client: httpx.Client, technique: Technique, params: Mapping[str, Any] | None = None
) -> None:
    """Put the technique's state back (e.g. empty a scratch table, warm a cache) before a
    segment; `params` are the point's, which a cache warms its answer for."""
    if technique.reset_path is None:
        return
    try:
        client.post(
            technique.reset_path, params=dict(params or {}), timeout=RESET_TIMEOUT_S
        ).raise_for_status()
    except httpx.HTTPError as error:
        raise LoadError(f"{technique.key}: reset {technique.reset_path} failed: {error}") from None


def progress_line(frame: pd.DataFrame, seconds: float) -> str:
    """A segment's console line: the variant's own requests (a mixed workload's other
    kinds only counted), as the summary will show them."""
    own = requests.own(frame)
    measured = requests.measured(own)
    ok = requests.measured_successful(own)
    failures, dropped = len(measured) - len(ok), int((own["dropped"] == 1).sum())
    p50 = ok["latency_ms"].median() if len(ok) else float("nan")
    rps = len(measured) / seconds if seconds > 0 else 0.0
    others = len(requests.measured(frame)) - len(measured)
    text = f"{len(measured)} requests, {failures} failed, p50 {p50:.1f} ms, ~{rps:.0f} req/s"
    text += f", {dropped} sends dropped" if dropped else ""
    return text + (f" (and {others} requests of other kinds)" if others else "")


def open_loop_rate(
    closed: dict[str, list[pd.DataFrame]], probe: pd.DataFrame, point: Point
) -> float:
    """OPEN_LOOP_LOAD x the baseline's capacity: its closed-loop throughput here, if
    measured, else one request at a time from the probe (a lower bound of capacity)."""
    baseline = point.technique.baseline
    capacity = math.nan
    frames = closed.get(baseline, [])
    if frames:
        capacity = requests_per_second(requests.measured(pd.concat(frames)))
    if not capacity > 0:
        probe = requests.answered(probe)
        chosen = probe[
            (probe["technique"] == point.technique.key)
            & (probe["point"] == point.label)
            & (probe["variant"] == baseline)
        ]
        median_ms = float(chosen["latency_ms"].median()) if len(chosen) else math.nan
        capacity = 1000.0 / median_ms if median_ms > 0 else math.nan
    return OPEN_LOOP_LOAD * capacity if capacity > 0 else MIN_OPEN_LOOP_RATE


def round_medians(frames: list[pd.DataFrame]) -> list[float]:
    """A variant's p50 of its measured, successful, own requests in each round (NaN if
    none): the figure the summary reports, so the stopping rule judges what is shown."""
    found = []
    for frame in frames:
        latencies = requests.own_measured_successful(frame)["latency_ms"]
        found.append(float(latencies.median()) if len(latencies) else math.nan)
    return found


Rounds = dict[str, list[tuple[pd.DataFrame, Mapping[str, Any]]]]  # arm -> (samples, segment)
# A segment whose last requests outlast its window by this much has one stuck, not slow: the
# slowest variant's request takes ~1 s on a quiet 2-core machine (bulk_insert's largest).
HELD_WARNING_S = 10.0


def _arm_round_figures(rounds: Rounds, arms: Arms) -> tuple[list[float], dict[str, list[float]]]:
    """The baseline arm's headline figure in each round so far, and each other arm's: the
    figure its technique is judged on, of the requests it names (pairbench.stats.headline)."""

    def figures(arm: str) -> list[float]:
        return [round_figure(frame, row, arms.headline) for frame, row in rounds.get(arm, [])]

    others = {arm: figures(arm) for arm in arms.variants if arm != arms.baseline}
    return figures(arms.baseline), others


def half_widths(rounds: Rounds, arms: Arms, planning_rounds: int) -> dict[str, float]:
    """Each arm's headline speedup CI half-width (a share of the estimate) so far."""
    base, others = _arm_round_figures(rounds, arms)
    return {
        arm: compare_rounds(base, other, planning_rounds, arms.headline).half_width
        for arm, other in others.items()
    }


def planned_rounds(rounds: Rounds, arms: Arms, profile: Profile) -> int | None:
    """Rounds in all that bring every headline speedup's CI within the target, judged from
    the rounds so far (the planning rounds); None if some speedup has no usable rounds."""
    assert profile.target_half_width is not None
    base, others = _arm_round_figures(rounds, arms)
    needed = profile.min_rounds
    for other in others.values():
        found = rounds_needed_for(base, other, profile.target_half_width, arms.headline)
        if found is None:
            return None
        needed = max(needed, found)
    return needed


def decide_rounds(needed: int | None, affordable: int, profile: Profile) -> tuple[int, str]:
    """Rounds to run in all, and why: the rounds the target needs if the profile's
    maximum and the time (`affordable` rounds) allow, else as many as they do."""
    limit = max(profile.min_rounds, min(profile.max_rounds, affordable))
    if needed is None or needed > limit:
        return limit, STOPPED_BUDGET
    return needed, STOPPED_AT_MINIMUM if needed == profile.min_rounds else STOPPED_TARGET_MET


class PointMeasurer:
    """Runs the segments of points, one point and mode at a time, writing as it goes."""

    def __init__(
        self,
        run_dir: Path,
        apps: SegmentApps,
        generator: LoadGenerator,
        plan: LoadPlan,
        probe: pd.DataFrame,
        log: Log,
        upstream: Upstream | None = None,
    ) -> None:
        self.run_dir, self.apps, self.generator = run_dir, apps, generator
        self.upstream = upstream  # the stub, whose counts each segment reads
        self.plan, self.probe, self.log = plan, probe, log
        self.raw_dir = run_dir / "raw"
        # Per point, its closed-loop frames by variant: they set its open-loop rate.
        self.closed: dict[str, dict[str, list[pd.DataFrame]]] = {}

    def measure_point(
        self, point: Point, mode: str, share_s: float, arms: Arms | None = None
    ) -> PointOutcome:
        """Rounds of `point` in `mode` until the target, the profile's maximum or `share_s`;
        `arms` what each round loads (the technique's variants unless given)."""
        profile = self.plan.profile
        arms = arms or Arms.of(point.technique)
        outcome = PointOutcome(arms.key, point.label, mode)
        # One order per round, from the run's seed and the point: reproducible from the
        # manifest, and different from point to point.
        rng = random.Random(f"{self.plan.order_seed}/{arms.key}/{point.label}/{mode}")
        rate = math.nan
        if mode == results.OPEN:
            rate = self.plan.rate or open_loop_rate(
                self.closed.get(point.label, {}), self.probe, point
            )
        rounds: Rounds = {}
        started = time.monotonic()
        control = arms.key == results.CONTROL_KEY
        planned, adaptive = profile.first_rounds(control), profile.adapts(control)
        while outcome.rounds < planned:
            for arm in round_order(list(arms.variants), rng):
                rounds.setdefault(arm, []).append(
                    self._segment(point, arms, arm, mode, outcome.rounds, rate)
                )
            outcome.rounds += 1
            elapsed = time.monotonic() - started
            if adaptive and outcome.rounds == profile.min_rounds:
                affordable = int(share_s / (elapsed / outcome.rounds))
                needed = planned_rounds(rounds, arms, profile)
                planned, outcome.stopped = decide_rounds(needed, affordable, profile)
                outcome.planning_rounds = profile.min_rounds
            elif (
                adaptive
                and outcome.rounds < planned
                and elapsed * (1 + 1 / outcome.rounds)
                > round_cap_s(outcome.rounds, share_s, profile)
            ):
                outcome.stopped = STOPPED_BUDGET  # the next round would overrun the point's time
                break
            # A profile without a target runs its fixed rounds whatever they take: its CIs
            # are comparable from run to run (the gate's), and the budget only shares time.
        if not adaptive:
            outcome.planning_rounds = outcome.rounds
        outcome.seconds = time.monotonic() - started
        outcome.half_widths = half_widths(rounds, arms, outcome.planning_rounds)
        if mode == results.CLOSED and arms.key == point.technique.key:
            self.closed[point.label] = {
                arm: [frame for frame, _ in found] for arm, found in rounds.items()
            }
        return outcome

    def _segment(
        self, point: Point, arms: Arms, arm: str, mode: str, repetition: int, rate: float
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """One segment of `arm`: its samples and its segment row, both written to the run."""
        profile, technique = self.plan.profile, point.technique
        variant = arms.variants[arm]
        self.raw_dir.mkdir(exist_ok=True)
        raw_path = self.raw_dir / f"{arms.key}.{arm}.{mode}.{repetition}.csv"
        answers_path = raw_path.with_suffix(".answers.jsonl")
        target = technique.target(variant, point.params)
        # The shared app, or (where the figures are memory) a process of the segment's own.
        with self.apps.serving(technique, variant) as app:
            reset(app.client, technique, point.params)
            watch = SegmentWatch.start(app.client, self.upstream, technique)  # stub, lag, jobs
            watcher = watch_app(app.pids)  # memory hook
            if mode == results.OPEN:
                segment = self.generator.open(
                    target,
                    rate,
                    profile.warmup_max_s,
                    profile.round_s,
                    raw_path,
                    app.base_url,
                    answers_path,
                )
            else:
                warmup = (profile.warmup_min_s, profile.warmup_max_s)
                segment = self.generator.closed(
                    technique.key,
                    target,
                    profile.users,
                    warmup,
                    profile.round_s,
                    raw_path,
                    min_requests=profile.min_requests,
                    base_url=app.base_url,
                    answers_path=answers_path,
                    request=load_request(technique, variant, point.params),
                )
                if segment.short_of_minimum:  # figures on too few requests: not silently
                    self.log(f"      {variant}: {segment.short_of_minimum}")
            held = segment.ended - segment.measure_end
            if held > HELD_WARNING_S:  # a request stuck in the app: where to look, not silently
                self.log(
                    f"      {variant}: a request sent in the window held the segment's end "
                    f"for {held:.0f} s (the app's side is in the run's server logs)"
                )
            reading = watcher.stop() if watcher else None  # memory hook
            window = (segment.measure_start, segment.measure_end)
            row = _segment_row(point, arms.key, arm, mode, repetition, rate, segment, profile)
            row.update(segment_memory(reading, window, app.process, app.pid))  # memory hook
            figures, jobs = watch.finish(segment.measure_start, segment.measure_end)
            row.update(figures)
        frame = tidy_samples(raw_path, point, arm, repetition, window, mode, arms.key)
        results.append_rows(self.run_dir / results.SAMPLES, frame)
        results.append_rows(self.run_dir / results.SEGMENTS, pd.DataFrame([row]))
        if jobs:
            keys = {key: row[key] for key in (*results.SEGMENT_KEY, "repetition")}
            frame_of_jobs = pd.DataFrame(jobs, columns=["requested_at", "done_at"]).assign(**keys)
            results.append_rows(self.run_dir / results.JOBS, frame_of_jobs[results.JOB_COLUMNS])
        raw_path.unlink()
        keep_answers(answers_path, self.run_dir / results.ANSWERS, point, variant)
        self.log(
            f"      {arm:<24} {progress_line(frame, segment.measure_end - segment.measure_start)}"
        )
        return frame, row


def keep_answers(segment_path: Path, run_path: Path, point: Point, variant: str) -> None:
    """Append a segment's sampled answers to the run's, each labelled with its variant."""
    if not segment_path.exists():
        return  # a segment that failed before it sampled any
    labels = {"technique": point.technique.key, "variant": variant, "point": point.label}
    with segment_path.open() as lines, run_path.open("a") as kept:
        for line in lines:
            kept.write(json.dumps({**labels, **json.loads(line)}) + "\n")
    segment_path.unlink()


def load_request(
    technique: Technique, variant: str, params: Mapping[str, Any]
) -> dict[str, Any] | None:
    """What a closed-loop user sends beyond a GET of its target, if anything: the method,
    headers and body of the variant's request (a technique with a workload of its own sends
    its own; a pair of `pairbench ab` may be a POST with headers)."""
    if has_own_workload(technique):
        return None
    request = technique.request(variant, params)
    if request.method == "GET" and not request.headers:
        return None
    body = None if request.content is None else request.content.decode()
    return {"method": request.method, "headers": request.headers, "body": body}


def _segment_row(
    point: Point,
    key: str,
    variant: str,
    mode: str,
    repetition: int,
    rate: float,
    segment: SegmentResult,
    profile: Profile,
) -> dict[str, Any]:
    return {
        "technique": key,
        "variant": variant,
        "point": point.label,
        "mode": mode,
        "repetition": repetition,
        "started": segment.started,
        "measure_start": segment.measure_start,
        "measure_end": segment.measure_end,
        "ended": segment.ended,
        "users": profile.users if mode == results.CLOSED else math.nan,
        "rate": rate if mode == results.OPEN else math.nan,
        "generator_cpu_max": segment.generator_cpu_max,
        "load_workers": segment.load_workers,
    }


def load_items(points: list[Point], plan: LoadPlan, log: Log) -> list[tuple[Point, str]]:
    """(point, mode) of every loaded point, in measuring order."""
    items = []
    for point in points:
        if not point.loaded:
            continue
        for mode in plan.modes:
            if mode == results.OPEN and has_own_workload(point.technique):
                log(
                    f"{point.technique.key} {point.label}: open loop skipped: its workload is "
                    f"its own Locust user ({point.technique.scenario}), which only runs "
                    "closed-loop"
                )
                continue
            items.append((point, mode))
    return items


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def measure(
    points: list[Point],
    plan: LoadPlan,
    *,
    run_dir: Path,
    base_url: str,
    probe: pd.DataFrame,
    generator: LoadGenerator,
    log: Log,
    on_point: Callable[[PointOutcome], None] = lambda outcome: None,
    app: AppServer | None = None,
    upstream: Upstream | None = None,
    apps: SegmentApps | None = None,
    control: tuple[Point, Arms] | None = None,
) -> list[PointOutcome]:
    """Measure every loaded point of `points` in every mode of `plan`, writing into
    `run_dir`; the outcomes say how each one stopped (each also handed to `on_point` as
    soon as its point is done).

    `base_url` is the app's, `probe` the uncontended probe's table (a point's open-loop
    rate falls back on it), `generator` sends the load and `upstream` is the stub, whose
    calls each segment counts. Segments of techniques whose figures are memory get app
    processes of their own (pairbench.load.segment_apps), unless `apps` says who serves
    each segment: `app`, the shared app at `base_url`, is watched and never restarted.
    `control` (pairbench.load.control), measured first in closed loop, is the A/A pair
    whose CI is the run's noise floor."""
    items: list[tuple[Point, str, Arms | None]] = [
        (point, mode, None) for point, mode in load_items(points, plan, log)
    ]
    if control is not None:
        items.insert(0, (control[0], results.CLOSED, control[1]))
    budget = LoadBudget(plan.profile.load_budget_s, len(items), plan.profile.point_max_s)
    # Where each technique's last item is: its soak processes are stopped after it.
    last_items = {point.technique.key: number for number, (point, _, _) in enumerate(items, 1)}
    outcomes: list[PointOutcome] = []
    started = time.monotonic()
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        if apps is None:
            apps = SegmentApps(base_url, client, app, log, plan.profile.own_processes)
        measurer = PointMeasurer(run_dir, apps, generator, plan, probe, log, upstream)
        try:
            for number, (point, mode, arms) in enumerate(items, start=1):
                elapsed = time.monotonic() - started
                eta = min(budget.left, budget.item_max_s * budget.items_left)
                if outcomes:  # the pace so far, bounded by what the budget allows
                    eta = min(eta, elapsed / len(outcomes) * budget.items_left)
                key = point.technique.key if arms is None else f"{arms.key} (A/A control)"
                log(
                    f"[{number}/{len(items)}] {key} {point.label} {mode} loop "
                    f"(elapsed {_duration(elapsed)}, ETA {_duration(eta)}) ..."
                )
                outcome = measurer.measure_point(point, mode, budget.share(), arms)
                if arms is None and last_items[point.technique.key] == number:
                    apps.stop_soaks(point.technique.key)
                budget.spend(outcome.seconds)
                outcomes.append(outcome)
                on_point(outcome)
                log(f"    {outcome.describe()}")
        finally:
            apps.close()  # the soak processes
    if measurer.raw_dir.exists():
        measurer.raw_dir.rmdir()
    return outcomes
