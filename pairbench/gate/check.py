"""The regression gate: compare a run against a committed baseline of what is stable.

Absolute times mean little on shared CI runners, so the gate compares what holds
across machines: deterministic costs per request (queries, round trips, bytes) and
speedup ratios measured within one run. It fails (exit 1) when:
  (a) a deterministic cost rose beyond the metric's tolerance;
  (b) a technique's headline speedup (its own figure, of the requests it names: p50 of
      its own requests, readers' p99, bystanders' p50, memory growth, peak memory,
      bytes) fell significantly: the current CI's upper bound is below the baseline's
      CI lower bound times (1 - tolerance);
  (c) an optimized variant that beat its baseline variant no longer does.
A variant the baseline does not cover (a new technique, variant or point) is not
gated; the gate names each one, so nothing new passes unchecked in silence, and
`pairbench check --strict` fails on them.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench_app.headline import GROWTH_FIGURES
from pairbench import results
from pairbench.results import as_float
from pairbench.stats.cost_spread import RULE as COST_SPREAD_RULE
from pairbench.stats.cost_spread import cost_spreads
from pairbench.stats.tolerance import (
    MAX_SPEEDUP_TOLERANCE,
    MIN_SPEEDUP_TOLERANCE,
    floor_of,
    noise_tolerances,
)
from pairbench.stats.typical_run import typical_runs, typical_summary

# 2: entries carry their headline (figure, speedup, CI); version 1 files, gated on p50,
# are still read. 3: a growth headline's "speedup" is what the variant saves (baseline -
# variant, bench_app.headline.GROWTH_FIGURES); a version 2 file's growth headlines are
# ratios, which no run now computes, so those entries are gated on p50.
BASELINE_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
DIFFERENCE_HEADLINES_SINCE = 3
DEFAULT_SPEEDUP_TOLERANCE = 0.25
# (relative, absolute) slack per deterministic cost. Counts that depend on timing (an
# in-process cache refilling from Redis, a pool opening a spare connection) get more room.
COST_TOLERANCES: dict[str, tuple[float, float]] = {
    "queries_per_request": (0.02, 0.05),
    "rows_per_request": (0.02, 0.5),
    "connections_per_request": (0.10, 0.05),
    "redis_commands_per_request": (0.05, 0.1),
    "redis_round_trips_per_request": (0.05, 0.1),
    # KEYS: 1 or 0 a request, by the variant's code (invalidation's keys_del).
    "redis_blocking_scans_per_request": (0.02, 0.05),
    "upstream_calls_per_request": (0.05, 0.05),
    # A call cut off at its deadline closes its connection; how many get replaced depends on
    # how the stalls overlap (upstream_timeouts: 0.02-0.05 a request).
    "upstream_connections_per_request": (0.10, 0.05),
    # Stalls waited out: upstream_timeouts' naive variant meets one in the 20 items its
    # workload walks, a variant that bounds its calls none; the room stays below one in 20.
    "upstream_slow_calls_per_request": (0.10, 0.01),
    # Tasks a request starts: fixed by the code (a middleware's task group, a gather, the
    # client's own tasks), a pool opening a connection now and then adds some.
    "tasks_started_per_request": (0.05, 0.1),
    "bytes_per_request": (0.02, 16.0),
    "listeners_kept_per_request": (0.02, 0.05),
    "job_records_kept_per_request": (0.02, 0.05),
    "memo_entries_kept_per_request": (0.02, 0.05),
}
DEFAULT_COST_TOLERANCE = (0.02, 0.05)  # a cost not listed above
KEY_COLUMNS = ["technique", "variant", "point"]
# The summary columns the gate cannot do without (a summary lacking one is a ResultsError).
GATED_COLUMNS = [
    *KEY_COLUMNS,
    "baseline",
    "equivalent",
    "verdict",
    "speedup_p50",
    "speedup_ci_low",
    "speedup_ci_high",
]
# A summary row is one variant at one point in one load mode: closed and open loop give
# different figures, so a baseline's entry is matched in its own mode (closed when a
# baseline or summary predates modes).
Key = tuple[str, str, str, str]


def row_key(row: Mapping[Any, Any]) -> Key:
    """(technique, variant, point, mode) of a summary row or baseline entry."""
    mode = row.get("mode")
    if not isinstance(mode, str) or not mode:
        mode = results.CLOSED
    return (str(row["technique"]), str(row["variant"]), str(row["point"]), mode)


def _where(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    """(technique, point, mode): where a variant and its baseline variant are compared."""
    technique, _, point, mode = row_key(entry)
    return technique, point, mode


@dataclass(frozen=True)
class NotGated:
    """A variant of the run that the baseline has no entry for, so nothing checks it."""

    technique: str
    variant: str
    point: str
    mode: str = results.CLOSED

    def describe(self) -> str:
        mode = "" if self.mode == results.CLOSED else f" ({self.mode} loop)"
        return (
            f"not gated: {self.technique}/{self.variant} at {self.point}{mode}: the baseline "
            "does not cover it (make a new baseline with `pairbench baseline RUN_DIR`)"
        )


class BaselineError(Exception):
    """A baseline or run the gate cannot use; the message names the file and the fix."""


@dataclass(frozen=True)
class Finding:
    """One comparison of a metric of one technique variant against the baseline."""

    technique: str
    variant: str
    point: str
    metric: str
    baseline: float
    current: float
    limit: float
    regressed: bool
    rule: str

    def describe(self) -> str:
        verdict = "REGRESSION" if self.regressed else "ok"
        where = f"{self.technique}/{self.variant} at {self.point}"
        return (
            f"{verdict}: {where}: {self.metric} baseline {self.baseline:.4g}, "
            f"current {self.current:.4g}, limit {self.limit:.4g} ({self.rule})"
        )


def headline_entry(row: Mapping[Any, Any]) -> dict[str, Any] | None:
    """A summary row's headline as a baseline records it (None where the row has none)."""
    speedup = as_float(row.get("headline_speedup"))
    if math.isnan(speedup):
        return None
    return {
        "figure": str(row.get("headline_figure")),
        "kind": str(row.get("headline_kind")),
        "label": str(row.get("headline")),
        "value": as_float(row.get("headline_value")),
        "speedup": speedup,
        "ci_low": as_float(row.get("headline_ci_low")),
        "ci_high": as_float(row.get("headline_ci_high")),
        "verdict": str(row.get("headline_verdict")),
    }


