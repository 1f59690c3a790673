"""The in-process TTL/LRU cache: bounded by age and by count, least recently used out first."""

import pytest

from bench_app.local_ttl_cache import LocalTTLCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_served_until_its_ttl_then_dropped() -> None:
    clock = FakeClock()
    cache = LocalTTLCache[bytes](10, ttl_s=5.0, clock=clock)
    cache.set("a", b"1")
    clock.now += 4.9
    assert cache.get("a") == b"1"
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_the_least_recently_used_goes_first() -> None:
    cache = LocalTTLCache[int](2, ttl_s=60.0)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # a is now more recent than b
    cache.set("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_setting_again_refreshes_the_value_and_its_age() -> None:
    clock = FakeClock()
    cache = LocalTTLCache[int](2, ttl_s=5.0, clock=clock)
    cache.set("a", 1)
    clock.now += 4
    cache.set("a", 2)
    clock.now += 4
    assert cache.get("a") == 2


def test_clear_empties_it() -> None:
    cache = LocalTTLCache[int](2, ttl_s=5.0)
    cache.set("a", 1)
    cache.clear()
    assert cache.get("a") is None


@pytest.mark.parametrize(("entries", "ttl"), [(0, 1.0), (1, 0.0)])
def test_bounds_must_be_positive(entries: int, ttl: float) -> None:
    with pytest.raises(ValueError):
        LocalTTLCache[int](entries, ttl)
