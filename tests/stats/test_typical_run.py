"""A baseline's figures from each technique's typical run among several of the same code."""

import pandas as pd

from pairbench.results import CONTROL_KEY
from pairbench.stats.typical_run import typical_runs, typical_summary
from tests.stats.test_tolerance import summary, with_headline


def run(selectin: float, cached: float, floor: float = 0.02) -> pd.DataFrame:
    """n_plus_one at `selectin`x and cache_aside at `cached`x, with an A/A control."""
    cache = summary(cached, floor=None).assign(technique="cache_aside")
    return with_headline(pd.concat([summary(selectin, floor=floor), cache], ignore_index=True))


def test_each_technique_is_taken_from_the_run_in_the_middle_of_its_own_speedups() -> None:
    runs = [run(3.0, 9.0, floor=0.01), run(2.4, 11.0), run(2.7, 10.0)]
    assert typical_runs(runs) == {"n_plus_one": 2, "cache_aside": 2}
    runs.append(run(2.6, 12.0))  # four: the lower of the two middle ones
    assert typical_runs(runs) == {"n_plus_one": 3, "cache_aside": 2}
    typical = typical_summary(runs, typical_runs(runs))
    speedups = typical.set_index(["technique", "variant"])["headline_speedup"]
    assert speedups[("n_plus_one", "selectin")] == 2.6
    assert speedups[("cache_aside", "selectin")] == 10.0
    # the A/A control stays the first run's, and the first run's order is kept
    control = typical[typical["technique"] == CONTROL_KEY]
    assert control["speedup_ci_high"].max() == 1.01
    assert list(dict.fromkeys(typical["technique"])) == list(dict.fromkeys(runs[0]["technique"]))


def test_ranks_not_ratios_so_a_saving_of_zero_counts_and_one_run_stays_itself() -> None:
    """A growth headline is what a variant saves (baseline - variant): 0 is a figure too."""
    savings = [run(2.0, 1.0).assign(headline_speedup=value) for value in (0.0, 5.0, 2.0)]
    assert typical_runs(savings)["n_plus_one"] == 2
    assert typical_runs([run(3.0, 9.0)]) == {"n_plus_one": 0, "cache_aside": 0}
    # a variant some run did not measure is left out of the ranks, not taken as missing
    partial = run(2.5, 9.0).query("technique != 'cache_aside'")
    assert typical_runs([run(3.0, 9.0), partial, run(2.0, 9.0)]) == {"n_plus_one": 1}
