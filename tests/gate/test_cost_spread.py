"""A cost that moves from round to round gets its room from that spread; the rest stay exact."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pairbench import results
from pairbench.gate.check import COST_TOLERANCES, compare, make_baseline
from pairbench.stats.cost_spread import cost_spreads
from pairbench.stats.rounds import t_quantile
from tests.gate.test_check import write_run

# retries' upstream calls per request under an overloaded upstream, round by round: how the
# closed-loop users' calls overlap moves them; its queries never move.
ROUND_CALLS = {"immediate_retries": [1.6, 1.9, 1.75], "no_retry": [1.0, 1.0, 1.0]}


def samples() -> pd.DataFrame:
    rows = []
    for variant, calls in ROUND_CALLS.items():
        for repetition, mean in enumerate(calls):
            # 20 requests a round averaging `mean` calls: some retried once, one failed.
            retried = round((mean - 1.0) * 20)
            for index in range(20):
                rows.append(
                    {
                        "technique": "retries",
                        "variant": variant,
                        "point": "item=1",
                        "mode": results.CLOSED,
                        "repetition": repetition,
                        "phase": results.MEASURE_PHASE,
                        "name": "target",
                        "t_start": float(index),
                        "latency_ms": 10.0,
                        "status": 200,
                        "dropped": 0,
                        "bytes": 25.0,
                        "queries": 0.0,
                        "upstream_calls": 2.0 if index < retried else 1.0,
                    }
                )
            rows.append({**rows[-1], "status": 503, "upstream_calls": 9.0})  # not counted
    return pd.DataFrame(rows)


def summary() -> pd.DataFrame:
    rows = [
        {
            "variant": variant,
            "baseline": variant == "no_retry",
            "upstream_calls_per_request": float(np.mean(calls)),
            "queries_per_request": 0.0,
            "bytes_per_request": 25.0,
        }
        for variant, calls in ROUND_CALLS.items()
    ]
    frame = pd.DataFrame(rows).assign(
        technique="retries",
        point="item=1",
        equivalent=True,
        speedup_p50=1.0,
        speedup_ci_low=0.9,
        speedup_ci_high=1.1,
        verdict="no significant difference",
    )
    return frame


def test_the_spread_is_t_standard_deviations_of_the_round_means() -> None:
    found = cost_spreads(samples(), {"upstream_calls_per_request": "upstream_calls"})
    expected = t_quantile(2) * float(np.std(ROUND_CALLS["immediate_retries"], ddof=1))
    assert found == {
        ("retries", "immediate_retries"): {"upstream_calls_per_request": pytest.approx(expected)}
    }


def test_a_baseline_widens_only_the_costs_that_moved(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "base", summary())
    samples().to_csv(run_dir / results.SAMPLES, index=False)
    baseline = make_baseline(run_dir, summary())
    relative, absolute = COST_TOLERANCES["upstream_calls_per_request"]
    spread = t_quantile(2) * float(np.std(ROUND_CALLS["immediate_retries"], ddof=1))
    assert baseline["cost_tolerances"] == {
        "retries/immediate_retries": {
            "upstream_calls_per_request": [relative, pytest.approx(absolute + spread, abs=1e-4)]
        }
    }
    assert "cost_rule" in baseline["noise"]
    # A later run whose overlap gave 2.1 calls a request (1.75 here) passes; one that
    # retries everything twice more fails; queries, exact, still fail at one more.
    later = summary()
    at = later["variant"] == "immediate_retries"
    later.loc[at, "upstream_calls_per_request"] = 2.1
    assert not [finding for finding in compare(baseline, later) if finding.regressed]
    later.loc[at, "upstream_calls_per_request"] = 3.0
    later.loc[later["variant"] == "no_retry", "queries_per_request"] = 1.0
    regressed = {(f.variant, f.metric) for f in compare(baseline, later) if f.regressed}
    assert regressed == {
        ("immediate_retries", "upstream_calls_per_request"),
        ("no_retry", "queries_per_request"),
    }


def test_a_run_without_samples_or_of_one_round_keeps_every_default(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "base", summary())
    assert make_baseline(run_dir, summary())["cost_tolerances"] == {}
    one_round = samples()
    one_round[one_round["repetition"] == 0].to_csv(run_dir / results.SAMPLES, index=False)
    assert make_baseline(run_dir, summary())["cost_tolerances"] == {}