def measured_cost_tolerances(run_dir: Path) -> dict[str, dict[str, list[float]]]:
    """ "technique/variant" -> {cost: [relative, absolute]} for each cost that moved from
    round to round of the run (pairbench.stats.cost_spread): its default slack, plus its
    spread. A cost that never moved keeps the default, held as exact as ever."""
    samples = results.read_run(run_dir).samples
    summary_column = {name: name.removesuffix("_per_request") for name in COST_TOLERANCES}
    summary_column["bytes_per_request"] = "bytes"
    found: dict[str, dict[str, list[float]]] = {}
    for (technique, variant), spreads in cost_spreads(samples, summary_column).items():
        if technique == results.CONTROL_KEY:
            continue  # never gated
        widened = {}
        for metric, spread in spreads.items():
            relative, absolute = COST_TOLERANCES.get(metric, DEFAULT_COST_TOLERANCE)
            widened[metric] = [relative, round(absolute + spread, 4)]
        found[f"{technique}/{variant}"] = widened
    return found


def widest_cost_tolerances(run_dirs: Sequence[Path]) -> dict[str, dict[str, list[float]]]:
    """measured_cost_tolerances over runs of the same code: per variant and cost, the
    widest room any of them measured."""
    widest: dict[str, dict[str, list[float]]] = {}
    for run_dir in run_dirs:
        for variant, tolerances in measured_cost_tolerances(run_dir).items():
            kept = widest.setdefault(variant, {})
            for metric, (relative, absolute) in tolerances.items():
                if metric not in kept or absolute > kept[metric][1]:
                    kept[metric] = [relative, absolute]
    return widest


