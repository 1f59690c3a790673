"""The uncontended probe in figures: per variant and point, the median of each measure.

One request at a time, nothing competes: the medians say where a request's own time
goes (the report's time split) and what it costs at each sweep point (the growth fit).
"""

import pandas as pd

from pairbench.results import PROBE_COLUMNS

MEDIANS = ("latency_ms", "db_ms", "app_ms")
PROBE_SUMMARY_COLUMNS = ["technique", "variant", "point", "requests", *MEDIANS]
KEYS = ["technique", "variant", "point"]


def summarize_probe(probe: pd.DataFrame) -> pd.DataFrame:
    """One row per technique x variant x point: how many requests, and their medians."""
    if probe.empty:
        return pd.DataFrame(columns=PROBE_SUMMARY_COLUMNS)
    probe = probe.reindex(columns=list(dict.fromkeys([*PROBE_COLUMNS, *probe.columns])))
    grouped = probe.groupby(KEYS, sort=False)
    table = grouped[list(MEDIANS)].median()
    table.insert(0, "requests", grouped.size())
    return table.reset_index()[PROBE_SUMMARY_COLUMNS]
