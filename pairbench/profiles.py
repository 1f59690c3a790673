"""Run profiles: how long, how hard and how often each variant is measured. The one place."""

from dataclasses import dataclass

from pairbench.results import CLOSED, OPEN

SWEEP_OFF, SWEEP_PROBE, SWEEP_LOAD = "off", "probe", "load"
SWEEP_CHOICES = (SWEEP_OFF, SWEEP_PROBE, SWEEP_LOAD)
# The open-loop arrival rate, as a share of the baseline's capacity (its closed-loop
# throughput at this point): high enough to queue, low enough that it can keep up.
OPEN_LOOP_LOAD = 0.7
PROBE_REQUESTS = 20  # sequential requests per variant and point, for the cost split and sweeps
# (a profile may ask fewer: Profile.probe_requests), and per variant and RTT in --rtt-sweep
# One request of the slowest variant: bulk_insert's row_by_row at its largest batch commits
# 1,000 times, a second on a quiet machine and far longer on a busy one.
REQUEST_TIMEOUT_S = 300.0
# A closed-loop segment measures its round_s, or up to this many times longer until its
# min_requests have answered (a variant whose requests take seconds).
SEGMENT_STRETCH = 4.0
# Locust's distributed mode (--workers, --remote-workers): the master's port, Locust's own
# default, and how long the generator waits for every worker to connect (they retry for 5 min).
LOCUST_MASTER_PORT = 5557
LOAD_WORKERS_WAIT_S = 90.0


@dataclass(frozen=True)
class Profile:
    """One way to run the suite, from a seconds-long smoke test to a careful measurement.

    A point (a technique at one set of parameters) is measured in rounds, each variant
    once per round, interleaved. After `min_rounds` the rounds so far decide how many
    more the speedups need for a CI within `target_half_width` (pairbench.stats.rounds),
    up to `max_rounds` and the point's share of `load_budget_s`. Without a target the
    rounds are fixed at `min_rounds`.
    """

    name: str
    description: str
    users: int  # concurrent closed-loop Locust users per variant
    warmup_min_s: float  # warm-up, excluded from the figures, lasts until latency settles,
    warmup_max_s: float  # between these bounds (open loop: always the maximum)
    round_s: float  # measured seconds per variant per round, or longer (up to 4x) until
    min_requests: int  # this many requests answered (closed loop)
    min_rounds: int  # rounds before the rounds needed are judged (6+ a side: the U test too)
    max_rounds: int
    target_half_width: float | None  # the speedup CIs' half-width sought, as a share
    load_budget_s: float  # all points' load; a point gets its share of what is left,
    point_max_s: float  # but never more than this
    probe_budget_s: float  # per variant and point, for the one-request-at-a-time probe (0: none)
    scale: float  # data set size (1 = 1000 users, ~10k posts)
    sweep: str  # sweep points: "off", "probe" (one request at a time) or "load" (also loaded)
    modes: tuple[str, ...]  # load modes run unless --mode says otherwise
    micro_max_time_s: float  # pytest-benchmark's time budget per variant
    micro_min_rounds: int  # rounds per variant, unless that would take longer than
    micro_variant_budget_s: float  # this: a slow variant gets fewer (at least 3)
    overhead: bool = True  # measure what the meter and /metrics cost (pairbench.load.overhead)
    # Serve memory techniques' segments from app processes of their own (fresh_process,
    # soak_process); off, the shared app serves them: their memory figures mean nothing
    # then, their latencies and costs still do (the gate reads only those).
    own_processes: bool = True
    # Measured seconds of the load generator's ceiling (pairbench.load.ceiling), at the
    # load stage's start, after a warm-up within the profile's bounds (0: not measured).
    ceiling_s: float = 2.0
    # Sequential requests per variant and point in the probe (within probe_budget_s): its
    # medians split each variant's time and fit the sweeps' growth curves.
    probe_requests: int = PROBE_REQUESTS
    # The A/A control ("technique/variant"): that variant against itself as two arms, measured
    # like any point; its speedup CI is the run's noise floor ("" for none).
    control: str = ""
    # Rounds of the control, where more than the points' minimum, and then fixed (0: as any
    # point): a CI from 3 rounds is 2.5 times their spread wide, and that width itself varies
    # from run to run (gate floors of +/-3.2% to 14.7% on unchanged code); from 8, 0.8
    # times. From one round (smoke's points) there is no spread at all: a bootstrap of the
    # requests within it called two arms of one variant different in most smoke runs.
    control_rounds: int = 0

    @property
    def longest_segment_s(self) -> float:
        return self.warmup_max_s + self.round_s * SEGMENT_STRETCH

    @property
    def adaptive(self) -> bool:
        return self.target_half_width is not None and self.max_rounds > self.min_rounds

    def first_rounds(self, control: bool) -> int:
        """The rounds a point runs before any is judged: the minimum, or for the A/A
        control its own rounds if more."""
        if control:
            return max(self.min_rounds, self.control_rounds)
        return self.min_rounds

    def adapts(self, control: bool) -> bool:
        """Whether the stopping rule decides a point's rounds: never the A/A control's where
        the profile fixes them (its floor is measured alike from run to run)."""
        return self.adaptive and not (control and self.control_rounds)


