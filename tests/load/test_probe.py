"""The probe's requests: a few unrecorded warm-ups in a share of the budget, then sequential
ones within it; a variant slower than the whole budget is sent once, not warmed up and then
measured; a failed request is kept with its status and error, and left out of the figures."""

import asyncio

import httpx
import pandas as pd
from fastapi import APIRouter, FastAPI, HTTPException

from pairbench.load.probe import WARMUP_REQUESTS, WARMUP_SHARE, probe_variant
from pairbench.results import PROBE_COLUMNS
from pairbench.stats.probe_summary import probe_failures, summarize_probe
from tests.demo_technique import demo_technique
from tests.served import served

router = APIRouter(prefix="/probed")
received = {"fast": 0, "slow": 0}
flaky_received = [0]
SLOW_S = 0.3


@router.get("/fast")
async def fast() -> int:
    received["fast"] += 1
    return received["fast"]


@router.get("/slow")
async def slow() -> int:  # a variant whose one request outlasts the probe's budget
    received["slow"] += 1
    await asyncio.sleep(SLOW_S)
    return received["slow"]


@router.get("/flaky")
async def flaky() -> int:  # every third request fails, as a batch that timed out does
    flaky_received[0] += 1
    if flaky_received[0] % 3 == 0:
        raise HTTPException(502, "the batch failed: not done within 60 s")
    return flaky_received[0]


TECHNIQUE = demo_technique("probed", router, ("fast", "slow"), baseline="fast", params={})
FLAKY = demo_technique("probed", router, ("fast", "flaky"), baseline="fast", params={})


async def probe_both(budget_s: float) -> dict[str, int]:
    app = FastAPI()
    app.include_router(router)
    received.update(fast=0, slow=0)
    async with served(app) as base_url:

        def probe() -> dict[str, int]:
            with httpx.Client(base_url=base_url, timeout=10) as client:
                return {
                    variant: len(probe_variant(client, TECHNIQUE, variant, {}, 5, budget_s))
                    for variant in TECHNIQUE.variants
                }

        return await asyncio.to_thread(probe)


async def test_fast_variants_are_warmed_up_then_measured_the_asked_number_of_times() -> None:
    rows = await probe_both(budget_s=SLOW_S * 20)
    assert rows == {"fast": 5, "slow": 5}
    assert received == {"fast": WARMUP_REQUESTS + 5, "slow": WARMUP_REQUESTS + 5}


async def test_a_warm_up_longer_than_the_budget_is_the_one_measured_request() -> None:
    rows = await probe_both(budget_s=SLOW_S / 4)
    assert rows["slow"] == 1
    assert received["slow"] == 1  # sent once: not warmed up, then sent again


async def test_warm_ups_stop_at_their_share_of_the_budget() -> None:
    # A budget of 1.9 slow requests: past the warm-ups' share after one, past the whole
    # budget after a second, and the warm-up still within the budget unless its answer is
    # late by 0.9 of a request (a loaded machine made a 1.25-request budget's 0.05 s too few).
    budget_s = SLOW_S * 1.9
    rows = await probe_both(budget_s=budget_s)
    assert budget_s * WARMUP_SHARE < SLOW_S < budget_s < 2 * SLOW_S
    assert rows["slow"] == 1  # and past the whole budget after one measured request
    assert received["slow"] == 2


async def test_a_failed_request_is_kept_with_its_status_and_left_out_of_the_figures() -> None:
    app = FastAPI()
    app.include_router(router)
    flaky_received[0] = 0
    async with served(app) as base_url:

        def probe() -> list[dict[str, object]]:
            with httpx.Client(base_url=base_url, timeout=10) as client:
                return probe_variant(client, FLAKY, "flaky", {}, 6, budget_s=10.0)

        rows = await asyncio.to_thread(probe)
    frame = pd.DataFrame(
        [{"technique": "probed", "variant": "flaky", "point": "p", **row} for row in rows],
        columns=PROBE_COLUMNS,
    )
    failed = frame[frame["status"] == 502]
    assert len(frame) == 6 and len(failed) == 2  # requests 6 and 9 of 9 (3 warm-ups)
    assert set(frame["status"]) == {200, 502}
    assert all("not done within 60 s" in error for error in failed["error"])
    assert (frame.loc[frame["status"] == 200, "error"] == "").all()
    assert summarize_probe(frame)["requests"].tolist() == [4]
    assert probe_failures(frame) == [
        (
            "probed",
            "probed/flaky at p: 2 of 6 probe request(s) failed (502 after "
            f"{failed['latency_ms'].iloc[0] / 1000:.1f} s: "
            '{"detail":"the batch failed: not done within 60 s"}); '
            "the probe's figures leave them out",
        )
    ]
    assert probe_failures(frame[frame["status"] == 200]) == []
