"""How far a per-request cost moved from round to round of one run: the gate's room for it.

Most costs are deterministic (51 queries a request, in every round), and the gate holds
them exactly. A few depend on timing: retries' upstream calls per request move with how
the closed-loop users' calls overlap. Such a cost's spread within its run is measured the
way the run measures everything, over its rounds: each round's mean over the variant's
measured, successful, own requests, and the spread is t(rounds - 1) standard deviations of
those means (the half-width of a 95% interval for one more round's mean, roughly). A run
of one round, or a cost that never moved, has none.
"""

import math
from collections.abc import Mapping

import pandas as pd

from pairbench.results import SEGMENT_KEY
from pairbench.stats.requests import own_measured_successful
from pairbench.stats.rounds import t_quantile

KEYS = SEGMENT_KEY
RULE = "t(rounds - 1) x the standard deviation of the rounds' mean cost per request"


def cost_spreads(
    samples: pd.DataFrame, costs: Mapping[str, str]
) -> dict[tuple[str, str], dict[str, float]]:
    """(technique, variant) -> {cost: spread} for each cost (summary column -> samples'
    column, as `costs` maps them) whose round means differ; the widest over its points and
    load modes."""
    found: dict[tuple[str, str], dict[str, float]] = {}
    requests = own_measured_successful(samples)
    columns = [column for column in costs.values() if column in requests]
    if requests.empty or not columns:
        return found
    numbers = requests[[*KEYS, "repetition"]].assign(
        **{column: pd.to_numeric(requests[column], errors="coerce") for column in columns}
    )
    means = numbers.groupby([*KEYS, "repetition"], sort=False)[columns].mean()
    for key, rounds in means.groupby(level=KEYS, sort=False):
        if len(rounds) < 2:
            continue
        width = t_quantile(len(rounds) - 1)
        for name, column in costs.items():
            if column not in rounds:
                continue
            values = rounds[column].dropna()
            spread = width * float(values.std(ddof=1)) if len(values) >= 2 else math.nan
            if math.isfinite(spread) and spread > 0:
                variant = found.setdefault((str(key[0]), str(key[1])), {})
                variant[name] = max(spread, variant.get(name, 0.0))
    return found
