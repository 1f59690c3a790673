"""Run profiles: how long, how hard and how often each variant is measured. The one place."""

from dataclasses import dataclass

from pairbench.results import CLOSED, OPEN

SWEEP_OFF, SWEEP_PROBE, SWEEP_LOAD = "off", "probe", "load"
# The open-loop arrival rate, as a share of the baseline's capacity (its closed-loop
# throughput at this point): high enough to queue, low enough that it can keep up.
OPEN_LOOP_LOAD = 0.7
PROBE_REQUESTS = 20  # sequential requests per variant and point, for the cost split and sweeps
# One request of the slowest variant: bulk_insert's row_by_row at rows=10000 commits 10,000
# times, over 10 s on a quiet machine and past a minute on a busy one.
REQUEST_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Profile:
    """One way to run the suite, from a seconds-long smoke test to a careful measurement."""

    name: str
    description: str
    users: int  # concurrent closed-loop Locust users per variant
    warmup_s: float  # excluded from the figures: connection set-up, caches, JIT-free warm-up
    duration_s: float  # measured seconds per variant per repetition
    repetitions: int  # interleaved A B C A B C rounds (6+ a side enables the U test)
    scale: float  # data set size (1 = 1000 users, ~10k posts)
    sweep: str  # sweep points: "off", "probe" (one request at a time) or "load" (also loaded)
    modes: tuple[str, ...]  # load modes run unless --mode says otherwise
    micro_max_time_s: float  # pytest-benchmark's time budget per variant
    micro_min_rounds: int
    overhead: bool = True  # measure what the meter and /metrics cost (pairbench.load.overhead)


PROFILES = {
    profile.name: profile
    for profile in (
        Profile(
            "smoke", "seconds per variant, one round: does it all work?",
            users=8, warmup_s=1, duration_s=4, repetitions=1, scale=1, sweep=SWEEP_OFF,
            modes=(CLOSED,), micro_max_time_s=0.05, micro_min_rounds=5, overhead=False,
        ),
        Profile(
            "quick", "a few minutes a technique: three interleaved rounds, sweeps probed",
            users=8, warmup_s=2, duration_s=8, repetitions=3, scale=1, sweep=SWEEP_PROBE,
            modes=(CLOSED,), micro_max_time_s=0.3, micro_min_rounds=10,
        ),
        Profile(
            "standard", "careful: six rounds, closed and open loop, sweeps under load",
            users=16, warmup_s=5, duration_s=15, repetitions=6, scale=10, sweep=SWEEP_LOAD,
            modes=(CLOSED, OPEN), micro_max_time_s=1.0, micro_min_rounds=20,
        ),
    )
}  # fmt: skip
DEFAULT_PROFILE = "quick"
MODE_CHOICES = {"closed": (CLOSED,), "open": (OPEN,), "both": (CLOSED, OPEN)}
