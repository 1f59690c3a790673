"""No cache entry of a technique expires inside a load segment.

Before each segment the harness posts the technique's reset with the point's params;
after it, and after one request to every variant (which may cache what it missed),
every key the technique keeps lives at least twice the longest segment of any
profile. So whether a request hits or misses never depends on when in a segment it
falls, and the costs per request the gate compares are exact.
"""

from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from bench_app.techniques import (
    all_techniques,
    batch_get,
    cache_aside,
    conditional_get,
    invalidation,
    stampede,
)
from pairbench.profiles import PROFILES

CACHES = [batch_get, cache_aside, conditional_get, invalidation, stampede]
LONGEST_SEGMENT_S = max(profile.longest_segment_s for profile in PROFILES.values())


@pytest.mark.parametrize("module", CACHES, ids=lambda module: module.__name__.rsplit(".", 1)[1])
async def test_every_cached_key_outlives_a_segment_after_a_reset(
    client: httpx.AsyncClient, app: FastAPI, module: ModuleType
) -> None:
    technique = all_techniques()[module.__name__.rsplit(".", 1)[1]]
    params = dict(technique.params)
    reset = await client.post(technique.reset_path or "", params=params)
    assert reset.status_code == 200, reset.text
    for variant in technique.variants:
        assert (await client.get(technique.url(variant, params))).status_code < 400
    keys = [
        key async for key in app.state.redis.scan_iter(match=f"{module.KEY_SPACE}:*", count=5000)
    ]
    pipe = app.state.redis.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
    lives_ms = await pipe.execute()
    assert keys, "the technique caches nothing after its reset and one request per variant"
    shortest = min(life for life in lives_ms if life != -1)  # -1: never expires
    assert shortest > 2 * LONGEST_SEGMENT_S * 1000, (module.__name__, shortest)
