"""Segments whose figures are memory get app processes of their own; the shared app lives on.

Real servers throughout: the shared app and every app of a segment's own are uvicorn
processes, loaded by the run's long-lived load generator.
"""

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest

from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.bounded_cache import MAX_ENTRIES, Location
from pairbench import results
from pairbench.env.memory import rss_mb
from pairbench.env.server import AppServer
from pairbench.env.services import ServiceUrls
from pairbench.load.measure import LoadPlan, PointOutcome, measure
from pairbench.load.segment import running_generator
from pairbench.load.segment_apps import SegmentApps
from pairbench.plan import Point
from pairbench.profiles import SWEEP_OFF, Profile
from scenarios.address_stream import HOT_SHARE, AddressStream
from tests.served import app_process

pytestmark = pytest.mark.slow
TECHNIQUES = all_techniques()
WARM_UP_LOOKUPS = 300  # a new process's first requests fill its other caches (statements)
MEASURED_LOOKUPS = 2_000
CONCURRENT_LOOKUPS = 4
# Two short rounds: enough to see a soak process kept from one round to the next.
TWO_SHORT_ROUNDS = Profile(
    "two-short-rounds",
    "a test's: two short rounds a point",
    users=2,
    warmup_min_s=0.1,
    warmup_max_s=0.2,
    round_s=0.3,
    min_requests=1,
    min_rounds=2,
    max_rounds=2,
    target_half_width=None,
    load_budget_s=300,
    point_max_s=120,
    probe_budget_s=0.1,
    scale=1,
    sweep=SWEEP_OFF,
    modes=(results.CLOSED,),
    micro_max_time_s=0.01,
    micro_min_rounds=1,
    micro_variant_budget_s=0.1,
    overhead=False,
)


