"""The stopping rule judges each technique's headline, of the requests it names."""

import math

import numpy as np
import pandas as pd

from bench_app.headline import P50, Headline
from pairbench import results
from pairbench.load.measure import Arms, half_widths, planned_rounds
from pairbench.profiles import PROFILES


def segment(kind_latencies: dict[str, list[float]]) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "phase": results.MEASURE_PHASE,
                "name": kind,
                "latency_ms": values,
                "status": 200,
                "dropped": 0,
            }
        )  # fmt: skip
        for kind, values in kind_latencies.items()
    ]
    return pd.concat(frames, ignore_index=True)


def rounds(read_tails: dict[str, list[float]]) -> dict[str, list[tuple[pd.DataFrame, dict]]]:
    """Per arm, rounds whose targets agree exactly and whose readers' p99 is given; the
    targets of the second arm are noisy from round to round, the readers are not."""
    rng = np.random.default_rng(0)
    found: dict[str, list[tuple[pd.DataFrame, dict]]] = {}
    for arm, tails in read_tails.items():
        for tail in tails:
            target = [40.0 * float(rng.uniform(0.5, 1.5)) if arm == "tag_set" else 40.0] * 20
            frame = segment({"target": target, "read": [5.0] * 99 + [tail]})
            found.setdefault(arm, []).append((frame, {}))
    return found


ARMS = {"keys_del": "keys_del", "tag_set": "tag_set"}


def test_the_rounds_needed_and_the_ci_are_of_the_readers_tail_when_that_is_the_headline() -> None:
    measured = rounds({"keys_del": [120.0, 118.0, 121.0], "tag_set": [15.0, 15.2, 14.9]})
    profile = PROFILES["quick"]
    on_reads = Arms("invalidation", ARMS, "keys_del", Headline("p99_ms", "read"))
    on_targets = Arms("invalidation", ARMS, "keys_del", P50)
    steady = half_widths(measured, on_reads, 3)["tag_set"]
    noisy = half_widths(measured, on_targets, 3)["tag_set"]
    assert steady < 0.05 < noisy
    assert planned_rounds(measured, on_reads, profile) == profile.min_rounds
    needed = planned_rounds(measured, on_targets, profile)
    assert needed is not None and needed > profile.min_rounds


def test_a_headline_kind_the_rounds_lack_gives_no_plan() -> None:
    measured = rounds({"keys_del": [120.0, 118.0], "tag_set": [15.0, 15.2]})
    on_bystanders = Arms("invalidation", ARMS, "keys_del", Headline("p50_ms", "bystander"))
    assert planned_rounds(measured, on_bystanders, PROFILES["quick"]) is None
    assert math.isnan(half_widths(measured, on_bystanders, 2)["tag_set"])
