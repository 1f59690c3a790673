"""The HTML report: one self-contained page per run, rebuilt from the run directory alone.

It reads the stats stage's tables (pairbench.stats.stage); a run without them (an
interrupted one, or one from before the stage wrote them) gets them written first.
"""

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from pairbench import results
from pairbench.env.distance import MAX_PROXY_CPU_SHARE
from pairbench.report.bandwidth_view import LINK_NAMES
from pairbench.report.formatting import FILTERS
from pairbench.report.leaderboard import headline_text, leaderboard_line
from pairbench.report.monitoring import overhead_view, slow_queries_by_technique, slow_query_ms
from pairbench.report.view import (
    at,
    default_point,
    headline_kinds,
    headline_rows,
    records,
    technique_view,
)
from pairbench.slo import DEFAULT_SLOS, Slos, slos_of_run
from pairbench.stats.bootstrap import DEFAULT_RESAMPLES
from pairbench.stats.ceiling import CEILING_SHARE, ceiling_rps
from pairbench.stats.drift import DRIFT_PREFIX
from pairbench.stats.growth import FLAT_RISE, LINEAR_BAND, MIN_POINTS_FOR_SHAPE
from pairbench.stats.noise_floor import noise_floor, without_control
from pairbench.stats.precision import precision
from pairbench.stats.stability import MAX_GENERATOR_CPU, MAX_REPETITION_CV, MIN_SAMPLES
from pairbench.stats.stage import Tables, read_tables, technique_order

REPORT_FILE = "index.html"
TEMPLATE = "report.html.j2"


def _run_warnings(run: results.Run, summary: pd.DataFrame) -> list[str]:
    """Whole-run problems a reader must see before any figure: unfinished parts, wrong answers."""
    found = []
    if run.manifest.micro.get("error"):
        found.append(f"Microbenchmarks: {run.manifest.micro['error']}")
    wrong = summary[~summary["equivalent"].astype(bool)] if len(summary) else summary
    for technique, variant in sorted(set(zip(wrong["technique"], wrong["variant"], strict=True))):
        why = run.equivalence.get(technique, {}).get(variant, {}).get("detail", "not checked")
        if technique in run.manifest.ab:  # measured on purpose: `pairbench ab --allow-different`
            found.append(
                f"{technique}/{variant}: DIFFERENT ANSWER, b did not answer as a did ({why}); "
                f"measured anyway (--allow-different): its figures compare unlike answers"
            )
            continue
        found.append(
            f"{technique}/{variant}: NOT EQUIVALENT, its answer did not match the baseline's "
            f"({why}); its speedup is not an optimization and the run fails"
        )
    return found


def drift_warnings(tables: Tables) -> list[str]:
    """The run's drift warnings (pairbench.stats.drift), as the warnings table holds them."""
    messages = (str(message) for message in tables.warnings["message"])
    return [message for message in messages if message.startswith(DRIFT_PREFIX)]


def headlines(run_dir: Path, report_built: bool = True) -> list[str]:
    """The run's verdicts for a terminal: one line per technique, then the warning count
    and where to read the warnings (the report, or once it is built)."""
    run = results.read_run(run_dir, with_samples=False)
    tables = read_tables(run_dir)
    summary = tables.summary
    lines = []
    for key in dict.fromkeys(without_control(summary)["technique"]):
        rows = summary[summary["technique"] == key]
        labels = [str(label) for label in dict.fromkeys(rows["point"])]
        point = default_point(run, str(key), labels)
        chosen = rows[rows["point"] == point]
        mode = results.CLOSED if (chosen["mode"] == results.CLOSED).any() else results.OPEN
        kinds = at(tables.request_kinds, technique=str(key), point=str(point), mode=mode)
        lines.append(
            headline_text(str(key), records(chosen[chosen["mode"] == mode]), records(kinds))
        )
    return lines + _trust_lines(run, tables, report_built)


def trust_lines(run_dir: Path, report_built: bool = True) -> list[str]:
    """How far to trust a run's figures, for a terminal: its noise floor, drift, figures
    the load generator may limit, and how many warnings there are and where to read them."""
    return _trust_lines(
        results.read_run(run_dir, with_samples=False), read_tables(run_dir), report_built
    )


