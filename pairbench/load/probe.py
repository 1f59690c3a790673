"""Where one request's time goes when nothing else competes for the app.

Under load the meter's DB time also counts the moments a request waits for the
event loop while other requests run, so it overstates the database. A short
sequential pass per variant, before the load, gives the uncontended split:
database, the rest of the app (ORM, serialization), and what lies outside it. Each
request's time to first body byte is kept too, and, given the app's pid, how far the
app's memory rose while it was served (one request at a time, so the rise is its own).
"""

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx
import pandas as pd

from bench_app.metering import COST_HEADER, parse_cost_header
from bench_app.streamed_costs import WHOLE_COST_HEADER
from bench_app.technique import Technique, VariantRequest
from pairbench.env.memory import MemorySampler, watch_memory
from pairbench.load.segment_apps import SegmentApps
from pairbench.results import PROBE_COLUMNS
from pairbench.stats.requests import status_succeeded

PROBE_RSS_INTERVAL_S = 0.005
WARMUP_REQUESTS = 3  # unrecorded requests before a variant's probe, within
WARMUP_SHARE = 0.25  # this share of its budget (at least one)
ERROR_CHARS = 200  # of a failed request's body, kept as its error


def _costs(client: httpx.Client, response: httpx.Response) -> dict[str, float]:
    """The response's cost fields as numbers, NaN where not counted: its header's, or a
    streamed response's whole costs, read once its body has ended (NaN if the app has none)."""
    cost = response.headers.get(COST_HEADER)
    whole_cost_path = response.headers.get(WHOLE_COST_HEADER)
    if whole_cost_path is not None:
        answer = client.get(whole_cost_path)
        cost = answer.json()["cost"] if answer.status_code == 200 else None
    fields = parse_cost_header(cost)
    return {name: float(value) if value else float("nan") for name, value in fields.items()}


def timed_request(client: httpx.Client, request: VariantRequest) -> dict[str, Any]:
    """Send `request`, reading the body as it arrives: latency, time to first byte, size,
    the status, and a failed request's error (the start of its body)."""
    started = time.perf_counter()
    first_byte, size, start_of_body = float("nan"), 0, b""
    with client.stream(
        request.method, request.url, headers=request.headers, content=request.content
    ) as response:
        for chunk in response.iter_bytes():
            if size == 0:
                first_byte = time.perf_counter()
            if len(start_of_body) < ERROR_CHARS:
                start_of_body += chunk[:ERROR_CHARS]
            size += len(chunk)
    failed = not status_succeeded(response.status_code)
    return {
        "latency_ms": (time.perf_counter() - started) * 1000,
        "bytes": size,
        **_costs(client, response),
        "ttfb_ms": (first_byte - started) * 1000,
        "status": response.status_code,
        "error": start_of_body[:ERROR_CHARS].decode(errors="replace") if failed else "",
    }


def probe_variant(
    client: httpx.Client,
    technique: Technique,
    variant: str,
    params: dict[str, Any],
    requests: int,
    budget_s: float,
    app_pid: int | Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """`requests` sequential requests to one variant (after up to WARMUP_REQUESTS unrecorded
    ones in WARMUP_SHARE of the budget), fewer past `budget_s` seconds: always at least one,
    a variant whose requests take seconds.

    A warm-up request that alone outlasts the budget is kept as the one measured: what
    warming up takes off (first connections, lazy imports) is lost in a request that long,
    and sending it again would double the probe's slowest variants (bulk_insert's
    row_by_row at its largest batch waits for a thousand commits)."""
    request = technique.request(variant, params)
    started = time.monotonic()
    deadline, warmed_up = started + budget_s, started + budget_s * WARMUP_SHARE
    for _ in range(WARMUP_REQUESTS):
        if time.monotonic() > warmed_up:
            break
        row = _measured(client, request, app_pid)
        if row["latency_ms"] > budget_s * 1000:
            return [row]
    rows: list[dict[str, Any]] = []
    for _ in range(requests):
        if rows and time.monotonic() > deadline:  # a variant whose requests take seconds
            break
        rows.append(_measured(client, request, app_pid))
    return rows


def _measured(
    client: httpx.Client, request: VariantRequest, app_pid: int | Sequence[int] | None
) -> dict[str, Any]:
    """One timed request, with the app's memory rise while it was served if `app_pid`."""
    sampler = _watch(app_pid)
    row = timed_request(client, request)
    if sampler is not None:
        memory = sampler.stop()
        row.update(rss_peak_mb=memory.peak_mb, rss_rise_mb=memory.peak_mb - memory.start_mb)
    return row


def _watch(pid: int | Sequence[int] | None) -> MemorySampler | None:
    return None if pid is None else watch_memory(pid, PROBE_RSS_INTERVAL_S)


def probe(
    apps: SegmentApps,
    points: Iterable[tuple[Technique, str, dict[str, Any]]],
    requests: int,
    budget_s: float,
    reset: Callable[[httpx.Client, Technique], None] = lambda client, technique: None,
) -> pd.DataFrame:
    """The uncontended probe of every variant at every (technique, point label, params).

    `apps` says which app serves each variant (its client, and the processes whose memory
    each request's row records); `reset` puts a technique's state back before each
    variant, as before a load segment.
    """
    rows = []
    for technique, label, params in points:
        for variant in technique.variants:
            with apps.serving(technique, variant) as app:
                reset(app.client, technique)
                for row in probe_variant(
                    app.client, technique, variant, params, requests, budget_s, app.pids or None
                ):
                    rows.append(
                        {"technique": technique.key, "variant": variant, "point": label, **row}
                    )
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)
