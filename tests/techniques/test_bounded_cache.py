"""bounded_cache: both memos answer alike; only the bounded one stops growing."""

from ipaddress import IPv4Address
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques, bounded_cache
from bench_app.techniques.bounded_cache import MAX_ENTRIES, NETWORKS, TTL_S
from scenarios.address_stream import HOT_ADDRESSES, HOT_SHARE, AddressStream
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["bounded_cache"]


async def network_of(settings: Settings, ip: str) -> dict[str, Any]:
    """The contract's answer, read independently in plain SQL."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(f"SELECT * FROM {NETWORKS.schema}.{NETWORKS.name} WHERE block = :b"),
                    {"b": int(IPv4Address(ip)) >> 16},
                )
            ).one()
    finally:
        await engine.dispose()
    return {**{k: v for k, v in row._mapping.items() if k != "block"}, "ip": ip}


@pytest.fixture
def empty_memos() -> None:
    """Both memos empty, as in a process just started (the harness never empties them)."""
    bounded_cache.UNBOUNDED.clear()
    bounded_cache.BOUNDED.clear()


@pytest.mark.parametrize("ip", ["203.0.113.7", "0.0.0.0", "255.255.255.255", "10.1.2.3"])
async def test_both_variants_locate_an_address_as_the_table_says(
    client: httpx.AsyncClient, seeded: Settings, empty_memos: None, ip: str
) -> None:
    expected = await network_of(seeded, ip)
    for variant in TECHNIQUE.variants:
        for _ in range(2):  # a miss, then a hit: the same answer
            response = await client.get(TECHNIQUE.url(variant, {"ip": ip}))
            assert response.status_code == 200
            assert response.json() == expected, variant


async def test_a_repeated_address_is_a_hit_without_a_query(
    client: httpx.AsyncClient, empty_memos: None
) -> None:
    for variant in TECHNIQUE.variants:
        first = await client.get(TECHNIQUE.url(variant, {"ip": "192.0.2.1"}))
        again = await client.get(TECHNIQUE.url(variant, {"ip": "192.0.2.1"}))
        counts = [(costs_of(r)["cache_hits"], costs_of(r)["cache_misses"]) for r in (first, again)]
        assert counts == [("0", "1"), ("1", "0")], variant
        queries = [costs_of(r)["queries"] for r in (first, again)]
        assert queries == ["1", "0"], variant


async def test_only_the_bounded_memo_stops_growing_and_it_keeps_the_busy_addresses(
    client: httpx.AsyncClient, empty_memos: None
) -> None:
    requests = 4 * MAX_ENTRIES  # enough to fill it, and for the busy share to show
    kept: dict[str, list[int]] = {}  # the metered entries kept, request by request
    for variant in TECHNIQUE.variants:
        stream = AddressStream()
        seen: set[str] = set()
        hot_hits = hot_repeats = hot = one_offs = 0
        for _ in range(requests):
            address, busy = stream.next_address()
            response = await client.get(TECHNIQUE.url(variant, {"ip": address}))
            kept.setdefault(variant, []).append(int(costs_of(response)["memo_entries_kept"]))
            hit = costs_of(response)["cache_hits"] == "1"
            hot += busy
            hot_repeats += busy and address in seen
            hot_hits += busy and hit
            one_offs += not busy
            seen.add(address)
            assert busy or not hit  # an address asked once cannot be a hit
        assert hot_hits / hot_repeats > 0.99, variant  # after its first miss, a busy one stays
        assert abs(hot / requests - HOT_SHARE) < 0.05
    assert len(bounded_cache.BOUNDED) == MAX_ENTRIES
    assert len(bounded_cache.UNBOUNDED) == one_offs + len(HOT_ADDRESSES)  # every address, kept
    # The meter counts what each request left: every miss in the dict, and in the bounded
    # cache only until it is full; from then on nothing (each insert evicts one).
    assert sum(kept["unbounded"]) == len(bounded_cache.UNBOUNDED)
    assert sum(kept["bounded"]) == MAX_ENTRIES
    full_at = max(index for index, count in enumerate(kept["bounded"]) if count)
    assert full_at < requests - 1 and not any(kept["bounded"][full_at + 1 :])


def test_the_bounded_cache_has_its_stated_bounds() -> None:
    assert bounded_cache.BOUNDED.maxsize == MAX_ENTRIES
    assert bounded_cache.BOUNDED.ttl == TTL_S


def test_the_run_is_a_soak_in_a_process_of_its_own() -> None:
    # Emptied between segments, or in a process where other techniques freed memory, the
    # dict would reuse freed memory and hide the leak (its reset only fills, below).
    assert not TECHNIQUE.fresh_process
    assert TECHNIQUE.soak_process and TECHNIQUE.memory_figures


async def test_the_reset_fills_both_memos_to_the_cap_once_and_never_empties_them(
    client: httpx.AsyncClient, empty_memos: None
) -> None:
    """As a server's memo is full by the time anyone measures it: then the bounded one keeps
    nothing from the first request on, and the dict still keeps every new address."""
    assert TECHNIQUE.reset_path is not None
    filled = await client.post(TECHNIQUE.reset_path)
    assert filled.status_code == 200 and filled.json() == {"primed": 2 * MAX_ENTRIES}
    assert len(bounded_cache.BOUNDED) == len(bounded_cache.UNBOUNDED) == MAX_ENTRIES
    stream = AddressStream()
    for _ in range(3):
        address, _busy = stream.next_address()
        kept = {
            variant: costs_of(await client.get(TECHNIQUE.url(variant, {"ip": address})))
            for variant in TECHNIQUE.variants
        }
        assert kept["bounded"]["memo_entries_kept"] == "0"
        assert kept["unbounded"]["memo_entries_kept"] == "1"
    again = await client.post(TECHNIQUE.reset_path)  # full: nothing to do, nothing lost
    assert again.json() == {"primed": 0}
    assert len(bounded_cache.BOUNDED) == MAX_ENTRIES
    assert len(bounded_cache.UNBOUNDED) == MAX_ENTRIES + 3


@pytest.mark.parametrize("bad", ["", "256.1.1.1", "1.2.3", "::1", "example.com", "-1"])
async def test_a_bad_address_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "ip", bad)


async def test_the_openapi_declares_the_address_format(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in TECHNIQUE.paths.values():
        (ip,) = schema["paths"][path]["get"]["parameters"]
        assert (ip["name"], ip["schema"]["format"]) == ("ip", "ipv4")
        assert "422" in schema["paths"][path]["get"]["responses"]
