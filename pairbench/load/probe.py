"""Where one request's time goes when nothing else competes for the app.

Under load the meter's DB time also counts the moments a request waits for the
event loop while other requests run, so it overstates the database. A short
sequential pass per variant, before the load, gives the uncontended split:
database, the rest of the app (ORM, serialization), and what lies outside it.
"""

import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pandas as pd

from bench_app.metering import COST_HEADERS
from bench_app.technique import Technique

PROBE_COLUMNS = ["technique", "variant", "point", "latency_ms", "bytes", *COST_HEADERS]
WARMUP_REQUESTS = 3


def _cost(response: httpx.Response, name: str) -> float:
    value = response.headers.get(COST_HEADERS[name], "")
    return float(value) if value else float("nan")


def probe_variant(
    client: httpx.Client,
    technique: Technique,
    variant: str,
    params: dict[str, Any],
    requests: int,
    budget_s: float,
) -> list[dict[str, Any]]:
    """`requests` sequential requests to one variant (after a few unrecorded ones), fewer
    past `budget_s` seconds: always at least one, a variant whose requests take seconds."""
    url = technique.url(variant, params)
    deadline = time.monotonic() + budget_s
    for _ in range(WARMUP_REQUESTS):
        if time.monotonic() > deadline:
            break
        client.get(url)
    rows: list[dict[str, Any]] = []
    for _ in range(requests):
        if rows and time.monotonic() > deadline:  # a variant whose requests take seconds
            break
        started = time.perf_counter()
        response = client.get(url)
        latency_ms = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "latency_ms": latency_ms,
                "bytes": len(response.content),
                **{name: _cost(response, name) for name in COST_HEADERS},
            }
        )
    return rows


def probe(
    client: httpx.Client,
    points: Iterable[tuple[Technique, str, dict[str, Any]]],
    requests: int,
    budget_s: float,
    reset: Callable[[Technique], None] = lambda technique: None,
) -> pd.DataFrame:
    """The uncontended probe of every variant at every (technique, point label, params).

    `reset` puts a technique's state back before each variant, as before a load segment.
    """
    rows = []
    for technique, label, params in points:
        for variant in technique.variants:
            reset(technique)
            for row in probe_variant(client, technique, variant, params, requests, budget_s):
                rows.append({"technique": technique.key, "variant": variant, "point": label, **row})
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)
