"""The stats stage: a run's raw files in, its tables out; what the report and the gate read.

`write_tables(run_dir)` computes every table from the measuring stages' files (samples,
segments, equivalence, probe, micro.json, the manifest's plan) and writes them into
the run directory, then stats.json to say they are complete. The runner calls it when
measuring ends (`pairbench run` also for a run interrupted or failed part way);
`pairbench stats RUN_DIR` calls it again. `read_tables(run_dir)` and `read_summary` only
read: tables the stage never finished, or wrote in an older version, are a ResultsError
that says to rebuild them, so the report and the gate never rerun the statistics.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.manifest import Manifest
from pairbench.slo import slos_of_run
from pairbench.stats.bandwidth import BANDWIDTH_COLUMNS, bandwidth_table
from pairbench.stats.ceiling import ceiling_findings, ceiling_rps, ceiling_shares
from pairbench.stats.curves import CURVE_COLUMNS, latency_curves
from pairbench.stats.drift import drift_findings
from pairbench.stats.growth import (
    GROWTH_COLUMNS,
    GROWTH_POINT_COLUMNS,
    REQUIRED_GROWTH_COLUMNS,
    growth_table,
    point_costs,
)
from pairbench.stats.headline import (
    HEADLINE_COLUMNS,
    headline_table,
    headlines_of,
    with_headlines,
)
from pairbench.stats.micro import MICRO_COLUMNS, read_micro, summarize_micro
from pairbench.stats.overhead import OVERHEAD_SUMMARY_COLUMNS, read_overhead, summarize_overhead
from pairbench.stats.probe_summary import PROBE_SUMMARY_COLUMNS, probe_failures, summarize_probe
from pairbench.stats.queue_depth import QUEUE_DEPTH_COLUMNS, queue_depth
from pairbench.stats.requests import own
from pairbench.stats.stability import budget_findings, stability_findings
from pairbench.stats.summary import (
    REQUIRED_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
    stopping_of,
    summarize,
)
from pairbench.stats.timeline import TIMELINE_COLUMNS, latency_timeline

# Raise when a table's columns or meaning change: older runs' tables are then recomputed.
# 10: growth by series (a sweep from a named start), knees of a setting's sweep;
# 9: headline_* (each technique's own figure and its speedup);
# 8: app_process, SLO status by the run's SLOs; 7: ceiling_share; 6: queue_depth.csv;
# 5: request kinds, segment figures; 4: overhead_summary.csv; 3: bandwidth.csv;
# 2: speedups from rounds, CI half-widths, stops
STATS_VERSION = 10
WARNING_COLUMNS = ["technique", "message"]


@dataclass(frozen=True)
class Tables:
    """A run's statistics, one table per file of the stats stage."""

    summary: pd.DataFrame  # summary.csv: technique x point x mode x variant (its own requests)
    growth: pd.DataFrame  # growth.csv: one sweep fit per technique x parameter x variant
    growth_points: pd.DataFrame  # growth_points.csv: the (work, cost) points fitted
    micro: pd.DataFrame  # micro_summary.csv: the microbenchmarks
    probe: pd.DataFrame  # probe_summary.csv: medians of the uncontended probe
    latency_curves: pd.DataFrame  # latency_curves.csv.gz: latency at 200 percentiles
    timeline: pd.DataFrame  # timeline.csv: p50 and p99 per time bin
    warnings: pd.DataFrame  # warnings.csv: what weakens a figure, per technique
    bandwidth: pd.DataFrame  # bandwidth.csv: where content encoding pays, by link speed
    overhead: pd.DataFrame  # overhead_summary.csv: what the meter and /metrics cost
    request_kinds: pd.DataFrame  # request_kinds.csv: summary rows of mixed workloads' others
    queue_depth: pd.DataFrame  # queue_depth.csv: jobs in progress over the measured segments


