"""The HTML report: one self-contained page per run, rebuilt from the run directory alone."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from bench_app.techniques import all_techniques
from pairbench import charts, results, stats

REPORT_FILE = "index.html"
TEMPLATE = "report.html.j2"
SLO_P95_MS = 200.0  # the seed's SLOs: p95 under 200 ms, error rate under 1%
SLO_ERROR_RATE = 0.01
SLO_CACHE_HIT_RATE = 0.80  # and its cache target: more than 80% of cache lookups hit
SAMPLE_COLUMNS = [
    "technique", "variant", "point", "repetition", "phase", "t_start", "latency_ms", "status",
    "bytes", "queries", "db_ms", "redis_commands", "upstream_calls", "app_ms", "error",
]  # fmt: skip
SEGMENT_COLUMNS = [
    "technique", "variant", "point", "repetition", "started", "ended", "users",
    "generator_cpu_max",
]  # fmt: skip
PROBE_COLUMNS = ["technique", "variant", "point", "latency_ms", "db_ms", "app_ms"]
TEXT_COLUMNS = ["technique", "variant", "point", "phase", "error", "verdict"]


@dataclass(frozen=True)
class Run:
    """Everything a run directory holds, as read from its files."""

    directory: Path
    manifest: dict[str, Any]
    samples: pd.DataFrame
    segments: pd.DataFrame
    equivalence: dict[str, dict[str, dict[str, Any]]]
    probe: pd.DataFrame  # one request at a time per variant, before the load (may be empty)


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """A run's CSV table, text columns as text ("" not NaN); empty if the file is absent."""
    if not path.exists():
        return pd.DataFrame(columns=columns)
    text_types = {column: str for column in TEXT_COLUMNS}
    try:
        table = pd.read_csv(path, dtype=text_types)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, OSError) as error:
        raise results.ResultsError(f"{path} cannot be read as CSV ({error})") from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise results.ResultsError(f"{path} lacks the columns {', '.join(missing)}")
    for column in TEXT_COLUMNS:
        if column in table:
            table[column] = table[column].fillna("")
    return table


def read_run(run_dir: Path) -> Run:
    """A run directory's files; all but the manifest may be missing (a run stopped early).

    A missing manifest or malformed file is a `results.ResultsError` naming it.
    """
    manifest = results.read_manifest(run_dir)
    equivalence_path = run_dir / results.EQUIVALENCE
    return Run(
        directory=run_dir,
        manifest=manifest,
        samples=_read_table(run_dir / results.SAMPLES, SAMPLE_COLUMNS),
        segments=_read_table(run_dir / results.SEGMENTS, SEGMENT_COLUMNS),
        equivalence=results.read_json(equivalence_path) if equivalence_path.exists() else {},
        probe=_read_table(run_dir / results.PROBE, PROBE_COLUMNS),
    )


def baselines_for(run: Run) -> dict[str, str]:
    """Each technique's baseline variant: as the manifest recorded it, else the registry's,
    else (a technique since removed) the first variant in the samples."""
    found = {key: technique.baseline for key, technique in all_techniques().items()}
    found.update(run.manifest.get("baselines", {}))
    for technique, variants in run.samples.groupby("technique", sort=False)["variant"]:
        found.setdefault(str(technique), str(variants.iloc[0]))
    return found


def _summary(run: Run) -> pd.DataFrame:
    """summary.csv if the run has one, else computed from the samples and written there."""
    path = run.directory / results.SUMMARY
    if path.exists():
        return _read_table(path, stats.SUMMARY_COLUMNS)
    summary = stats.summarize(run.samples, run.segments, run.equivalence, baselines_for(run))
    summary.to_csv(path, index=False)
    return summary


def load_or_build_summary(run_dir: Path) -> pd.DataFrame:
    """The run's summary.csv (the stats stage's output), computed and written if missing."""
    return _summary(read_run(run_dir))


def format_number(value: float) -> str:
    """A number (ms, req/s, counts per request) to 3 significant digits, never as 1e+03."""
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    decimals = 2 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):,.{max(decimals, 0)}f}"


def format_speedup(row: dict[str, Any]) -> str:
    """A speedup with its CI, as "3.10x [2.80, 3.40]"; the baseline as "1.00x"."""
    ratio, low, high = row["speedup_p50"], row["speedup_ci_low"], row["speedup_ci_high"]
    if not math.isfinite(ratio):
        return "–"
    if row["baseline"]:
        return f"{ratio:.2f}x"
    return f"{ratio:.2f}x [{low:.2f}, {high:.2f}]"


