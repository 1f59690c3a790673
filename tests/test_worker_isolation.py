"""Parallel test workers never share a database: the URL each worker gets."""

import pytest

from tests.worker_isolation import isolate_worker, own_redis_database


def test_each_worker_gets_the_next_redis_database_and_too_many_is_an_error() -> None:
    assert own_redis_database("redis://127.0.0.1:6379/0", 0) == "redis://127.0.0.1:6379/1"
    assert own_redis_database("redis://127.0.0.1:6379", 2) == "redis://127.0.0.1:6379/3"
    with pytest.raises(RuntimeError, match="Redis database 16"):
        own_redis_database("redis://127.0.0.1:6379/14", 1)


def test_outside_a_worker_or_without_urls_nothing_changes() -> None:
    environ = {"DATABASE_URL": "postgresql://postgres@127.0.0.1/test", "REDIS_URL": "redis://h/0"}
    isolate_worker(environ)
    assert environ == {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
        "REDIS_URL": "redis://h/0",
    }
    embedded = {"PYTEST_XDIST_WORKER": "gw1"}
    isolate_worker(embedded)
    assert embedded == {"PYTEST_XDIST_WORKER": "gw1"}  # each worker starts its own servers