# A cheap variant whose answer does not change under load: one small query.
CONTROL = "projection/columns"
# `pairbench run --control` and this environment variable name another, or NO_CONTROL none.
CONTROL_VARIABLE, NO_CONTROL = "PAIRBENCH_CONTROL", "none"
# Budgets, on a 2-core machine: smoke <= 3 min, quick <= 10 min, standard <= 45 min
# in all. Standard loads its 24 defaults in both modes (open loop at the 11 without a
# workload of their own): five rounds of every variant take ~1,450 s (a segment ~3 s
# closed, ~3.5 s open, whose warm-up is always its maximum), and the 1,700 s load budget
# leaves some for more rounds, and ~12 min for seeding ten times the data, the probe (up to
# 5 s a variant at each of 60 points), microbenchmarks, stats and the report. Loading its
# sweep points too (`--sweep load`: 60 points) would take about three times as long.
PROFILES = {
    profile.name: profile
    for profile in (
        Profile(
            "smoke", "seconds per variant, one round: does it all work?",
            users=8, warmup_min_s=0.2, warmup_max_s=0.3, round_s=0.4, min_requests=10,
            min_rounds=1, max_rounds=1, target_half_width=None,
            load_budget_s=150, point_max_s=30, probe_budget_s=0.3,
            scale=1, sweep=SWEEP_OFF, modes=(CLOSED,),
            micro_max_time_s=0.05, micro_min_rounds=5, micro_variant_budget_s=0.15,
            overhead=False, ceiling_s=1.0, probe_requests=3, control=CONTROL,
            control_rounds=3,
        ),
        Profile(
            "gate", "the CI regression gate: three short rounds a point, the A/A control eight",
            users=8, warmup_min_s=0.2, warmup_max_s=0.5, round_s=0.5, min_requests=10,
            min_rounds=3, max_rounds=3, target_half_width=None,
            load_budget_s=300, point_max_s=20, probe_budget_s=0,
            scale=1, sweep=SWEEP_OFF, modes=(CLOSED,),
            micro_max_time_s=0.05, micro_min_rounds=5, micro_variant_budget_s=0.5,
            overhead=False, own_processes=False, ceiling_s=0, control=CONTROL,
            control_rounds=8,
        ),
        Profile(
            "quick", "minutes: rounds until each speedup is known to +/-10%, sweeps probed",
            users=8, warmup_min_s=0.25, warmup_max_s=0.75, round_s=0.75, min_requests=15,
            min_rounds=3, max_rounds=10, target_half_width=0.10,
            load_budget_s=300, point_max_s=45, probe_budget_s=1,
            scale=1, sweep=SWEEP_PROBE, modes=(CLOSED,),
            micro_max_time_s=0.2, micro_min_rounds=10, micro_variant_budget_s=1.0,
            probe_requests=10, control=CONTROL, control_rounds=8,
        ),
        Profile(
            "standard", "careful: speedups to +/-5%, ten times the data, closed and open loop",
            users=16, warmup_min_s=0.5, warmup_max_s=1.5, round_s=1.5, min_requests=30,
            min_rounds=5, max_rounds=20, target_half_width=0.05,
            load_budget_s=1700, point_max_s=120, probe_budget_s=5,
            scale=10, sweep=SWEEP_PROBE, modes=(CLOSED, OPEN),
            micro_max_time_s=1.0, micro_min_rounds=20, micro_variant_budget_s=5.0,
            ceiling_s=3.0, control=CONTROL,
        ),
    )
}  # fmt: skip
DEFAULT_PROFILE = "quick"
MODE_CHOICES = {"closed": (CLOSED,), "open": (OPEN,), "both": (CLOSED, OPEN)}