# Tables field -> (file, columns, columns a file must have to be read)
FILES: dict[str, tuple[str, list[str], list[str]]] = {
    "summary": (results.SUMMARY, [*SUMMARY_COLUMNS, *HEADLINE_COLUMNS], REQUIRED_SUMMARY_COLUMNS),
    "growth": (results.GROWTH, GROWTH_COLUMNS, REQUIRED_GROWTH_COLUMNS),
    "growth_points": (results.GROWTH_POINTS, GROWTH_POINT_COLUMNS, GROWTH_POINT_COLUMNS),
    "micro": (results.MICRO_SUMMARY, MICRO_COLUMNS, MICRO_COLUMNS[:3]),
    "probe": (results.PROBE_SUMMARY, PROBE_SUMMARY_COLUMNS, PROBE_SUMMARY_COLUMNS),
    "latency_curves": (results.LATENCY_CURVES, CURVE_COLUMNS, CURVE_COLUMNS),
    "timeline": (results.TIMELINE, TIMELINE_COLUMNS, TIMELINE_COLUMNS[:5]),
    "warnings": (results.WARNINGS, WARNING_COLUMNS, WARNING_COLUMNS),
    "bandwidth": (results.BANDWIDTH, BANDWIDTH_COLUMNS, BANDWIDTH_COLUMNS[:3]),
    "overhead": (results.OVERHEAD_SUMMARY, OVERHEAD_SUMMARY_COLUMNS, OVERHEAD_SUMMARY_COLUMNS[:3]),
    "request_kinds": (results.REQUEST_KINDS, SUMMARY_COLUMNS, REQUIRED_SUMMARY_COLUMNS),
    "queue_depth": (results.QUEUE_DEPTH, QUEUE_DEPTH_COLUMNS, QUEUE_DEPTH_COLUMNS),
}
assert sorted(name for name, _, _ in FILES.values()) == sorted(results.STATS_TABLES)


def baselines_of(run: results.Run) -> dict[str, str]:
    """Each technique's baseline variant: as the manifest recorded it, else the registry's,
    else (a technique since removed) the first variant in the samples."""
    found = {key: technique.baseline for key, technique in all_techniques().items()}
    found.update(run.manifest.baselines)
    for technique, variants in run.samples.groupby("technique", sort=False)["variant"]:
        found.setdefault(str(technique), str(variants.iloc[0]))
    return found


def technique_order(manifest: Manifest, summary: pd.DataFrame) -> list[str]:
    """The run's techniques: as planned, then any other the samples hold."""
    planned = [str(key) for key in manifest.techniques]
    measured = [str(key) for key in dict.fromkeys(summary["technique"])]
    return planned + [key for key in measured if key not in planned]


