"""An unbounded in-process memo vs a bounded TTL + LRU cache.

Contract: where the IPv4 address `ip` is (country, region, city, time zone, network),
from the networks table (one row per /16 block). Looking it up costs a database round
trip, so both variants memoize it in the process, keyed by address; an answer may be up
to TTL_S old in the bounded cache (the unbounded one never refreshes: staler still).
The traffic that matters: a long stream of addresses seen once, plus a few busy ones.
"""

from collections.abc import MutableMapping
from ipaddress import IPv4Address
from typing import Annotated, cast

from cachetools import TTLCache
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Integer, SmallInteger, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.db import SessionDep
from bench_app.headline import MEMORY_GROWTH, Headline
from bench_app.metering import current_cost
from bench_app.models import Base, quoted_name
from bench_app.redis_metering import count_cache_lookups
from bench_app.settings import Settings
from bench_app.technique import Technique

router = APIRouter(prefix="/bounded-cache", tags=["bounded_cache"])

DEFAULT_IP = "203.0.113.7"
DEFAULT_ADDRESS = IPv4Address(DEFAULT_IP)
# Room for the busy addresses five times over, and a cap on memory small enough that a
# quick run's first segment fills it (80% of the requests ask for a new address): before
# it is full, bounded and unbounded keep alike.
MAX_ENTRIES = 256
TTL_S = 300.0  # how stale a location may get: networks move between owners, rarely

Address = Annotated[IPv4Address, Query(description="The IPv4 address to locate.")]


class Network(Base):
    """Where the addresses of one /16 block are, as a geolocation database has it."""

    __tablename__ = "bounded_cache_networks"

    block: Mapped[int] = mapped_column(Integer, primary_key=True)  # the address >> 16
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(60))
    city: Mapped[str] = mapped_column(String(60))
    time_zone: Mapped[str] = mapped_column(String(40))
    asn: Mapped[int] = mapped_column(Integer)
    organization: Mapped[str] = mapped_column(String(80))
    accuracy_km: Mapped[int] = mapped_column(SmallInteger)


NETWORKS = cast(Table, Network.__table__)  # declarative gives a Table; typing says FromClause