def make_baseline(
    run_dir: Path, summary: pd.DataFrame, reruns: Sequence[tuple[Path, pd.DataFrame]] = ()
) -> dict[str, Any]:
    """The baseline document of a run: speedups with CIs and deterministic costs per variant,
    each technique's speedup tolerance from the noise the run measured (its A/A floor and
    the technique's own spread), and each cost that moved from round to round its room from
    that spread (measured_cost_tolerances).

    Given `reruns` of the same code (their directories and summaries), each technique's
    entries come from its typical run among them all (pairbench.stats.typical_run), its
    tolerance also covers how far its speedups moved between them
    (pairbench.stats.tolerance), and each cost's room is the widest any of them measured."""
    manifest = results.read_manifest(run_dir)
    runs = [(run_dir, summary), *reruns]
    summaries = [run_summary for _, run_summary in runs]
    chosen = typical_runs(summaries) if reruns else {}
    summary = typical_summary(summaries, chosen) if reruns else summary
    noise = noise_tolerances(summary, summaries)
    noise_entry = {**noise.manifest_entry(), "cost_rule": f"default slack + {COST_SPREAD_RULE}"}
    if chosen:
        run_ids = [results.read_manifest(directory).run_id for directory, _ in runs]
        noise_entry["typical_runs"] = {key: run_ids[index] for key, index in chosen.items()}
    entries = []
    for row in summary.to_dict("records"):
        costs = {name: as_float(row.get(name)) for name in COST_TOLERANCES}
        entries.append(
            {
                **{column: str(row[column]) for column in KEY_COLUMNS},
                "mode": row_key(row)[3],
                "is_baseline": bool(row["baseline"]),
                "equivalent": bool(row["equivalent"]),
                "speedup_p50": as_float(row["speedup_p50"]),
                "speedup_ci_low": as_float(row["speedup_ci_low"]),
                "speedup_ci_high": as_float(row["speedup_ci_high"]),
                "verdict": str(row["verdict"]),
                "headline": headline_entry(row),
                "costs": {name: value for name, value in costs.items() if not math.isnan(value)},
            }
        )
    return {
        "version": BASELINE_VERSION,
        "run_id": manifest.run_id,
        "profile": manifest.profile,
        "git_commit": manifest.git_commit,
        "environment": manifest.environment,
        "speedup_tolerances": noise.tolerances,
        "noise": noise_entry,
        "cost_tolerances": widest_cost_tolerances([directory for directory, _ in runs]),
        "entries": entries,
    }


def read_baseline(path: Path) -> dict[str, Any]:
    """A baseline file, checked for shape; a missing or malformed one is a BaselineError."""
    if not path.is_file():
        raise BaselineError(f"{path} does not exist: make one with `pairbench baseline RUN_DIR`")
    try:
        document = results.read_json(path)
    except results.ResultsError as error:
        raise BaselineError(f"{error}; make a new one with `pairbench baseline RUN_DIR`") from None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list) or document.get("version") not in READABLE_VERSIONS:
        raise BaselineError(
            f"{path} is not a pairbench baseline (version {BASELINE_VERSION} with entries); "
            "make a new one with `pairbench baseline RUN_DIR`."
        )
    required = {*KEY_COLUMNS, "is_baseline", "speedup_p50", "verdict", "costs"}
    for index, entry in enumerate(entries):
        missing = required - set(entry) if isinstance(entry, dict) else required
        if missing:
            raise BaselineError(f"{path}: entry {index} lacks {', '.join(sorted(missing))}")
    checked: dict[str, Any] = document
    return checked


def _cost_findings(
    entry: Mapping[str, Any], row: Mapping[str, Any], overrides: Mapping[str, Any]
) -> list[Finding]:
    findings = []
    for metric, was in entry["costs"].items():
        relative, absolute = overrides.get(
            metric, COST_TOLERANCES.get(metric, DEFAULT_COST_TOLERANCE)
        )
        now = as_float(row.get(metric))
        limit = was * (1 + relative) + absolute
        findings.append(
            Finding(
                entry["technique"],
                entry["variant"],
                entry["point"],
                metric,
                was,
                now,
                limit,
                regressed=math.isnan(now) or now > limit,
                rule=f"cost may rise at most {relative:.0%} + {absolute:g}",
            )
        )
    return findings


def saves_a_cost(entry: Mapping[str, Any], baseline_entry: Mapping[str, Any] | None) -> bool:
    """Whether a variant, in the baseline, spends clearly less of some deterministic cost
    than its baseline variant (n_plus_one's selectin: 2 queries, not 51). Its optimization
    undone, that cost rises, and the cost rules catch it, whatever the timing does."""
    if baseline_entry is None:
        return False
    for metric, value in entry["costs"].items():
        theirs = baseline_entry["costs"].get(metric)
        relative, absolute = COST_TOLERANCES.get(metric, DEFAULT_COST_TOLERANCE)
        if theirs is not None and theirs - value > theirs * relative + absolute:
            return True
    return False