def _growth(
    run: results.Run, summary: pd.DataFrame, probe: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """growth.csv and growth_points.csv: every swept technique's fits and fitted points."""
    fits, points = [], []
    for key in technique_order(run.manifest, summary):
        costs, source = point_costs(probe, summary, key)
        variants = list(dict.fromkeys(summary.loc[summary["technique"] == key, "variant"]))
        variants = variants or list(dict.fromkeys(variant for variant, _ in costs))
        found = growth_table(key, run.manifest.planned_points(key), variants, costs, source)
        fits.append(found.fits)
        points.append(found.points)
    return (
        pd.concat(fits, ignore_index=True) if fits else pd.DataFrame(columns=GROWTH_COLUMNS),
        pd.concat(points, ignore_index=True)
        if points
        else pd.DataFrame(columns=GROWTH_POINT_COLUMNS),
    )


def compute_tables(run: results.Run) -> Tables:
    """Every table of the stats stage, from a run read with its samples."""
    baselines = baselines_of(run)
    stopping = stopping_of(run.manifest)
    every_kind = summarize(
        run.samples,
        run.segments,
        run.equivalence,
        baselines,
        stopping=stopping,
        slos=slos_of_run(run.manifest),
    )
    # Each closed-loop row's segment throughput as a share of the generator's ceiling.
    ceiling = ceiling_rps(run.manifest)
    every_kind["ceiling_share"] = ceiling_shares(every_kind, ceiling)
    # The variants' own requests are what every other table is about; a mixed workload's
    # other requests (bystanders) get their summary rows, in request_kinds.csv.
    summary = own(every_kind)
    request_kinds = every_kind.drop(summary.index)
    # Each variant's headline (its technique's own figure, of the requests it names).
    segments = results.with_columns(run.segments, results.SEGMENT_COLUMNS)
    every_sample = results.with_columns(run.samples, results.SAMPLE_COLUMNS)
    headlines = headlines_of(run.manifest)
    judged = headline_table(every_sample, segments, every_kind, headlines, baselines, stopping)
    summary = with_headlines(summary, judged)
    samples = own(run.samples)
    probe = summarize_probe(run.probe)
    growth, growth_points = _growth(run, summary, probe)
    findings = stability_findings(samples, run.segments) + budget_findings(summary)
    findings += ceiling_findings(summary, ceiling)
    findings += drift_findings(every_sample, segments, headlines)
    findings += probe_failures(run.probe)
    return Tables(
        summary=summary,
        growth=growth,
        growth_points=growth_points,
        micro=summarize_micro(read_micro(run.directory), baselines),
        probe=probe,
        latency_curves=latency_curves(samples),
        timeline=latency_timeline(samples),
        warnings=pd.DataFrame(findings, columns=WARNING_COLUMNS),
        bandwidth=bandwidth_table(run.probe, summary, baselines),
        overhead=summarize_overhead(read_overhead(run.directory)),
        request_kinds=request_kinds,
        queue_depth=queue_depth(run.jobs, run.segments),
    )


def write_tables(run_dir: Path) -> Tables:
    """Compute a run's tables from its raw files and write them (then stats.json) into it.

    A missing or malformed run directory or file is a results.ResultsError naming it.
    """
    tables = compute_tables(results.read_run(run_dir))
    for field in fields(Tables):
        name, columns, _ = FILES[field.name]
        frame: pd.DataFrame = getattr(tables, field.name)
        frame.reindex(columns=columns).to_csv(run_dir / name, index=False)
    done = {"version": STATS_VERSION, "computed_at": results.now_iso()}
    results.write_json(run_dir / results.STATS_DONE, {**done, "tables": list(results.STATS_TABLES)})
    return tables


def tables_are_current(run_dir: Path) -> bool:
    """Whether the stats stage finished on this run with this version of its tables."""
    path = run_dir / results.STATS_DONE
    if not path.exists():
        return False
    done = results.read_json(path)
    return isinstance(done, dict) and done.get("version") == STATS_VERSION


def require_current_tables(run_dir: Path) -> None:
    """Refuse (ResultsError) a run whose stats tables are missing or stale, saying how to
    rebuild them; a directory holding only a summary and no samples (what CI keeps as
    artifacts) is read as it is, since there is nothing to rebuild it from."""
    results.read_manifest(run_dir)
    if tables_are_current(run_dir):
        return
    only_summary = (run_dir / results.SUMMARY).exists() and not (run_dir / results.SAMPLES).exists()
    if only_summary:
        return
    path = run_dir / results.STATS_DONE
    done = results.read_json(path) if path.exists() else None
    found = done.get("version") if isinstance(done, dict) else None
    why = (
        "the stats stage never finished on it"
        if found is None
        else f"its tables are version {found}, this pairbench reads version {STATS_VERSION}"
    )
    raise results.ResultsError(
        f"{run_dir}: {why}: rebuild its tables with `pairbench stats {run_dir}`"
    )


def _read(run_dir: Path, field: str) -> pd.DataFrame:
    name, columns, required = FILES[field]
    return results.read_run_table(run_dir / name, columns, required)


def read_tables(run_dir: Path) -> Tables:
    """A run's tables as the stats stage wrote them (ResultsError if missing or stale)."""
    require_current_tables(run_dir)
    return Tables(**{field.name: _read(run_dir, field.name) for field in fields(Tables)})


def read_summary(run_dir: Path, required: Sequence[str] = REQUIRED_SUMMARY_COLUMNS) -> pd.DataFrame:
    """A run's summary.csv as the stats stage wrote it (ResultsError if missing or stale).

    `required` are the columns a reader cannot do without (ResultsError if absent).
    """
    require_current_tables(run_dir)
    name, columns, _ = FILES["summary"]
    return results.read_run_table(run_dir / name, columns, list(required))
