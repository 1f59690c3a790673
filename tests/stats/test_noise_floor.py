"""The A/A control's row becomes the run's noise floor."""

import math

import pandas as pd

from pairbench.manifest import Manifest
from pairbench.results import CONTROL_KEY
from pairbench.stats.noise_floor import noise_floor, without_control


def summary(verdict: str = "no significant difference") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "technique": CONTROL_KEY,
                "variant": "a",
                "point": "projection/columns",
                "speedup_p50": 1.0,
                "speedup_ci_low": 1.0,
                "speedup_ci_high": 1.0,
                "repetitions": 6,
                "verdict": "baseline",
            },
            {
                "technique": CONTROL_KEY,
                "variant": "b",
                "point": "projection/columns",
                "speedup_p50": 1.01,
                "speedup_ci_low": 0.96,
                "speedup_ci_high": 1.06,
                "repetitions": 6,
                "verdict": verdict,
            },
            {
                "technique": "projection",
                "variant": "columns",
                "point": "default",
                "speedup_p50": 2.0,
                "speedup_ci_low": 1.8,
                "speedup_ci_high": 2.2,
                "repetitions": 6,
                "verdict": "faster",
            },
        ]
    )


def test_the_floor_is_the_second_arms_ci_against_the_first() -> None:
    floor = noise_floor(summary(), Manifest(run_id="run", control="projection/columns"))
    assert floor is not None
    assert math.isclose(floor.half_width, 0.05 / 1.01)
    assert floor.describe() == (
        "noise floor (A/A control: projection/columns against itself, 6 rounds): "
        "1.010x [0.960, 1.060], +/-5.0%"
    )
    assert floor.manifest_entry()["half_width"] == round(0.05 / 1.01, 4)


def test_arms_that_differ_are_called_out() -> None:
    floor = noise_floor(summary("faster"), Manifest(run_id="run"))
    assert floor is not None and "WARNING: the two arms differ (faster)" in floor.describe()


def test_a_run_without_a_control_has_no_floor_and_techniques_leave_it_out() -> None:
    techniques = without_control(summary())
    assert noise_floor(techniques, Manifest(run_id="run")) is None
    assert list(techniques["technique"]) == ["projection"]