@dataclass(frozen=True)
class Judged:
    """The speedup a baseline entry is gated on and the run's same figure: its headline
    where both have one, else (a version 1 baseline) p50."""

    name: str  # "speedup_p50", or "headline speedup (read p99)"
    was: float
    was_low: float
    verdict: str  # the baseline's verdict on it
    now: float
    now_high: float
    even: float = 1.0  # the figure when a variant does no better than its baseline: 1 for a
    # ratio, 0 for a saving (a growth headline)


def judged(
    entry: Mapping[str, Any], row: Mapping[str, Any], version: int = BASELINE_VERSION
) -> Judged:
    headline = entry.get("headline")
    if isinstance(headline, Mapping) and not math.isnan(as_float(row.get("headline_speedup"))):
        figure = headline.get("figure")
        saving = figure in GROWTH_FIGURES
        if not (saving and version < DIFFERENCE_HEADLINES_SINCE):
            plain_p50 = figure == "p50_ms" and headline.get("kind") == "target"
            return Judged(
                "speedup_p50"
                if plain_p50  # the summary's own column: the name the gate always gave it
                else f"headline {'saving' if saving else 'speedup'} "
                f"({headline.get('label', figure)})",
                as_float(headline.get("speedup")),
                as_float(headline.get("ci_low")),
                str(headline.get("verdict")),
                as_float(row.get("headline_speedup")),
                as_float(row.get("headline_ci_high")),
                even=0.0 if saving else 1.0,
            )
    was = as_float(entry["speedup_p50"])
    return Judged(
        "speedup_p50",
        was,
        as_float(entry.get("speedup_ci_low", was)),
        str(entry["verdict"]),
        as_float(row.get("speedup_p50")),
        as_float(row.get("speedup_ci_high")),
    )


def _speedup_findings(
    entry: Mapping[str, Any],
    row: Mapping[str, Any],
    tolerance: float,
    saves_cost: bool,
    version: int = BASELINE_VERSION,
) -> list[Finding]:
    """A significant fall of the headline speedup; and, for a variant whose win shows in
    time alone (`saves_cost` False), its point estimate no longer above 1. A small win
    (1.1x) lands at or below 1 in some runs by chance: only where no cost guards it is
    that risk worth it."""
    figure = judged(entry, row, version)
    if entry["is_baseline"] or figure.verdict != "faster":
        return []  # only what was a significant win can regress
    was, now, now_high = figure.was, figure.now, figure.now_high
    where = (entry["technique"], entry["variant"], entry["point"])
    # Both runs are samples: a fall counts only when the current CI's upper bound is below
    # the baseline CI's lower bound, less the tolerance. Against the baseline's point
    # estimate alone, one noisy baseline run would make every later run look slower.
    was_low = figure.was_low
    limit = (was if math.isnan(was_low) else min(was, was_low)) * (1 - tolerance)
    fall = Finding(
        *where,
        f"{figure.name} (CI upper bound)",
        was,
        now_high,
        limit,
        regressed=math.isnan(now_high) or now_high < limit,
        rule=f"CI upper bound may not fall below the baseline CI's low - {tolerance:.0%}",
    )
    if saves_cost:
        return [fall]
    beats = Finding(
        *where,
        f"{figure.name} (beats its baseline variant)",
        was,
        now,
        figure.even,
        regressed=math.isnan(now) or now <= figure.even,
        rule="an optimized variant that won on time alone must still be faster than its baseline",
    )
    return [fall, beats]


@dataclass(frozen=True)
class NoiseWidening:
    """The run's noise floor against its baseline's: where the run's is wider, every
    recorded speedup tolerance (floor + the technique's own noise) grows by the difference,
    since a run that noisy cannot tell a smaller fall from its noise."""

    was: float  # the baseline run's A/A half-width (NaN: unknown)
    now: float  # this run's

    @property
    def points(self) -> float:
        if math.isnan(self.was) or math.isnan(self.now):
            return 0.0
        return round(max(self.now - self.was, 0.0), 4)  # to a hundredth of a point

    def describe(self) -> str:
        return (
            f"this run's noise floor (its A/A control) is +/-{self.now:.1%}, wider than the "
            f"baseline's +/-{self.was:.1%}: every speedup tolerance is {self.points:.1%} wider, "
            "as a fall within this run's noise cannot be told from it (costs are held as "
            "ever); a quieter machine, or a rerun, sees smaller falls"
        )


