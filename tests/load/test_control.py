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


def test_the_control_is_measured_in_fixed_rounds_more_than_the_points_minimum() -> None:
    """The gate's and quick's floors from 8 rounds, smoke's from 3 (its points have one); an
    adaptive profile's points still stop by their target, its control does not."""
    gate, quick, smoke = PROFILES["gate"], PROFILES["quick"], PROFILES["smoke"]
    assert gate.first_rounds(control=False) == gate.min_rounds == 3
    assert gate.first_rounds(control=True) == gate.control_rounds == 8
    assert quick.first_rounds(control=True) == 8 and quick.first_rounds(control=False) == 3
    assert smoke.first_rounds(control=True) == 3 and smoke.first_rounds(control=False) == 1
    assert quick.adapts(control=False) and not quick.adapts(control=True)
    assert not gate.adapts(control=False)
    standard = PROFILES["standard"]  # no rounds of its own: its control adapts like a point
    assert standard.first_rounds(control=True) == standard.min_rounds and standard.adapts(True)
