"""Warm-up ends when latency settles: two full windows whose medians agree."""

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


def test_only_the_variants_own_requests_count_towards_the_measured_minimum() -> None:
    watch = SettleWatch(warmup_max_s=0.5)
    watch.measure_start = watch.started + 1.0
    after = watch.measure_start + 0.01
    watch.on_request(response_time=5.0, start_time=after)  # the variant's own
    watch.on_request(response_time=5.0, start_time=after, name="read")  # a mixed workload's other
    watch.on_request(response_time=5.0, start_time=watch.started)  # warm-up: not measured
    row = [0.0] * len(SAMPLE_COLUMNS)
    row[:2], row[SAMPLE_COLUMNS.index("name")] = [after, 5.0], "bystander"
    watch.on_rows([row])  # from a Locust worker
    row[SAMPLE_COLUMNS.index("name")] = TARGET_NAME
    watch.on_rows([row])
    assert watch.measured == 2
