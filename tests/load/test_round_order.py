"""Each round's order of variants, and the A/A control's arms."""

import random

import pytest

from pairbench.load.control import ControlError, control_of
from pairbench.load.measure import round_order
from pairbench.profiles import PROFILES
from pairbench.results import CONTROL_ARMS, CONTROL_KEY


def orders(seed: int, rounds: int = 12) -> list[list[str]]:
    rng = random.Random(seed)
    return [round_order(["naive", "offset", "keyset"], rng) for _ in range(rounds)]


def test_every_round_has_every_variant_once_in_an_order_that_varies() -> None:
    found = orders(seed=3)
    assert all(sorted(order) == ["keyset", "naive", "offset"] for order in found)
    assert len({tuple(order) for order in found}) > 1
    assert len({order[0] for order in found}) > 1  # no variant always goes first


def test_the_same_seed_gives_the_same_orders() -> None:
    assert orders(seed=11) == orders(seed=11)
    assert orders(seed=11) != orders(seed=12)


def test_every_profile_has_a_control_of_one_variant_as_two_arms() -> None:
    for profile in PROFILES.values():
        found = control_of(profile)
        assert found is not None, profile.name
        point, arms = found
        assert arms.key == CONTROL_KEY and tuple(arms.variants) == CONTROL_ARMS
        assert len(set(arms.variants.values())) == 1 and arms.baseline == CONTROL_ARMS[0]
        assert point.label == profile.control


def test_a_control_that_names_no_variant_is_refused() -> None:
    from dataclasses import replace

    with pytest.raises(ControlError, match="no variant"):
        control_of(replace(PROFILES["smoke"], control="projection/nothing"))
