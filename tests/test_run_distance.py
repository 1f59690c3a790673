"""End to end at a distance: `pairbench run --db-rtt ... --rtt-sweep ...` on real servers."""

import json
from pathlib import Path

import pandas as pd
import pytest

from pairbench import results
from pairbench.env.services import ServiceUrls
from tests.test_runner import RUN_TIMEOUT_S, SMOKE_N_PLUS_ONE, only_run_dir, pairbench

pytestmark = pytest.mark.slow
AUTHORS = 50  # n_plus_one's default


def test_a_run_at_a_distance_says_so_and_sweeps_the_round_trip(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    process = pairbench(
        *SMOKE_N_PLUS_ONE,
        "--no-micro",
        "--mode",
        "closed",
        "--db-rtt",
        "0.2ms",
        "--rtt-sweep",
        "0,1ms",
        urls=service_urls,
        cwd=tmp_path,
    )
    output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    assert process.returncode == 0, output
    assert "database proxy: +" in output  # its cost, measured before the app starts
    run_dir = only_run_dir(tmp_path / "results")

    # the manifest: the RTT every figure was measured at, and what the proxies cost
    distance = json.loads((run_dir / results.MANIFEST).read_text())["distance"]
    assert distance["rtt_ms"] == {"database": 0.2, "redis": 0.0}
    assert distance["loopback"] == ["upstream"] and distance["sweep_ms"] == [0.0, 1.0]
    database = distance["proxies"]["database"]
    assert [delay["rtt_ms"] for delay in database["delays"]] == [0.2, 1.0]
    assert database["delays"][1]["extra_ms"] >= 1.0 * (1 - database["agreement"])
    assert database["cpu_us_per_round_trip"] > 0 and "load_cpu_share" in database

    # the sweep, probed one request at a time: the proxy changes no query count, and 51
    # sequential round trips take 51 RTTs or more
    probe = pd.read_csv(run_dir / results.PROBE)
    swept = probe[probe["point"].isin(["rtt_ms=0", "rtt_ms=1"])]
    assert set(swept.groupby("variant")["queries"].unique().map(tuple)) == {
        (AUTHORS + 1.0,),
        (2.0,),
        (1.0,),
    }
    at_one_ms = swept[swept["point"] == "rtt_ms=1"].groupby("variant")["latency_ms"].min()
    assert at_one_ms["naive"] >= (AUTHORS + 1) * 1.0 and at_one_ms["joined"] >= 1.0
    growth = pd.read_csv(run_dir / results.GROWTH)
    over_rtt = growth[growth["parameter"] == results.RTT_PARAMETER]
    assert sorted(over_rtt["variant"]) == ["joined", "naive", "selectin"]
    assert (over_rtt["points"] == 2).all()

    report = tmp_path / output.strip().splitlines()[-1].split(":", 1)[1].strip()
    html = report.read_text()
    for needle in ("At what distance", "database 0.2 ms", "round trip to PostgreSQL and Redis"):
        assert needle in html
