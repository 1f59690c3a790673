"""The punctual selector: it never returns before its timeout unless a socket is ready, and
its margin settles at the quantile of lateness it is asked to cover, within its bound."""

import socket
import time

from pairbench.env.punctual_selector import MARGIN_STEP_S, PunctualSelector, WakeMargin

EVENT_READ = 1


def test_a_wait_lasts_its_timeout_however_early_it_wakes_to_poll() -> None:
    selector = PunctualSelector()
    selector.margin.margin_s = 2e-3  # wake 2 ms early: most of each wait is polled
    try:
        for timeout in (1e-4, 1e-3, 5e-3):
            started = time.monotonic()
            assert selector.select(timeout) == []
            assert time.monotonic() - started >= timeout
        assert selector.polled_s > 0
    finally:
        selector.close()


def test_a_ready_socket_ends_the_polling_at_once() -> None:
    selector = PunctualSelector()
    selector.margin.margin_s = 1.0  # the whole wait is polled
    left, right = socket.socketpair()
    try:
        selector.register(left, EVENT_READ)
        right.send(b"x")
        started = time.monotonic()
        events = selector.select(5.0)
        assert [key.fileobj for key, _ in events] == [left]
        assert time.monotonic() - started < 1.0
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_margin_settles_where_the_quantile_of_lateness_is() -> None:
    margin = WakeMargin(most_s=1.0, quantile=0.9)
    lateness = [index * 1e-6 for index in range(100)]  # 0-99 µs, evenly
    for _ in range(200):
        for late in lateness:
            margin.add(late)
    assert abs(margin.margin_s - 90e-6) <= 10 * MARGIN_STEP_S


def test_the_margin_never_passes_its_bound() -> None:
    margin = WakeMargin(most_s=50e-6)
    for _ in range(1000):
        margin.add(1.0)  # the kernel a second late each time
    assert margin.margin_s == 50e-6
    for _ in range(100_000):
        margin.add(0.0)
    assert margin.margin_s == 0.0