@pytest.fixture(scope="module")
def shared_app(
    seeded: Settings, service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    with app_process(seeded, service_urls, tmp_path_factory.mktemp("apps")) as app:
        yield app


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_memory_segments_get_processes_of_their_own_and_the_shared_app_lives_on(
    shared_app: AppServer, tmp_path: Path
) -> None:
    shared_pid = shared_app.pid
    points = [
        Point(TECHNIQUES["n_plus_one"], {"authors": 10}),  # shared
        Point(TECHNIQUES["bounded_cache"], dict(TECHNIQUES["bounded_cache"].params)),  # soak
        Point(TECHNIQUES["streaming_export"], {"days": 1}),  # fresh_process
    ]
    plan = LoadPlan(TWO_SHORT_ROUNDS, (results.CLOSED,))
    probe = pd.DataFrame(columns=results.PROBE_COLUMNS)
    logged: list[str] = []
    # As each point ends: whether every app process that served its segments is gone.
    gone_when_done: dict[str, bool] = {}

    def on_point(outcome: PointOutcome) -> None:
        served = pd.read_csv(tmp_path / results.SEGMENTS)
        pids = served.loc[served["technique"] == outcome.technique, "app_pid"]
        gone_when_done[outcome.technique] = all(gone(int(pid)) for pid in pids)

    with running_generator(shared_app.base_url, tmp_path / "generator.log") as generator:
        measure(
            points,
            plan,
            run_dir=tmp_path,
            base_url=shared_app.base_url,
            probe=probe,
            generator=generator,
            log=logged.append,
            on_point=on_point,
            app=shared_app,
        )

    assert shared_app.pid == shared_pid and not gone(shared_pid), "the shared app was restarted"
    segments = pd.read_csv(tmp_path / results.SEGMENTS)
    variants = sum(len(point.technique.variants) for point in points)
    assert len(segments) == 2 * variants, "\n".join(logged)  # two rounds
    by_technique = {key: rows for key, rows in segments.groupby("technique")}

    shared = by_technique["n_plus_one"]
    assert (shared["app_pid"] == shared_pid).all() and not shared["fresh_process"].any()

    fresh = by_technique["streaming_export"]
    assert fresh["fresh_process"].all()
    assert fresh["app_pid"].nunique() == len(fresh) and shared_pid not in set(fresh["app_pid"])

    soak = by_technique["bounded_cache"]
    assert not soak["fresh_process"].any()
    soak_pids = soak.groupby("variant")["app_pid"].unique()
    assert all(len(pids) == 1 for pids in soak_pids)  # one process per variant, every round
    own = {int(pids[0]) for pids in soak_pids}
    assert len(own) == 2 and shared_pid not in own

    for pid in [*fresh["app_pid"], *own]:
        assert gone(int(pid)), f"app process {pid} outlived its segments"
    # A soak process is stopped once its technique is done, not at the end of the run: each
    # holds its pooled database connections.
    assert gone_when_done == {"n_plus_one": False, "bounded_cache": True, "streaming_export": True}
    # Every segment answered, and was watched in its own app (its loop lag, its memory).
    assert (segments["loop_lag_samples"] > 0).all() and (segments["rss_peak_mb"] > 0).all()
    # The shared app's own record still holds the first technique's requests.
    metrics = httpx.get(f"{shared_app.base_url}/metrics").text
    assert TECHNIQUES["n_plus_one"].path("joined") in metrics


def entry_floor_bytes() -> int:
    """A lower bound of what the unbounded memo keeps per new address: the key, the model
    and its field dict (the field values, fresh strings from each row, not counted)."""
    location = Location(
        ip="203.0.113.7",
        country="DE",
        region="Bavaria",
        city="Munich",
        time_zone="Europe/Berlin",
        asn=64512,
        organization="Metro Fiber",
        accuracy_km=25,
    )
    return sys.getsizeof("203.0.113.7") + sys.getsizeof(location) + sys.getsizeof(location.__dict__)


def ask(client: httpx.Client, variant: str, stream: AddressStream, requests: int) -> None:
    """`requests` lookups of the stream's next addresses, a few at a time."""
    technique = TECHNIQUES["bounded_cache"]
    urls = [technique.url(variant, {"ip": stream.next_address()[0]}) for _ in range(requests)]
    with ThreadPoolExecutor(CONCURRENT_LOOKUPS) as pool:
        for response in pool.map(client.get, urls):
            response.raise_for_status()


def test_in_a_process_of_its_own_only_the_unbounded_memo_grows(shared_app: AppServer) -> None:
    """The soak as the harness serves it, each variant in its own process: past its start-up
    (for the bounded cache: once full), MEASURED_LOOKUPS more, most for new addresses.

    The floor is what the new addresses' entries must take at least, so a memo that kept
    them cannot grow less; the bounded one evicts as many as it adds and reuses their
    memory: its growth is allocator noise, and the unbounded one's at least 3x it.
    """
    technique = TECHNIQUES["bounded_cache"]
    # Enough lookups for MAX_ENTRIES new addresses and more: a full bounded cache.
    warm_up = {"unbounded": WARM_UP_LOOKUPS, "bounded": int(MAX_ENTRIES / (1 - HOT_SHARE) * 1.25)}
    growth: dict[str, float] = {}
    with httpx.Client(base_url=shared_app.base_url) as client:
        apps = SegmentApps(shared_app.base_url, client, shared_app, log=lambda message: None)
        try:
            for variant in technique.variants:
                with apps.serving(technique, variant) as app:
                    assert app.pid is not None and app.pid != shared_app.pid
                    process, stream = psutil.Process(app.pid), AddressStream()
                    ask(app.client, variant, stream, warm_up[variant])
                    before = rss_mb(process)
                    ask(app.client, variant, stream, MEASURED_LOOKUPS)
                    growth[variant] = rss_mb(process) - before
        finally:
            apps.close()

    floor_mb = MEASURED_LOOKUPS * (1 - HOT_SHARE) * entry_floor_bytes() / 2**20
    print(f"\ngrowth over {MEASURED_LOOKUPS} lookups: {growth} MB; floor {floor_mb:.2f} MB")
    assert growth["unbounded"] > floor_mb
    # A bounded growth at or below zero is noise too: compare with a tenth of the floor.
    assert growth["unbounded"] > 3 * max(growth["bounded"], floor_mb / 10)


def test_without_own_processes_the_shared_app_serves_memory_techniques_too(
    shared_app: AppServer,
) -> None:
    """The gate profile's way: no app starts per segment, so none is paid for."""
    with httpx.Client(base_url=shared_app.base_url) as client:
        apps = SegmentApps(shared_app.base_url, client, shared_app, lambda _: None, False)
        for key in ("streaming_export", "bounded_cache"):
            technique = TECHNIQUES[key]
            assert technique.fresh_process or technique.soak_process, key
            for variant in technique.variants:
                with apps.serving(technique, variant) as app:
                    assert (app.pid, app.base_url, app.process) == (
                        shared_app.pid,
                        shared_app.base_url,
                        "shared",
                    )
        apps.close()
