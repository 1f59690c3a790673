"""Warm-up ends when latency settles: two full windows whose medians agree."""

from types import SimpleNamespace

from pairbench.load.settle import SETTLED_CHANGE, WINDOW_S, SettleWatch
from pairbench.results import TARGET_NAME
from scenarios.samples import SAMPLE_COLUMNS


def feed(watch: SettleWatch, window: int, latency_ms: float, count: int = 6) -> None:
    for k in range(count):
        start = watch.started + (window + k / (2 * count)) * watch.window_s
        watch.on_request(response_time=latency_ms, start_time=start)


def test_steady_latency_settles_after_two_windows_and_a_trend_does_not() -> None:
    steady = SettleWatch(warmup_max_s=0.5)
    assert steady.window_s == WINDOW_S[0]  # a fifth of 0.5 s, at the lower bound
    for window in range(3):
        feed(steady, window, latency_ms=10.0)
    assert steady.settled(steady.started + 3.5 * steady.window_s)  # windows 1 and 2 agree

    trending = SettleWatch(warmup_max_s=0.5)
    for window, latency in enumerate((40.0, 25.0, 25.0 * (1 + 2 * SETTLED_CHANGE))):
        feed(trending, window, latency)
    assert not trending.settled(trending.started + 3.5 * trending.window_s)


def test_a_window_too_thin_to_judge_is_not_settled_and_long_warmups_get_wide_windows() -> None:
    thin = SettleWatch(warmup_max_s=0.5)
    for window in range(3):
        feed(thin, window, latency_ms=10.0, count=2)
    assert not thin.settled(thin.started + 3.5 * thin.window_s)
    assert SettleWatch(warmup_max_s=3.0).window_s == WINDOW_S[1]


def answered(status: int) -> SimpleNamespace:
    """What a Locust `request` event's response gives the watch: its status."""
    return SimpleNamespace(status_code=status)


def test_only_the_variants_own_successful_requests_count_towards_the_measured_minimum() -> None:
    watch = SettleWatch(warmup_max_s=0.5)
    watch.measure_start = watch.started + 1.0
    after = watch.measure_start + 0.01
    ok = answered(200)
    watch.on_request(response_time=5.0, start_time=after, response=ok)  # the variant's own
    watch.on_request(response_time=5.0, start_time=after, name="read", response=ok)  # another kind
    watch.on_request(response_time=5.0, start_time=watch.started, response=ok)  # warm-up
    watch.on_request(response_time=5.0, start_time=after, response=answered(500))  # failed
    watch.on_request(response_time=5.0, start_time=after)  # no answer (status 0): failed
    row = [0.0] * len(SAMPLE_COLUMNS)
    row[:3], row[SAMPLE_COLUMNS.index("name")] = [after, 5.0, 200], "bystander"
    watch.on_rows([row])  # from a Locust worker
    row[SAMPLE_COLUMNS.index("name")] = TARGET_NAME
    watch.on_rows([row])
    row[SAMPLE_COLUMNS.index("status")] = 503
    watch.on_rows([row])
    assert watch.measured == 2


def test_measuring_goes_on_until_the_minimum_and_says_so_when_its_bound_comes_first() -> None:
    watch = SettleWatch(warmup_max_s=0.5)
    watch.measure_start = watch.started
    for _ in range(3):
        watch.on_request(response_time=5.0, start_time=watch.started, response=answered(200))
    assert watch.measure(0.01, min_requests=3, max_seconds=5.0) < watch.started + 1.0  # met
    assert watch.short_of(3, max_seconds=5.0) == ""

    slow = SettleWatch(warmup_max_s=0.5)
    slow.measure_start = slow.started
    end = slow.measure(0.01, min_requests=10, max_seconds=0.1)
    assert end >= slow.started + 0.1
    # Requests sent while measuring still count when they answer after it; later ones do not.
    slow.on_request(response_time=900.0, start_time=end - 0.05, response=answered(200))
    slow.on_request(response_time=5.0, start_time=end + 0.01, response=answered(200))
    short = slow.short_of(10, max_seconds=0.1)
    assert short.startswith("measuring stopped at its bound (0.1 s) with 1 of the 10 successful")