def format_count(value: float) -> str:
    """A whole count with thousands separators."""
    return f"{value:,.0f}" if math.isfinite(value) else "–"


def format_per_request(value: float) -> str:
    """A mean count per request (queries, commands, calls): "51", "1.5", "0.333"."""
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_percent(value: float) -> str:
    """A fraction as a percentage with 2 decimals."""
    return f"{value:.2%}" if math.isfinite(value) else "–"


def format_bytes(value: float) -> str:
    """A size in B, kB or MB (powers of 1000), 3 significant digits."""
    if not math.isfinite(value):
        return "–"
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= scale:
            return f"{format_number(value / scale)} {unit}"
    return f"{value:.0f} B"


def _slo(row: dict[str, Any]) -> str:
    """Whether a variant met the seed's SLOs (p95 and error rate)."""
    if not math.isfinite(row["p95_ms"]):
        return "no data"
    met = row["p95_ms"] < SLO_P95_MS and row["error_rate"] < SLO_ERROR_RATE
    return "met" if met else "missed"


def cache_hit_rate(row: dict[str, Any]) -> float:
    """Cache hits / cache lookups, from the per-request means; NaN if it looks nothing up."""
    hits = float(row.get("cache_hits_per_request", math.nan))
    lookups = hits + float(row.get("cache_misses_per_request", math.nan))
    return hits / lookups if lookups > 0 else math.nan


def _cache_slo(hit_rate: float) -> str:
    """Whether a variant met the seed's cache hit-rate target; "" if it uses no cache."""
    if math.isnan(hit_rate):
        return ""
    return "met" if hit_rate > SLO_CACHE_HIT_RATE else "missed"


def _ordered(names: list[str], preferred: list[str]) -> list[str]:
    """`names` with those in `preferred` first, in its order, then the rest as found."""
    return [name for name in preferred if name in names] + [
        name for name in names if name not in preferred
    ]


def _point_order(points: list[str]) -> list[str]:
    """Sweep points by their parameter values when all are numeric ("n=10" < "n=100")."""
    numeric = []
    for point in points:
        try:
            numeric.append([float(part.partition("=")[2]) for part in point.split(",")])
        except ValueError:
            return points
    return [point for _, point in sorted(zip(numeric, points, strict=True))]


def _latencies(run: Run, technique: str, point: str) -> dict[str, np.ndarray]:
    """Successful measured latencies of each variant at one technique's point."""
    samples = run.samples
    chosen = samples[
        (samples["technique"] == technique)
        & (samples["point"] == point)
        & (samples["phase"] == stats.MEASURE_PHASE)
        & (samples["status"] > 0)
        & (samples["status"] < 400)
    ]
    return {
        str(variant): part["latency_ms"].to_numpy(dtype=float)
        for variant, part in chosen.groupby("variant", sort=False)
    }


def _time_splits(
    run: Run, key: str, point: str, records: list[dict[str, Any]]
) -> tuple[dict[str, tuple[float, float, float]], str]:
    """Each variant's time split: from the uncontended probe if the run has one, else the load.

    Under load the meter's DB time includes waiting for the event loop, so the probe's
    one-request-at-a-time medians are the honest split; the load means are the fallback.
    """
    probe = run.probe[(run.probe["technique"] == key) & (run.probe["point"] == point)]
    if len(probe):
        medians = probe.groupby("variant", sort=False)[["db_ms", "app_ms", "latency_ms"]].median()
        splits = {
            str(variant): charts.time_split(row["db_ms"], row["app_ms"], row["latency_ms"])
            for variant, row in medians.iterrows()
        }
        return splits, "one request at a time (median)"
    splits = {
        str(row["variant"]): charts.time_split(
            float(row["db_ms_per_request"]), float(row["app_ms_per_request"]), float(row["mean_ms"])
        )
        for row in records
    }
    return splits, "under load (mean per request)"


