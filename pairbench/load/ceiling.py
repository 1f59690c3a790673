"""The load generator's ceiling: the most it sends, closed-loop, where the app does no work.

A closed-loop figure measures the generator as much as the app once the generator nears
what it can send. So before the techniques' segments the run points the same long-lived
generator (same users, same Locust workers if any, no wait time) at the app's cheapest
route for a few seconds; its requests per second are the ceiling, and the stats stage
flags every variant whose throughput reaches a share of it (pairbench.stats.ceiling).
The app still parses, routes and answers each request, so on one machine the figure is
the generator and app together at their lightest: a lower bound of the generator's own.
"""

import math
from pathlib import Path
from typing import Any

import pandas as pd

from bench_app.target import Target
from pairbench import results
from pairbench.console import Log
from pairbench.load.overhead import TARGETS
from pairbench.load.segment import LoadError, LoadGenerator
from pairbench.profiles import Profile
from pairbench.stats.requests import failed
from pairbench.stats.summary import measured_seconds

CEILING_ROUTE = TARGETS["trivial"]  # /health/live: no I/O, the meter's own cost alone
RAW_FILE = "ceiling.csv"  # its raw samples, removed once counted


def ceiling_figures(frame: pd.DataFrame, window: tuple[float, float]) -> dict[str, Any]:
    """Requests per second of the requests sent in the measuring `window` (epoch seconds),
    as a variant's throughput is reckoned, and how many failed: a raw samples frame of the
    generator (t_start, latency_ms, status). `measured_s` is the time that rate is of: from
    the first send to the last answer, which outlasts the window by the last requests'
    latency (on a busy machine, as long as the window itself)."""
    start, end = window
    starts = frame["t_start"].astype(float)
    sent = frame[(starts >= start) & (starts <= end)].assign(repetition=0)
    seconds = measured_seconds(sent) if len(sent) else math.nan
    return {
        "rps": len(sent) / seconds if seconds > 0 else math.nan,
        "requests": len(sent),
        "failures": int(failed(sent).sum()),
        "measured_s": round(seconds, 3),
    }


def measure_ceiling(
    generator: LoadGenerator, run_dir: Path, profile: Profile, log: Log
) -> dict[str, Any]:
    """The generator's requests per second on CEILING_ROUTE with the profile's closed-loop
    users, warm-up excluded; the manifest's `generator_ceiling` entry."""
    raw_path = run_dir / RAW_FILE
    warmup = (profile.warmup_min_s, profile.warmup_max_s)
    segment = generator.closed(
        "", Target(CEILING_ROUTE), profile.users, warmup, profile.ceiling_s, raw_path
    )
    frame = results.read_table(raw_path, ["t_start", "latency_ms", "status"])
    raw_path.unlink()
    figures = ceiling_figures(frame, (segment.measure_start, segment.measure_end))
    entry = {
        "measured": True,
        "endpoint": CEILING_ROUTE,
        "users": profile.users,
        "seconds": profile.ceiling_s,
        **figures,
        "rps": round(figures["rps"], 1),
        "generator_cpu_max": round(segment.generator_cpu_max, 1),
        # with Locust workers the ceiling is theirs together, as the segments' load is
        "load_workers": segment.load_workers,
    }
    log(
        f"generator ceiling: {entry['rps']:,.0f} req/s on {CEILING_ROUTE} "
        f"({profile.users} users, {figures['measured_s']:.1f} s, "
        f"{figures['failures']} failed, generator CPU {entry['generator_cpu_max']:.0f}%"
        + (f", {segment.load_workers} Locust workers" if segment.load_workers else "")
        + ")"
    )
    return entry


def measure_ceiling_safely(
    generator: LoadGenerator, run_dir: Path, profile: Profile, log: Log
) -> dict[str, Any]:
    """The ceiling, or why there is none: skipped by the profile, or failed (which the run
    notes and outlives; its segments fail on their own if the generator is gone)."""
    if profile.ceiling_s <= 0:
        return {"measured": False, "error": f"skipped by the {profile.name} profile"}
    try:
        return measure_ceiling(generator, run_dir, profile, log)
    except LoadError as error:
        log(f"warning: the load generator's ceiling was not measured: {error}")
        return {"measured": False, "error": str(error)}