def _trust_lines(run: results.Run, tables: Tables, report_built: bool) -> list[str]:
    summary, run_dir = tables.summary, run.directory
    lines = []
    floor = noise_floor(summary, run.manifest)
    if floor is not None:
        lines.append(floor.describe())
    lines.append(precision(summary, run.manifest.rounds.target_half_width).describe())
    drift = drift_warnings(tables)
    lines += drift
    near = summary[summary["ceiling_share"].astype(float) >= CEILING_SHARE]
    if len(near):
        variants = ", ".join(sorted(set(near["technique"] + "/" + near["variant"])))
        lines.append(
            f"{len(near)} closed-loop figure(s) at {CEILING_SHARE:.0%} or more of the load "
            f"generator's ceiling ({ceiling_rps(run.manifest):,.0f} req/s), so the generator may "
            f"limit them: {variants}"
        )
    warnings = len(tables.warnings) + len(_run_warnings(run, summary))
    if warnings:
        where = (
            "see the report"
            if report_built
            else f"see {run_dir / results.WARNINGS} and the report `pairbench report` builds"
        )
        lines.append(f"{warnings} warning(s) on how far to trust these figures: {where}")
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


def render(template: str, slos: Slos = DEFAULT_SLOS, **context: Any) -> str:
    """A report template rendered with the shared thresholds and the run's SLOs in its context."""
    return (
        _environment()
        .get_template(template)
        .render(
            slo={"text": slos.describe(), "hit_rate": slos.cache_hit_rate},
            thresholds={
                "cv": MAX_REPETITION_CV,
                "cpu": MAX_GENERATOR_CPU,
                "samples": MIN_SAMPLES,
                "resamples": DEFAULT_RESAMPLES,
                "growth_points": MIN_POINTS_FOR_SHAPE,
                "growth_band": LINEAR_BAND,
                "growth_flat": FLAT_RISE,
                "ceiling": CEILING_SHARE,
            },
            max_proxy_cpu=MAX_PROXY_CPU_SHARE,
            **context,
        )
    )


def build_report(run_dir: Path, reports_root: Path) -> Path:
    """Write reports_root/<run_id>/index.html from the run directory and return its path."""
    tables = read_tables(run_dir)
    run = results.read_run(run_dir, with_samples=False)
    summary = tables.summary
    slos = slos_of_run(run.manifest)
    keys = technique_order(run.manifest, without_control(summary))
    sections = [technique_view(run, key, tables, slos) for key in keys]
    # monitoring: each variant's slowest statements, and (below) what measuring cost.
    slow_queries = slow_queries_by_technique(run_dir)
    for section in sections:
        section["slow_queries"] = slow_queries.get(section["key"], [])
    leaderboard = [
        leaderboard_line(
            section["key"],
            section["title"],
            headline_rows(section),
            section["micro"],
            len(section["warnings"]),
            headline_kinds(section),
            slos,
            measured_anyway=bool(section["pair"]),  # b, whatever it answered (the marks say)
        )
        for section in sections
    ]
    html = render(
        TEMPLATE,
        slos,
        manifest=run.manifest,
        pairs=bool(run.manifest.ab),  # a run of `pairbench ab`: the user's pairs, not the catalog
        probed=len(tables.probe) > 0,
        run_dir=str(run_dir),
        run_id=run.run_id,
        complete=run.manifest.complete,
        leaderboard=leaderboard if len(summary) else [],
        warnings=[str(message) for message in tables.warnings["message"]],
        control_warnings=[
            str(message)
            for message in at(tables.warnings, technique=results.CONTROL_KEY)["message"]
        ],  # listed beside the sections' own, as the count above includes them
        noise_floor=noise_floor(summary, run.manifest),
        precision=precision(summary, run.manifest.rounds.target_half_width),
        drift=drift_warnings(tables),
        run_warnings=_run_warnings(run, summary),
        sections=sections,
        bandwidth_links=list(LINK_NAMES.values()),
        overhead=overhead_view(tables.overhead, run.manifest),  # monitoring
        slow_query_ms=slow_query_ms(run_dir),
    )
    target = reports_root / run.run_id / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
