"""Every variant of every technique, timed in-process by pytest-benchmark.

Cases come from PAIRBENCH_MICRO_PLAN (a JSON list written by `pairbench run`, with run-
time params resolved), else from the registry's defaults. A variant is requested with a
GET of its target's URL, unless its technique declares a `micro` module (in
scenarios/micro/) with `micro_request(target: Target) -> Call`: the timed call, built
once (its URL, its body) outside the timing. That module lives here, not in the
technique's Locust scenario: importing Locust monkey-patches the process for gevent,
which stalls the asyncio loop timed here.
"""

import asyncio
import importlib
import importlib.util
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bench_app.target import Target
from bench_app.techniques import all_techniques

Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
SETUP_TIMEOUT_S = 120.0  # a reset, or the first call, that takes longer is stuck
# Seconds a variant may take in all (PAIRBENCH_MICRO_VARIANT_BUDGET_S): one whose calls are
# slow gets fewer rounds (at least MIN_SLOW_ROUNDS), so it cannot eat the others' time.
VARIANT_BUDGET_S = float(os.environ.get("PAIRBENCH_MICRO_VARIANT_BUDGET_S", "2.0"))
MIN_SLOW_ROUNDS = 3


def _cases() -> list[dict[str, Any]]:
    plan = os.environ.get("PAIRBENCH_MICRO_PLAN")
    if plan:
        with open(plan) as handle:
            cases: list[dict[str, Any]] = json.load(handle)
            return cases
    return [
        {
            "technique": key,
            "variant": variant,
            "point": "defaults",
            "url": technique.url(variant),
            "target": technique.target(variant).to_json(),
        }
        for key, technique in all_techniques().items()
        for variant in technique.variants
    ]


def _call_for(technique: str, target: Target) -> Call:
    """The timed call of `target`: the technique's own, or a GET with its headers."""
    module_name = all_techniques()[technique].micro
    if module_name is not None:
        custom: Call = importlib.import_module(module_name).micro_request(target)
        return custom
    url, headers = target.url, dict(all_techniques()[technique].request_headers)
    if headers:
        return lambda client: client.get(url, headers=headers)
    return lambda client: client.get(url)


async def _resolved_target(client: httpx.AsyncClient, case: dict[str, Any]) -> Target:
    """The case's target; by hand (no plan), with the technique's run-time params added."""
    technique = all_techniques()[case["technique"]]
    target = Target.from_json(case["target"])
    if os.environ.get("PAIRBENCH_MICRO_PLAN") or technique.params_path is None:
        return target
    response = await client.get(technique.params_path, params=dict(technique.params))
    response.raise_for_status()
    return target.with_params(**response.json())


def _bounded(loop: asyncio.Runner, call: Awaitable[Any], what: str) -> Any:
    """Run `call` on the session's loop, failing the case if it takes SETUP_TIMEOUT_S."""
    try:
        return loop.run(asyncio.wait_for(call, SETUP_TIMEOUT_S))
    except TimeoutError:
        pytest.fail(f"{what} took more than {SETUP_TIMEOUT_S:.0f} s: stuck")


CASES = _cases()


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{case['technique']}-{case['variant']}" for case in CASES]
)
def bench_variant(
    benchmark: Any,
    pytestconfig: pytest.Config,
    loop: asyncio.Runner,
    client: httpx.AsyncClient,
    case: dict[str, Any],
) -> None:
    technique = all_techniques()[case["technique"]]
    if technique.reset_path:
        _bounded(loop, client.post(technique.reset_path), "reset").raise_for_status()
    target = _bounded(loop, _resolved_target(client, case), "resolving params")
    call = _call_for(case["technique"], target)
    started = time.perf_counter()
    first = _bounded(loop, call(client), "the first call")
    call_s = time.perf_counter() - started
    assert first.status_code < 400, f"{target.url} answered {first.status_code}: {first.text[:200]}"
    benchmark.group = f"{case['technique']} at {case['point']}"
    benchmark.extra_info.update(case)
    min_rounds = int(pytestconfig.getoption("benchmark_min_rounds"))
    if call_s * min_rounds > VARIANT_BUDGET_S:
        rounds = max(MIN_SLOW_ROUNDS, int(VARIANT_BUDGET_S / call_s))
        benchmark.extra_info["budget_limited"] = True
        benchmark.pedantic(lambda: loop.run(call(client)), rounds=rounds, iterations=1)
    else:
        benchmark(lambda: loop.run(call(client)))
