"""The overhead measurement: every configuration on every target, interleaved, on real servers."""

from pathlib import Path

from bench_app.settings import Settings
from pairbench.load.overhead import CONFIGURATIONS, TARGETS, measure_overhead
from pairbench.stats.overhead import read_overhead


def test_every_configuration_and_target_is_measured_each_round(
    tmp_path: Path, seeded: Settings
) -> None:
    measured = measure_overhead(tmp_path, seeded, log=lambda message: None, rounds=2)
    assert read_overhead(tmp_path).shape == measured.shape
    assert len(measured) == 2 * len(CONFIGURATIONS) * len(TARGETS)
    assert set(measured["config"]) == set(CONFIGURATIONS)
    assert set(measured["path"]) == set(TARGETS.values())
    assert (measured["failures"] == 0).all() and (measured["cpu_us_per_request"] > 0).all()
    for round_number, one_round in measured.groupby("round"):  # each round holds them all
        assert len(one_round) == len(CONFIGURATIONS) * len(TARGETS), round_number