class Location(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ip: str
    country: str
    region: str
    city: str
    time_zone: str
    asn: int
    organization: str
    accuracy_km: int


async def locate(session: AsyncSession, ip: str) -> Location:
    """The expensive lookup: one query for the address's /16 block."""
    block = int(IPv4Address(ip)) >> 16
    network = (await session.execute(select(NETWORKS).where(NETWORKS.c.block == block))).one()
    return Location.model_validate({**network._mapping, "ip": ip})


def keep(memo: MutableMapping[str, Location], key: str, location: Location) -> None:
    """Memoize `location`, metering the entries the memo grew by (memo_entries_kept in
    x-cost): 1 for a dict, 0 for a full bounded cache, which evicts one to make room."""
    before = len(memo)
    memo[key] = location
    cost = current_cost()
    if cost is not None:
        cost.memo_entries_kept += len(memo) - before


UNBOUNDED: dict[str, Location] = {}


@router.get("/unbounded", response_model=Location)
async def unbounded(session: SessionDep, ip: Address = DEFAULT_ADDRESS) -> Location:
    """Memoize in a module-level dict: every address ever asked stays, so memory only grows."""
    key = str(ip)
    location = UNBOUNDED.get(key)
    if location is None:
        count_cache_lookups(misses=1)
        location = await locate(session, key)
        keep(UNBOUNDED, key, location)
    else:
        count_cache_lookups(hits=1)
    return location


BOUNDED: TTLCache[str, Location] = TTLCache(maxsize=MAX_ENTRIES, ttl=TTL_S)
MEMOS: dict[str, MutableMapping[str, Location]] = {"unbounded": UNBOUNDED, "bounded": BOUNDED}


@router.get("/bounded", response_model=Location)
async def bounded(session: SessionDep, ip: Address = DEFAULT_ADDRESS) -> Location:
    """Memoize in a cachetools TTLCache: at most MAX_ENTRIES, least recently used out first,
    none older than TTL_S, so the busy addresses stay and the one-offs pass through."""
    key = str(ip)
    location = BOUNDED.get(key)
    if location is None:
        count_cache_lookups(misses=1)
        location = await locate(session, key)
        keep(BOUNDED, key, location)
    else:
        count_cache_lookups(hits=1)
    return location


PRIMED_KEY = "primed:"  # no request's key (an address, dotted) starts so


@router.post("/reset")
async def reset(session: SessionDep) -> dict[str, int]:
    """Fill each memo of this process to MAX_ENTRIES if it holds fewer, as a running server's
    is by the time anyone measures it, so that the first segment measures the steady state
    too (a no-op once they are full). Without it, the bounded memo filled during the first
    segment's warm-up or not, by how fast the machine served it: a slow one left it filling
    while measured (0.11 entries kept a request in a gate run, against ~0 in others). The
    keys are no address, so no request of the workload meets them: they are its first
    evictions."""
    missing = {name: max(MAX_ENTRIES - len(memo), 0) for name, memo in MEMOS.items()}
    if not any(missing.values()):
        return {"primed": 0}
    query = select(NETWORKS).order_by(NETWORKS.c.block).limit(max(missing.values()))
    networks = (await session.execute(query)).all()
    for name, memo in MEMOS.items():
        for network in networks[: missing[name]]:
            address = str(IPv4Address(network.block << 16))
            memo[f"{PRIMED_KEY}{address}"] = Location.model_validate(
                {**network._mapping, "ip": address}
            )
    return {"primed": sum(missing.values())}


GENERATE_NETWORKS = """
INSERT INTO {table} (block, country, region, city, time_zone, asn, organization, accuracy_km)
SELECT b,
       place[1], place[2], place[3], place[4],
       64512 + (h & 1023),
       (CAST(:organizations AS text[]))[1 + (h >> 10 & 255) % :organization_count],
       (ARRAY[1, 5, 10, 25, 50, 100, 250, 500])[1 + (h >> 20 & 7)]
FROM generate_series(0, 65535) AS b,
     LATERAL (SELECT hashint8extended(b, CAST(:seed AS bigint))) AS hashes(h),
     LATERAL (SELECT string_to_array((CAST(:places AS text[]))
                [1 + (h >> 32 & 65535) % :place_count], '|')) AS places(place)
"""
PLACES = [
    "DE|Bavaria|Munich|Europe/Berlin",
    "FR|Ile-de-France|Paris|Europe/Paris",
    "US|California|San Francisco|America/Los_Angeles",
    "US|New York|New York|America/New_York",
    "JP|Tokyo|Tokyo|Asia/Tokyo",
    "BR|Sao Paulo|Sao Paulo|America/Sao_Paulo",
    "IN|Karnataka|Bengaluru|Asia/Kolkata",
    "AU|New South Wales|Sydney|Australia/Sydney",
    "NG|Lagos|Lagos|Africa/Lagos",
    "CA|Ontario|Toronto|America/Toronto",
]
ORGANIZATIONS = ["Example Telecom", "Backbone Networks", "Metro Fiber", "Campus Net", "Cloudy"]


async def load_networks(conn: AsyncConnection, settings: Settings) -> dict[str, int]:
    """One row per /16 block, drawn from a hash of the block number."""
    await conn.execute(
        text(GENERATE_NETWORKS.format(table=quoted_name(NETWORKS))),
        {
            "places": PLACES,
            "place_count": len(PLACES),
            "organizations": ORGANIZATIONS,
            "organization_count": len(ORGANIZATIONS),
            "seed": settings.seed,
        },
    )
    return {NETWORKS.name: 65_536}


TECHNIQUE = Technique(
    key="bounded_cache",
    area="response and memory",
    title="Unbounded in-process memo vs a bounded TTL + LRU cache",
    summary=(
        "Memoizing a lookup in a module-level dict is the classic leak: every distinct key "
        "ever asked stays for the life of the process, so memory grows with the traffic and "
        "never comes back. A bounded cache (cachetools.TTLCache: a size cap with least "
        "recently used eviction, and an age cap) keeps what is asked often, lets the one-off "
        "keys pass through, and holds memory flat."
    ),
    guide_section="Memory Management / Memory Leak Prevention",
    router=router,
    variants=("unbounded", "bounded"),
    baseline="unbounded",
    headline=Headline(MEMORY_GROWTH),
    params={"ip": DEFAULT_IP},
    proof=(
        "memo entries kept per request: 0.8 (every new address) -> 0 once full; app memory "
        "growth per 10k requests: what those entries hold -> ~0; the same cache hit rate "
        "(the busy addresses stay)"
    ),
    caveats=(
        "The workload (its own Locust user) asks 80% of the time for an address never asked "
        "before, which no cache can answer, and 20% for one of 50 busy addresses: a hit rate "
        "near 20% is the most either variant can reach, and both should reach it (every busy "
        "address hit after its first miss). The run is a soak, as production is: each variant "
        "is served by an app process of its own for the whole run, and neither memo is "
        "emptied between segments, so the unbounded one grows through the whole run while "
        f"the bounded one stays at its {MAX_ENTRIES:,} entries: before the first segment both "
        "are filled to that many (the reset, with keys no request asks), as a server's memo "
        "is full by the time anyone measures it, so the first segment measures the steady "
        "state too, however fast the machine serves it; a segment's growth "
        "is what its own requests added (after its warm-up). Emptying the dict between "
        "segments, or sharing a process with other techniques, would hide the leak: Python "
        "would reuse the freed memory before asking for more. The growth per 10,000 requests "
        "is the figure; the peak also counts what the process held before (start-up and the "
        "earlier segments' memo). A leak as slow as the run's growth per request may take "
        "hours to exhaust a server: the rate is what matters."
    ),
    scenario="scenarios.bounded_cache",
    soak_process=True,
    memory_figures=True,
    load_data=load_networks,
    reset_path="/bounded-cache/reset",
)
