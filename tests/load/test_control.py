"""The A/A control: one variant measured as two arms, named by each profile."""

from dataclasses import replace

import pytest

from pairbench.load.control import ControlError, control_of
from pairbench.profiles import PROFILES
from pairbench.results import CONTROL_ARMS, CONTROL_KEY


def test_every_profile_has_a_control_of_one_variant_as_two_arms() -> None:
    for profile in PROFILES.values():
        found = control_of(profile)
        assert found is not None, profile.name
        point, arms = found
        assert arms.key == CONTROL_KEY and tuple(arms.variants) == CONTROL_ARMS
        assert len(set(arms.variants.values())) == 1 and arms.baseline == CONTROL_ARMS[0]
        assert point.label == profile.control


def test_a_control_that_names_no_variant_is_refused() -> None:
    with pytest.raises(ControlError, match="no variant"):
        control_of(replace(PROFILES["smoke"], control="projection/nothing"))


def test_a_fixed_round_profile_measures_its_control_in_more_rounds_than_its_points() -> None:
    """The gate's floor from 8 rounds, its points from 3; an adaptive profile's control
    starts at the minimum like every point, and its target decides the rest."""
    gate, quick = PROFILES["gate"], PROFILES["quick"]
    assert gate.first_rounds(control=False) == gate.min_rounds == 3
    assert gate.first_rounds(control=True) == gate.control_rounds == 8
    assert quick.first_rounds(control=True) == quick.first_rounds(control=False) == quick.min_rounds