def widened(tolerance: float, points: float) -> float:
    """`tolerance` wider by `points`, not past MAX_SPEEDUP_TOLERANCE (unless already)."""
    return max(tolerance, min(tolerance + points, MAX_SPEEDUP_TOLERANCE))


def noise_widening(baseline: Mapping[str, Any], summary: pd.DataFrame) -> NoiseWidening:
    noise = baseline.get("noise")
    was = as_float(noise.get("floor_half_width")) if isinstance(noise, Mapping) else math.nan
    return NoiseWidening(was, floor_of(summary))


def compare(
    baseline: Mapping[str, Any],
    summary: pd.DataFrame,
    tolerances: Mapping[str, float] | None = None,
) -> list[Finding]:
    """Every finding of the current summary against the baseline (BaselineError on mismatch).

    Speedup tolerances per technique ("*" for all others) come from the baseline's
    "speedup_tolerances", never below MIN_SPEEDUP_TOLERANCE (what a speedup moves from one
    job to the next on the machine, which no single run measures: pairbench.stats.tolerance),
    wider by as much as the run's noise floor is wider than the baseline's (NoiseWidening),
    within MAX_SPEEDUP_TOLERANCE, overridden by `tolerances` (the command line), which hold
    as given; its
    "cost_tolerances" ({technique or "technique/variant": {metric: [relative, absolute]}},
    a variant's over its technique's) widen a cost that depends on timing beyond what
    the defaults allow (e.g. a workload whose costs vary from request to request).
    """
    widening = noise_widening(baseline, summary).points
    recorded = {
        str(key): widened(max(float(value), MIN_SPEEDUP_TOLERANCE), widening)
        for key, value in baseline.get("speedup_tolerances", {}).items()
    }
    tolerances = {**recorded, **(tolerances or {})}
    default_tolerance = tolerances.get("*", DEFAULT_SPEEDUP_TOLERANCE)
    cost_overrides = baseline.get("cost_tolerances", {})
    records = [
        {str(key): value for key, value in row.items()} for row in summary.to_dict("records")
    ]
    rows = {row_key(row): row for row in records}
    expected = {row_key(entry) for entry in baseline["entries"]}
    missing = sorted(expected - set(rows))
    if missing:
        names = ", ".join("/".join(key[:3]) + f" ({key[3]} loop)" for key in missing[:5])
        raise BaselineError(
            f"the run lacks {len(missing)} baseline variant(s) ({names}); run the same "
            "techniques as the baseline, or make a new baseline with `pairbench baseline`."
        )
    baseline_variants = {
        _where(entry): entry for entry in baseline["entries"] if entry["is_baseline"]
    }
    version = int(baseline.get("version", BASELINE_VERSION))
    findings = []
    for entry in baseline["entries"]:
        if entry["technique"] == results.CONTROL_KEY:
            # The A/A control is the run's noise floor: a "win" there is chance alone, and
            # its costs are its variant's, gated with its technique; measured first in a
            # run, it also meets the app's pool as it fills (connections per request).
            continue
        row = rows[row_key(entry)]
        saves_cost = saves_a_cost(entry, baseline_variants.get(_where(entry)))
        tolerance = tolerances.get(entry["technique"], default_tolerance)
        variant = f"{entry['technique']}/{entry['variant']}"
        overrides = {
            **cost_overrides.get(entry["technique"], {}),
            **cost_overrides.get(variant, {}),
        }
        findings += _cost_findings(entry, row, overrides)
        findings += _speedup_findings(entry, row, tolerance, saves_cost, version)
    return findings


def not_gated(baseline: Mapping[str, Any], summary: pd.DataFrame) -> list[NotGated]:
    """The run's variants (technique, variant, point, mode) that no baseline entry covers:
    an open-loop row is not gated by a baseline of closed-loop ones."""
    covered = {row_key(entry) for entry in baseline["entries"]}
    found = (row_key(row) for row in summary.to_dict("records"))
    # The A/A control is the run's noise floor, not a technique: nothing to gate there.
    return [
        NotGated(*key)
        for key in dict.fromkeys(found)
        if key not in covered and key[0] != results.CONTROL_KEY
    ]
