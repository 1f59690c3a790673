"""The figure a technique is judged on: which measure, of which of its workload's requests.

Most techniques are judged on the p50 latency of the variant's own requests. Some show
their point elsewhere: in the latency of other clients sharing a resource with it (the
readers beside an invalidation, the bystanders beside a blocking call), in the app's
memory (a leak's growth, an export's peak), in Redis's (job records kept) or in the bytes
sent. The leaderboard, the
console, the stopping rule and the gate all read this one declaration.

Most figures compare as a ratio: baseline / variant, above 1 = better. A growth compares as
a difference: baseline - variant, what the variant saves per 10,000 requests, above 0 =
better. The variant that fixes a leak grows by about nothing, within noise of 0 and at
times below it, and a ratio against that says nothing (it was 295x [24, 3533] once).
"""

from dataclasses import dataclass

TARGET_KIND = "target"  # the variant's own requests (the samples' `name`)
# Every figure is "lower is better", so a headline's speedup is baseline / variant.
LATENCY_FIGURES = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0}  # column -> percentile
MEMORY_GROWTH = "rss_growth_per_10k_mb"  # the app's RSS growth per 10,000 requests (a soak)
PEAK_MEMORY = "peak_rss_mb"  # the app's highest RSS in a segment (a fresh process each)
BYTES_SENT = "bytes_per_request"  # bytes on the wire per request (after any encoding)
# Redis's used_memory growth per 10,000 requests: what a technique leaves behind in Redis
REDIS_GROWTH = "redis_growth_per_10k_mb"
FIGURE_NAMES = {
    "p50_ms": "p50",
    "p95_ms": "p95",
    "p99_ms": "p99",
    MEMORY_GROWTH: "memory growth per 10k requests",
    PEAK_MEMORY: "peak memory",
    BYTES_SENT: "bytes sent",
    REDIS_GROWTH: "Redis memory growth per 10k requests",
}
GROWTH_FIGURES = frozenset({MEMORY_GROWTH, REDIS_GROWTH})  # compared as a difference
FIGURE_UNITS = {MEMORY_GROWTH: "MB", PEAK_MEMORY: "MB", BYTES_SENT: "B", REDIS_GROWTH: "MB"}


@dataclass(frozen=True)
class Headline:
    """A technique's headline: `figure` (a summary column) of its requests of kind `kind`."""

    figure: str = "p50_ms"
    kind: str = TARGET_KIND  # "target", or a mixed workload's other kind ("read", "bystander")

    def __post_init__(self) -> None:
        if self.figure not in FIGURE_NAMES:
            raise ValueError(
                f"headline figure {self.figure!r} is not one of {', '.join(FIGURE_NAMES)}"
            )
        if self.kind != TARGET_KIND and self.figure not in LATENCY_FIGURES:
            raise ValueError(f"{self.figure} is a figure of the variant's own requests only")

    @property
    def percentile(self) -> float | None:
        """The latency percentile it is, or None for a memory or bytes figure."""
        return LATENCY_FIGURES.get(self.figure)

    @property
    def by_difference(self) -> bool:
        """Compared as baseline - variant (a growth), not as baseline / variant."""
        return self.figure in GROWTH_FIGURES

    @property
    def is_memory(self) -> bool:
        return self.figure in (MEMORY_GROWTH, PEAK_MEMORY)

    @property
    def unit(self) -> str:
        return FIGURE_UNITS.get(self.figure, "ms")

    @property
    def label(self) -> str:
        """What it is in words: "p50", "read p99", "memory growth per 10k requests"."""
        name = FIGURE_NAMES[self.figure]
        return name if self.kind == TARGET_KIND else f"{self.kind} {name}"


P50 = Headline()
