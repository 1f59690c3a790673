"""The run's one-request-at-a-time stages: the uncontended probe of the plan's points,
and the RTT sweep's points probed with the data stores' delay proxies at each round trip.
Both write probe.csv (pairbench.load.probe measures each variant)."""

import math
from pathlib import Path

import httpx
import pandas as pd

from pairbench import results
from pairbench.console import Log
from pairbench.env.distance import SWEPT, DelayProxy, Distance
from pairbench.env.server import AppServer
from pairbench.load.measure import reset
from pairbench.load.probe import probe
from pairbench.load.segment_apps import SegmentApps
from pairbench.plan import Point
from pairbench.profiles import PROBE_REQUESTS, REQUEST_TIMEOUT_S, Profile
from pairbench.stats.probe_summary import probe_failures

# The RTTs take turns this many times, so the machine's drift (other processes come and go)
# falls on all of them alike, not on whichever RTT was probed while it was busy.
SWEEP_TURNS = 4


def probe_points(
    app: AppServer | SegmentApps, points: list[Point], requests: int, budget_s: float
) -> pd.DataFrame:
    """One request at a time per variant: the cost split without load (see pairbench.load.probe).
    `app`: the run's app, or who serves each variant (a pair's sides, `pairbench ab`)."""
    targets = [(point.technique, point.label, point.params) for point in points]
    if isinstance(app, SegmentApps):
        return probe(app, targets, requests, budget_s, reset)
    with httpx.Client(base_url=app.base_url, timeout=REQUEST_TIMEOUT_S) as client:
        # memory hook: each request's rise of the app's memory is recorded
        shared = SegmentApps(app.base_url, client, app, lambda _: None, own_processes=False)
        return probe(shared, targets, requests, budget_s, reset)


def probe_uncontended(
    run_dir: Path, app: AppServer | SegmentApps, points: list[Point], profile: Profile, log: Log
) -> pd.DataFrame:
    """The probe of the plan's points, kept as probe.csv. A profile without a probe budget
    (the gate, which reads none of its figures) skips it."""
    if profile.probe_budget_s <= 0:
        log(f"no uncontended probe in the {profile.name} profile")
        found = pd.DataFrame(columns=results.PROBE_COLUMNS)
        found.to_csv(run_dir / results.PROBE, index=False)
        return found
    log(
        f"probing each variant at {len(points)} point(s), up to {profile.probe_requests} "
        f"sequential requests or {profile.probe_budget_s:g} s each ..."
    )
    found = probe_points(app, points, profile.probe_requests, profile.probe_budget_s)
    found.to_csv(run_dir / results.PROBE, index=False)
    log_failures(found, log)
    return found


def log_failures(found: pd.DataFrame, log: Log) -> None:
    """Each variant and point whose probe requests failed, on the console (and, from the
    stats stage, in the run's warnings)."""
    for _, message in probe_failures(found):
        log(f"  probe: {message}")


def probe_rtt_sweep(
    run_dir: Path,
    app: AppServer,
    points: list[Point],
    proxies: dict[str, DelayProxy],
    distance: Distance,
    profile: Profile,
    log: Log,
) -> None:
    """The RTT sweep's points probed like the others, each with both data stores' proxies at
    its round trip (all points of one RTT together, the RTTs taking SWEEP_TURNS turns);
    appended to probe.csv."""
    swept = [proxies[kind] for kind in SWEPT]
    found = [pd.read_csv(run_dir / results.PROBE)]
    requests = math.ceil(PROBE_REQUESTS / SWEEP_TURNS)
    log(
        f"RTT sweep: PostgreSQL and Redis at {', '.join(f'{rtt:g}' for rtt in distance.sweep_ms)} "
        f"ms, taking {SWEEP_TURNS} turns of up to {requests} requests per variant"
    )
    try:
        for _ in range(SWEEP_TURNS):
            for rtt_ms in distance.sweep_ms:
                at_rtt = [point for point in points if point.rtt_ms == rtt_ms]
                for proxy in swept:
                    proxy.set_rtt(rtt_ms)
                found.append(
                    probe_points(app, at_rtt, requests, profile.probe_budget_s / SWEEP_TURNS)
                )
    finally:
        for proxy in swept:
            proxy.set_rtt(distance.rtt_of(proxy.kind))
        pd.concat(found, ignore_index=True).to_csv(run_dir / results.PROBE, index=False)
    for swept_rows in found[1:]:
        log_failures(swept_rows, log)