def _point_view(run: Run, key: str, point: str, rows: pd.DataFrame) -> dict[str, Any]:
    """One sweep point of a technique: its summary rows (in variant order) and charts."""
    records = [
        {str(name): value for name, value in record.items()} for record in rows.to_dict("records")
    ]
    for record in records:
        record["slo"] = _slo(record)
        record["cache_hit_rate"] = cache_hit_rate(record)
        record["cache_slo"] = _cache_slo(record["cache_hit_rate"])
    latencies = _latencies(run, key, point)
    at = f" at {point}" if point else ""
    splits, split_title = _time_splits(run, key, point, records)
    ordered = {name: latencies[name] for name in _ordered(list(latencies), list(splits))}
    return {
        "point": point,
        "rows": records,
        "latency_svg": Markup(
            charts.latency_percentiles_svg(
                ordered, f"Latency by percentile{at}", f"{key}-{point}-latency"
            )
        ),
        "breakdown_svg": Markup(
            charts.time_breakdown_svg(
                splits, f"Where the time goes{at}, {split_title}", f"{key}-{point}-split"
            )
        ),
    }


def _technique_section(run: Run, key: str, rows: pd.DataFrame) -> dict[str, Any]:
    """Text, charts and tables of one technique; its text from the registry if still there."""
    technique = all_techniques().get(key)
    registered = list(technique.variants) if technique else []
    order = _ordered(list(dict.fromkeys(rows["variant"])), registered)
    rows = rows.sort_values("variant", key=lambda names: names.map(order.index), kind="stable")
    point_names = _point_order([str(point) for point in dict.fromkeys(rows["point"])])
    points = [_point_view(run, key, point, rows[rows["point"] == point]) for point in point_names]
    scaling = None
    if len(point_names) > 1:
        table = rows.pivot(index="point", columns="variant", values="p50_ms")
        table = table.reindex(index=point_names, columns=order)
        medians = {variant: table[variant].tolist() for variant in order}
        scaling = charts.scaling_svg(point_names, medians, "p50 as the work grows", f"{key}-scale")
    checked = run.equivalence.get(key, {})
    artifacts_path = run.directory / results.ARTIFACTS / f"{key}.json"
    artifacts = results.read_json(artifacts_path) if artifacts_path.exists() else {}
    return {
        "key": key,
        "title": technique.title if technique else key,
        "area": technique.area if technique else "",
        "summary": technique.summary if technique else "",
        "seed": technique.seed if technique else "",
        "proof": technique.proof if technique else "",
        "registered": technique is not None,
        "points": points,
        "scaling_svg": Markup(scaling) if scaling else None,
        "artifacts": {str(name): str(text) for name, text in artifacts.items()},
        "equivalence": [
            {
                "variant": variant,
                "equivalent": bool(checked.get(variant, {}).get("equivalent", False)),
                "detail": str(checked.get(variant, {}).get("detail", "not checked")),
            }
            for variant in _ordered(list(checked), order)
        ],
    }


def _environment() -> jinja2.Environment:
    """The Jinja environment of the report template, with its number formats as filters."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        number=format_number,
        speedup=format_speedup,
        integer=format_count,
        per_request=format_per_request,
        percent=format_percent,
        size=format_bytes,
    )
    return environment


def build_report(run_dir: Path, reports_root: Path) -> Path:
    """Write reports_root/<run_id>/index.html from the run directory and return its path."""
    run = read_run(run_dir)
    summary = _summary(run)
    planned = [str(key) for key in run.manifest.get("techniques", [])]
    keys = planned + [key for key in dict.fromkeys(summary["technique"]) if key not in planned]
    sections = [_technique_section(run, key, summary[summary["technique"] == key]) for key in keys]
    rows = [
        record for section in sections for point in section["points"] for record in point["rows"]
    ]
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            manifest=run.manifest,
            run_dir=str(run_dir),
            run_id=run.manifest.get("run_id", run_dir.name),
            complete=bool(run.manifest.get("complete", False)),
            rows=rows,
            warnings=stats.stability_warnings(run.samples, run.segments),
            sections=sections,
            slo_p95_ms=SLO_P95_MS,
            slo_error_rate=SLO_ERROR_RATE,
            slo_cache_hit_rate=SLO_CACHE_HIT_RATE,
            thresholds={
                "cv": stats.MAX_REPETITION_CV,
                "cpu": stats.MAX_GENERATOR_CPU,
                "samples": stats.MIN_SAMPLES,
            },
        )
    )
    target = reports_root / str(run.manifest.get("run_id", run_dir.name)) / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
