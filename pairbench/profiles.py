"""Run profiles: how long, how hard and how often each variant is measured."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """One way to run the suite, from a seconds-long smoke test to a careful measurement."""

    name: str
    description: str
    users: int  # concurrent closed-loop Locust users per variant
    warmup_s: float  # excluded from the figures: connection set-up, caches, JIT-free warm-up
    duration_s: float  # measured seconds per variant per repetition
    repetitions: int  # interleaved A B C A B C rounds
    scale: float  # data set size (1 = 1000 users, ~10k posts)
    sweep: bool  # also run each technique's sweep points, not only its defaults


PROFILES = {
    profile.name: profile
    for profile in (
        Profile("smoke", "seconds per variant, one round: does it all work?", 8, 1, 4, 1, 1, False),
        Profile("quick", "a few minutes: three interleaved rounds", 8, 2, 8, 3, 1, False),
        Profile("standard", "careful: five rounds, larger data, sweeps", 16, 5, 20, 5, 10, True),
    )
}
DEFAULT_PROFILE = "quick"
