"""Two runs side by side (before and after a change): `pairbench report RUN_A RUN_B`.

Per technique, point, load mode and variant measured in both runs: the after/before
ratios of p50, p95 and throughput, each with a bootstrap CI over both runs' raw samples
and a verdict (pairbench.stats.comparison), and the two runs' latency curves overlaid
(before dashed, vegeta-style) from their stats tables.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from pairbench import results
from pairbench.report import charts
from pairbench.report.build import REPORT_FILE, render
from pairbench.report.view import at, curve_series, default_point, ordered
from pairbench.stats.comparison import compare_runs
from pairbench.stats.curves import LATENCY
from pairbench.stats.stage import Tables, read_tables

TEMPLATE = "compare.html.j2"
FACTS = ("profile", "git_commit", "scale", "users", "started_at")  # Manifest fields
ROUND_FACTS = ("round_s", "min_rounds", "max_rounds", "target_half_width")  # Rounds fields


def _fact(record: object, name: str) -> object:
    """A manifest field for the facts table; "?" where the run did not record it."""
    value = getattr(record, name)
    return "?" if value is None or value == "" else value


def _overlay(
    before: Tables, after: Tables, key: str, point: str, mode: str, variants: list[str]
) -> Markup:
    colors = charts.variant_colors(variants)
    series = []
    for variant in variants:
        for tables, dashed, when in ((before, True, "before"), (after, False, "after")):
            curves = at(tables.latency_curves, technique=key, point=point, mode=mode)
            label = f"{variant} {when}"
            series.append(curve_series(curves, variant, LATENCY, label, colors[variant], dashed))
    title = f"{key} at {point}, {mode} loop: before (dashed) and after (solid)"
    return Markup(charts.percentile_curves_svg(series, title, f"compare-{key}-{point}-{mode}"))


def _sections(
    after_run: results.Run, before: Tables, after: Tables, rows: pd.DataFrame
) -> list[dict[str, Any]]:
    sections = []
    for key in dict.fromkeys(rows["technique"]) if len(rows) else []:
        part = rows[rows["technique"] == key]
        variants = ordered(list(dict.fromkeys(part["variant"])), [])
        labels = [str(label) for label in dict.fromkeys(part["point"])]
        point = default_point(after_run, key, labels)
        modes = [
            mode
            for mode in results.MODES
            if ((part["point"] == point) & (part["mode"] == mode)).any()
        ]
        sections.append(
            {
                "key": key,
                "rows": [{str(n): v for n, v in r.items()} for r in part.to_dict("records")],
                "charts": [
                    _overlay(before, after, key, str(point), mode, variants) for mode in modes
                ],
            }
        )
    return sections


def build_comparison(before_dir: Path, after_dir: Path, reports_root: Path) -> Path:
    """Write reports_root/compare-<before>-vs-<after>/index.html and return its path."""
    before_tables, after_tables = read_tables(before_dir), read_tables(after_dir)
    before, after = results.read_run(before_dir), results.read_run(after_dir)
    rows = compare_runs(before, after)
    techniques = {
        run.run_id: set(tables.summary["technique"])
        for run, tables in ((before, before_tables), (after, after_tables))
    }
    only = {
        run_id: sorted(found - set(rows["technique"] if len(rows) else []))
        for run_id, found in techniques.items()
    }
    facts = [
        *((name, _fact(before.manifest, name), _fact(after.manifest, name)) for name in FACTS),
        *(
            (name, _fact(before.manifest.rounds, name), _fact(after.manifest.rounds, name))
            for name in ROUND_FACTS
        ),
    ]
    html = render(
        TEMPLATE,
        before_id=before.run_id,
        after_id=after.run_id,
        sections=_sections(after, before_tables, after_tables, rows),
        only=only,
        facts=facts,
        warnings={
            run.run_id: [str(message) for message in tables.warnings["message"]]
            for run, tables in ((before, before_tables), (after, after_tables))
        },
    )
    target = reports_root / f"compare-{before.run_id}-vs-{after.run_id}" / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
