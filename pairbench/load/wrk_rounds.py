"""A technique's variants loaded by wrk in interleaved rounds: each variant's throughput
per round, from which a ratio and its CI come as from a run's own rounds.

A warm-up of each variant first (not counted), then rounds in which every variant runs
once, in an order shuffled each round from a seed, so that drift of the machine falls on
all of them alike (pairbench.load.measure does the same with Locust). A variant that
answers errors has no throughput to compare: VariantFailed names it.
"""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bench_app.technique import Technique
from pairbench.console import Log
from pairbench.load.measure import reset
from pairbench.load.wrk import run_wrk

DEFAULT_ROUNDS = 5
DEFAULT_ROUND_S = 2  # wrk measures for whole seconds
DEFAULT_WARMUP_S = 1


class VariantFailed(Exception):
    """A variant answered errors under wrk: it has no throughput to compare."""


@dataclass(frozen=True)
class WrkPlan:
    """How wrk measures: `users` connections, `rounds` of `round_s` per variant after
    `warmup_s`, each round's order shuffled from `order_seed` (and the technique)."""

    users: int
    rounds: int = DEFAULT_ROUNDS
    round_s: int = DEFAULT_ROUND_S
    warmup_s: int = DEFAULT_WARMUP_S
    order_seed: int = 0

    def seconds_per_variant(self) -> int:
        return self.warmup_s + self.rounds * self.round_s


def measure_rounds(
    wrk: str,
    base_url: str,
    client: httpx.Client,
    technique: Technique,
    params: Mapping[str, Any],
    variants: Sequence[str],
    plan: WrkPlan,
    log: Log,
) -> dict[str, list[float]]:
    """Each variant's wrk throughput (requests/s) per round, in round order, at `params`;
    the technique's state reset before each wrk call, as before each Locust segment."""
    urls = {variant: base_url + technique.url(variant, params) for variant in variants}
    found: dict[str, list[float]] = {variant: [] for variant in variants}
    order = random.Random(f"{plan.order_seed}:{technique.key}")  # a sequence per technique

    def load(variant: str, seconds: int) -> float:
        reset(client, technique, params)
        report = run_wrk(wrk, urls[variant], plan.users, seconds, technique.request_headers)
        if report.errors:
            raise VariantFailed(
                f"{technique.key}/{variant} answered {report.describe_errors()} under wrk "
                f"({urls[variant]}): its throughput cannot be compared"
            )
        return report.requests_per_second

    for variant in variants:
        load(variant, plan.warmup_s)
    for number in range(1, plan.rounds + 1):
        shuffled = order.sample(list(variants), len(variants))
        for variant in shuffled:
            found[variant].append(load(variant, plan.round_s))
        figures = ", ".join(f"{variant} {found[variant][-1]:,.0f}" for variant in shuffled)
        log(f"    round {number}/{plan.rounds}: {figures} req/s")
    return found
