"""The uncontended probe in figures: per variant and point, the median of each measure.

One request at a time, nothing competes: the medians say where a request's own time
goes (the report's time split) and what it costs at each sweep point (the growth fit);
the median time to first byte, and the most the app's memory rose during one request.
"""

import pandas as pd

from pairbench.results import PROBE_COLUMNS
from pairbench.stats.requests import answered

MEDIANS = ("latency_ms", "db_ms", "app_ms", "ttfb_ms")
MAXIMA = ("rss_rise_mb",)  # the largest: Python reuses what an earlier request freed
PROBE_SUMMARY_COLUMNS = ["technique", "variant", "point", "requests", *MEDIANS, *MAXIMA]
KEYS = ["technique", "variant", "point"]


def summarize_probe(probe: pd.DataFrame) -> pd.DataFrame:
    """One row per technique x variant x point: how many requests answered, their medians
    and maxima (a failed request's time is no figure of the variant: probe_failures)."""
    probe = answered(probe)
    if probe.empty:
        return pd.DataFrame(columns=PROBE_SUMMARY_COLUMNS)
    probe = probe.reindex(columns=list(dict.fromkeys([*PROBE_COLUMNS, *probe.columns])))
    grouped = probe.groupby(KEYS, sort=False)
    table = grouped[list(MEDIANS)].median().join(grouped[list(MAXIMA)].max())
    table.insert(0, "requests", grouped.size())
    return table.reset_index()[PROBE_SUMMARY_COLUMNS]


def probe_failures(probe: pd.DataFrame) -> list[tuple[str, str]]:
    """(technique, message) per variant and point whose probe had failed requests: how many,
    the first one's status and error, and that the probe's figures leave them out."""
    if probe.empty or "status" not in probe:
        return []
    failed = probe.drop(answered(probe).index)
    sent = probe.groupby(KEYS, sort=False).size().to_dict()
    found = []
    for (technique, variant, point), rows in failed.groupby(KEYS, sort=False):
        first = rows.iloc[0]
        error = str(first.get("error", "") or "").strip() or "no body"
        message = (
            f"{technique}/{variant} at {point}: {len(rows)} of {sent[(technique, variant, point)]} "
            "probe request(s) failed "
            f"({int(first['status'])} after {float(first['latency_ms']) / 1000:.1f} s: {error}); "
            "the probe's figures leave them out"
        )
        found.append((str(technique), message))
    return found
