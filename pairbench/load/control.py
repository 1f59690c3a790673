"""The A/A control: one cheap variant measured against itself, as two arms, like any point.

Both arms request the same variant, interleaved and shuffled per round like any point's
variants, so their true ratio is 1: the width of its CI is what the run's noise alone
gives a comparison (the noise floor), and a verdict other than "no significant
difference" says the rounds are not exchangeable (drift, order effects).
"""

from bench_app.headline import P50
from bench_app.techniques import all_techniques
from pairbench.load.measure import Arms
from pairbench.plan import Point
from pairbench.profiles import Profile
from pairbench.results import CONTROL_ARMS, CONTROL_KEY


class ControlError(ValueError):
    """A profile's control names no variant of the catalog."""


def control_arms(variant: str) -> Arms:
    """The control's two arms, both requesting `variant`, filed under CONTROL_KEY."""
    return Arms(CONTROL_KEY, dict.fromkeys(CONTROL_ARMS, variant), CONTROL_ARMS[0], P50)


def control_of(profile: Profile) -> tuple[Point, Arms] | None:
    """The profile's control point and its two arms (None if it has no control)."""
    if not profile.control:
        return None
    key, _, variant = profile.control.partition("/")
    technique = all_techniques().get(key)
    if technique is None or variant not in technique.variants:
        raise ControlError(f"profile {profile.name}: control {profile.control!r} is no variant")
    point = Point(technique, dict(technique.params), given_label=profile.control)
    return point, control_arms(variant)


def control_equivalence(profile: Profile) -> dict[str, dict[str, object]]:
    """The control's arms in equivalence.json: one variant, so equal by construction."""
    return arms_equivalence(profile.control)


def arms_equivalence(control: str) -> dict[str, dict[str, object]]:
    """The arms of the control `control` names in equivalence.json: equal by construction."""
    detail = f"both arms are {control}"
    return {arm: {"equivalent": True, "detail": detail} for arm in CONTROL_ARMS}
