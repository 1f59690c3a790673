"""The HTML report: one self-contained page per run, rebuilt from the run directory alone.

The stats stage's tables (summary.csv, growth.csv, micro_summary.csv) are read if the
run has them, else computed from its raw files and written there, so a report can be
rebuilt (`pairbench report RUN_DIR`) and the tables read without it.
"""

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from bench_app.techniques import all_techniques
from pairbench import results
from pairbench.load.micro import load_or_build_micro_summary
from pairbench.report.formatting import FILTERS
from pairbench.report.leaderboard import (
    SLO_CACHE_HIT_RATE,
    SLO_ERROR_RATE,
    SLO_P95_MS,
    headline_text,
    leaderboard_line,
)
from pairbench.report.view import default_point, headline_rows, records, technique_view
from pairbench.stats import growth
from pairbench.stats.bootstrap import DEFAULT_RESAMPLES
from pairbench.stats.stability import stability_findings
from pairbench.stats.summary import (
    MAX_GENERATOR_CPU,
    MAX_REPETITION_CV,
    MIN_SAMPLES,
    SUMMARY_COLUMNS,
    summarize,
)

REPORT_FILE = "index.html"
TEMPLATE = "report.html.j2"
REQUIRED_SUMMARY_COLUMNS = ["technique", "variant", "point", "p50_ms"]


def baselines_for(run: results.Run) -> dict[str, str]:
    """Each technique's baseline variant: as the manifest recorded it, else the registry's,
    else (a technique since removed) the first variant in the samples."""
    found = {key: technique.baseline for key, technique in all_techniques().items()}
    found.update(run.manifest.get("baselines", {}))
    for technique, variants in run.samples.groupby("technique", sort=False)["variant"]:
        found.setdefault(str(technique), str(variants.iloc[0]))
    return found


def summary_of(run: results.Run) -> pd.DataFrame:
    """summary.csv if the run has one, else computed from the samples and written there."""
    path = run.directory / results.SUMMARY
    if path.exists():
        summary = results.read_run_table(path, SUMMARY_COLUMNS, REQUIRED_SUMMARY_COLUMNS)
    else:
        summary = summarize(run.samples, run.segments, run.equivalence, baselines_for(run))
        summary.to_csv(path, index=False)
    return results.target_requests(summary)  # other request kinds: in summary.csv only


def load_or_build_summary(run_dir: Path) -> pd.DataFrame:
    """The run's summary.csv (the stats stage's output), computed and written if missing."""
    return summary_of(results.read_run(run_dir))


def _growth(
    run: results.Run, summary: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, dict[str, dict[tuple[str, str], float]]]:
    """growth.csv (computed and written if missing) and the per-point costs it fits."""
    costs, tables = {}, []
    planned = run.manifest.get("points", {})
    for key in keys:
        costs[key], source = growth.point_costs(run.probe, summary, key)
        variants = list(dict.fromkeys(summary.loc[summary["technique"] == key, "variant"]))
        variants = variants or list(dict.fromkeys(k[0] for k in costs[key]))
        tables.append(growth.growth_table(key, planned.get(key, []), variants, costs[key], source))
    path = run.directory / results.GROWTH
    if path.exists():
        table = results.read_run_table(path, growth.GROWTH_COLUMNS, growth.GROWTH_COLUMNS[:3])
    else:
        table = pd.concat(tables) if tables else pd.DataFrame(columns=growth.GROWTH_COLUMNS)
        if len(table):
            table.to_csv(path, index=False)
    return table, costs


def _run_warnings(run: results.Run, summary: pd.DataFrame) -> list[str]:
    """Whole-run problems a reader must see before any figure: unfinished parts, wrong answers."""
    found = []
    micro = run.manifest.get("micro", {})
    if isinstance(micro, dict) and micro.get("error"):
        found.append(f"Microbenchmarks: {micro['error']}")
    wrong = summary[~summary["equivalent"].astype(bool)] if len(summary) else summary
    for technique, variant in sorted(set(zip(wrong["technique"], wrong["variant"], strict=True))):
        found.append(
            f"{technique}/{variant}: its answer did NOT match the baseline's; its speedup is "
            "not an optimization (see the technique's equivalence table)"
        )
    return found


def headlines(run_dir: Path) -> list[str]:
    """The run's verdicts for a terminal: one line per technique, then the warning count."""
    run = results.read_run(run_dir)
    summary = summary_of(run)
    lines = []
    for key in dict.fromkeys(summary["technique"]):
        rows = summary[summary["technique"] == key]
        labels = [str(label) for label in dict.fromkeys(rows["point"])]
        point = default_point(run, str(key), labels)
        chosen = rows[rows["point"] == point]
        mode = results.CLOSED if (chosen["mode"] == results.CLOSED).any() else results.OPEN
        lines.append(headline_text(str(key), records(chosen[chosen["mode"] == mode])))
    warnings = len(stability_findings(run.samples, run.segments)) + len(_run_warnings(run, summary))
    if warnings:
        lines.append(f"{warnings} warning(s) on how far to trust these figures: see the report")
    return lines


def _environment() -> jinja2.Environment:
    """The Jinja environment of the report templates, with the number formats as filters."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return environment


def render(template: str, **context: Any) -> str:
    """A report template rendered with the shared thresholds and SLOs in its context."""
    return (
        _environment()
        .get_template(template)
        .render(
            slo={
                "p95_ms": SLO_P95_MS,
                "error_rate": SLO_ERROR_RATE,
                "hit_rate": SLO_CACHE_HIT_RATE,
            },
            thresholds={
                "cv": MAX_REPETITION_CV,
                "cpu": MAX_GENERATOR_CPU,
                "samples": MIN_SAMPLES,
                "resamples": DEFAULT_RESAMPLES,
            },
            **context,
        )
    )


def build_report(run_dir: Path, reports_root: Path) -> Path:
    """Write reports_root/<run_id>/index.html from the run directory and return its path."""
    run = results.read_run(run_dir)
    summary = summary_of(run)
    baselines = baselines_for(run)
    micro = load_or_build_micro_summary(run_dir, baselines)
    planned = [str(key) for key in run.manifest.get("techniques", [])]
    keys = planned + [key for key in dict.fromkeys(summary["technique"]) if key not in planned]
    growth_table, costs = _growth(run, summary, keys)
    findings = stability_findings(run.samples, run.segments)
    sections = [
        technique_view(
            run,
            key,
            summary[summary["technique"] == key],
            micro,
            growth_table[growth_table["technique"] == key],
            costs.get(key, {}),
            [message for technique, message in findings if technique == key],
        )
        for key in keys
    ]
    leaderboard = [
        leaderboard_line(
            section["key"], section["title"], headline_rows(section), section["micro"],
            len(section["warnings"]),
        )
        for section in sections
    ]  # fmt: skip
    html = render(
        TEMPLATE,
        manifest=run.manifest,
        run_dir=str(run_dir),
        run_id=run.run_id,
        complete=bool(run.manifest.get("complete", False)),
        leaderboard=leaderboard if len(summary) else [],
        warnings=[message for _, message in findings],
        run_warnings=_run_warnings(run, summary),
        sections=sections,
    )
    target = reports_root / run.run_id / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
