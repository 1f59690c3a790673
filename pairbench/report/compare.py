"""Two runs side by side (before and after a change): `pairbench report RUN_A RUN_B`.

Per technique, point, load mode and variant measured in both runs: the after/before
ratios of p50, p95 and throughput, each with a bootstrap CI over both runs' raw samples
and a verdict, and the two runs' latency curves overlaid (before dashed, vegeta-style).
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from pairbench import results
from pairbench.report import charts
from pairbench.report.build import REPORT_FILE, render, summary_of
from pairbench.report.view import default_point, ordered, successful_samples
from pairbench.stats.bootstrap import bootstrap_ratio_ci
from pairbench.stats.significance import verdict
from pairbench.stats.stability import stability_warnings
from pairbench.stats.summary import RATIOS, throughput_bins

TEMPLATE = "compare.html.j2"
KEYS = ["technique", "point", "mode", "variant"]
FACTS = ("profile", "git_commit", "scale", "users", "duration_s", "repetitions", "started_at")


def _measured(run: results.Run, key: tuple[str, ...]) -> pd.DataFrame:
    samples = results.target_requests(run.samples)
    mask = samples["phase"] == "measure"
    for column, value in zip(KEYS, key, strict=True):
        mask &= samples[column] == value
    return samples[mask]


def _between_runs(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, Any]:
    """after vs before on each headline ratio (above 1: the after run is better)."""
    row: dict[str, Any] = {}
    for ratio in RATIOS:
        arms = []
        for frame in (before, after):
            if ratio.of_throughput:
                arms.append(throughput_bins(frame))
            else:
                ok = frame[
                    (frame["dropped"] != 1) & (frame["status"] > 0) & (frame["status"] < 400)
                ]
                arms.append(
                    [part["latency_ms"].to_numpy(float) for _, part in ok.groupby("repetition")]
                )
        value, low, high = bootstrap_ratio_ci(
            arms[0], arms[1], ratio.statistic, higher_is_better=ratio.higher_is_better
        )
        row[ratio.column] = value
        row.update({f"{ratio.ci}_ci_low": low, f"{ratio.ci}_ci_high": high})
        row[ratio.verdict] = (
            verdict(low, high).replace("faster", "better").replace("slower", "worse")
        )
    return row


def compare_rows(before: results.Run, after: results.Run) -> pd.DataFrame:
    """One row per (technique, point, mode, variant) in both runs: figures and ratios."""
    first, second = summary_of(before), summary_of(after)
    paired = first.merge(second, on=KEYS, suffixes=("_before", "_after"))
    rows = []
    for record in paired.to_dict("records"):
        key = tuple(str(record[column]) for column in KEYS)
        row = {column: record[column] for column in KEYS}
        for figure in ("p50_ms", "p95_ms", "p99_ms", "rps", "requests", "queries_per_request"):
            row[f"{figure}_before"] = record.get(f"{figure}_before", np.nan)
            row[f"{figure}_after"] = record.get(f"{figure}_after", np.nan)
        row.update(_between_runs(_measured(before, key), _measured(after, key)))
        rows.append(row)
    return pd.DataFrame(rows)


def _overlay(
    before: results.Run, after: results.Run, key: str, point: str, mode: str, variants: list[str]
) -> Markup:
    colors = charts.variant_colors(variants)
    series = []
    for variant in variants:
        for run, dashed, when in ((before, True, "before"), (after, False, "after")):
            frame = successful_samples(run, key, point, mode)
            values = frame.loc[frame["variant"] == variant, "latency_ms"].to_numpy(dtype=float)
            series.append(charts.Series(f"{variant} {when}", values, colors[variant], dashed))
    title = f"{key} at {point}, {mode} loop: before (dashed) and after (solid)"
    return Markup(charts.percentile_curves_svg(series, title, f"compare-{key}-{point}-{mode}"))


def _sections(before: results.Run, after: results.Run, rows: pd.DataFrame) -> list[dict[str, Any]]:
    sections = []
    for key in dict.fromkeys(rows["technique"]) if len(rows) else []:
        part = rows[rows["technique"] == key]
        variants = ordered(list(dict.fromkeys(part["variant"])), [])
        point = default_point(after, key, [str(label) for label in dict.fromkeys(part["point"])])
        modes = [
            mode
            for mode in results.MODES
            if ((part["point"] == point) & (part["mode"] == mode)).any()
        ]
        sections.append({
            "key": key,
            "rows": [{str(n): v for n, v in r.items()} for r in part.to_dict("records")],
            "charts": [_overlay(before, after, key, str(point), mode, variants) for mode in modes],
        })  # fmt: skip
    return sections


def build_comparison(before_dir: Path, after_dir: Path, reports_root: Path) -> Path:
    """Write reports_root/compare-<before>-vs-<after>/index.html and return its path."""
    before, after = results.read_run(before_dir), results.read_run(after_dir)
    rows = compare_rows(before, after)
    techniques = {run.run_id: set(run.samples["technique"]) for run in (before, after)}
    only = {
        run_id: sorted(found - set(rows["technique"] if len(rows) else []))
        for run_id, found in techniques.items()
    }
    facts = [
        (name, before.manifest.get(name, "?"), after.manifest.get(name, "?")) for name in FACTS
    ]
    html = render(
        TEMPLATE,
        before_id=before.run_id,
        after_id=after.run_id,
        sections=_sections(before, after, rows),
        only=only,
        facts=facts,
        warnings={
            before.run_id: stability_warnings(before.samples, before.segments),
            after.run_id: stability_warnings(after.samples, after.segments),
        },
    )
    target = reports_root / f"compare-{before.run_id}-vs-{after.run_id}" / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
