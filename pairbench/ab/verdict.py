"""The console's answer to "is b faster, and by how much?": one line per point and mode,
read from the run's summary (the stats stage's, as the report's)."""

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pairbench import results
from pairbench.ab.pair import BASELINE, CANDIDATE
from pairbench.report.formatting import DIFFERENT_ANSWER, format_speedup
from pairbench.report.leaderboard import measured_proof
from pairbench.report.view import records
from pairbench.results import as_float
from pairbench.stats.noise_floor import without_control


def _number(row: Mapping[str, Any], column: str) -> float:
    return as_float(row.get(column))


def verdict_lines(summary: pd.DataFrame) -> list[str]:
    """b against a at every point and mode: p50s, the p50 speedup with its 95% CI and the
    verdict, and the metered costs that changed (where the app reports them)."""
    lines = []
    summary = without_control(summary)  # its line is the noise floor's (report.build)
    target = summary[summary["name"].fillna(results.TARGET_NAME) == results.TARGET_NAME]
    for (pair, point, mode), rows in target.groupby(["technique", "point", "mode"], sort=False):
        by_variant = {str(row["variant"]): row for row in records(rows)}
        a, b = by_variant.get(BASELINE), by_variant.get(CANDIDATE)
        if a is None or b is None:
            continue
        verdict = str(b.get("verdict", "no data"))
        speedup = format_speedup(b).replace(f" {DIFFERENT_ANSWER}", "")
        line = (
            f"{pair}: b vs a at {point} ({mode} loop): p50 {_number(b, 'p50_ms'):.2f} ms vs "
            f"{_number(a, 'p50_ms'):.2f} ms; speedup {speedup} (95% CI): {verdict}"
        )
        proof = measured_proof(a, b)
        if proof != "no metered count changed":
            line += f"; {proof}"
        if not bool(b.get("equivalent", True)):
            line += f" {DIFFERENT_ANSWER.upper()}"
        lines.append(line)
    return lines
