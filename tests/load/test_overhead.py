"""The overhead measurement: every configuration on every target, interleaved, on real servers."""

import gc
from pathlib import Path

import pytest

from bench_app.settings import Settings
from pairbench.load.overhead import (
    CONFIGURATIONS,
    TARGET_TURNS,
    TARGETS,
    ServedInMemory,
    measure_overhead,
    turns_of,
)
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


def test_a_heavy_request_is_timed_from_a_collected_heap(
    tmp_path: Path, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection comes right before each heavy request (else the debt of the
    requests before it falls on whichever configuration comes next), not before others."""
    events: list[str] = []
    heavy = {TARGETS[target] for target in TARGET_TURNS}

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            events.append("full collection")

    get = ServedInMemory.get

    async def recorded_get(self: ServedInMemory, path: str) -> int:
        events.append(path)
        return await get(self, path)

    monkeypatch.setattr(ServedInMemory, "get", recorded_get)
    gc.callbacks.append(on_collection)
    try:
        measure_overhead(tmp_path, seeded, log=lambda message: None, rounds=2)
    finally:
        gc.callbacks.remove(on_collection)
    requests = [(index, path) for index, path in enumerate(events) if path != "full collection"]
    timed = requests[-2 * len(CONFIGURATIONS) * sum(turns_of(target) for target in TARGETS) :]
    after_one: dict[str, list[bool]] = {}  # path -> whether each came after a full collection
    for index, path in timed:
        after_one.setdefault(path, []).append(events[index - 1] == "full collection")
    for path, collected in after_one.items():
        if path in heavy:
            assert all(collected), path
        else:  # a light request's own collections are in its time: none is forced
            assert sum(collected) < len(collected) / 2, path
