"""Tests of pairbench.env.services against real PostgreSQL and Redis servers, never stand-ins."""

import asyncio
import multiprocessing
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from pairbench.env.services import (
    ServiceError,
    ServiceUrls,
    cleanup_stale_embedded,
    ensure_system_user,
    mask_password,
    normalize_database_url,
    running_services,
    server_versions,
    wait_reachable,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_ENVIRON = {
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
}
# A run that owns embedded servers, as the harness would be; prints where they live, then waits.
# SIGINT is reset because a test runner started in the background may hand it down ignored.
OWNER_SCRIPT = textwrap.dedent(
    """
    import signal, time
    from pairbench.env.services import running_services

    signal.signal(signal.SIGINT, signal.default_int_handler)
    with running_services(log=lambda line: None, environ={}) as urls:
        print(urls.database_url, flush=True)
        time.sleep(120)
    """
)


def state_dir_of(urls_or_database_url: ServiceUrls | str) -> Path:
    """The embedded servers' state dir: the socket directory in the database URL."""
    url = getattr(urls_or_database_url, "database_url", urls_or_database_url)
    return Path(parse_qs(urlsplit(str(url)).query)["host"][0])


def server_processes(state_dir: Path) -> list[str]:
    """Live postgres/redis-server processes run from state_dir (zombies are dead enough)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if (
            process.info["name"] in ("postgres", "redis-server")
            and process.info["status"] != psutil.STATUS_ZOMBIE
            and f"{state_dir}/" in cmdline
        ):
            found.append(str(process.info["name"]))
    return found


def query_database(database_url: str, sql: str) -> object:
    """One real query through SQLAlchemy, exactly as the app connects."""

    async def run() -> object:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(sql))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def set_and_get(redis_url: str) -> bytes | None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("pairbench:test_services", b"hello", ex=60)
        value = client.get("pairbench:test_services")
        return value if isinstance(value, bytes) else None
    finally:
        client.close()


@pytest.fixture(scope="module")
def external_environ() -> dict[str, str]:
    """DATABASE_URL/REDIS_URL of already-running servers; skips where there are none."""
    urls = ServiceUrls(
        normalize_database_url(EXTERNAL_ENVIRON["DATABASE_URL"]),
        EXTERNAL_ENVIRON["REDIS_URL"],
        embedded_database=False,
        embedded_redis=False,
    )
    try:
        wait_reachable(urls, timeout_s=2.0)
    except ServiceError as error:
        pytest.skip(f"no external PostgreSQL and Redis to test against: {error}")
    return dict(EXTERNAL_ENVIRON)


@pytest.fixture
def owner_process() -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A separate process holding embedded servers, and their state dir."""
    with subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"owner process failed: {process.communicate(timeout=10)[1]}"
        try:
            yield process, state_dir_of(line.strip())
        finally:
            process.kill()
            process.communicate()
            cleanup_stale_embedded()


def test_embedded_servers_by_default() -> None:
    lines: list[str] = []
    with running_services(log=lines.append, environ={}) as urls:
        state_dir = state_dir_of(urls)
        assert urls.embedded_database and urls.embedded_redis
        assert urls.database_url.startswith("postgresql+asyncpg://")
        assert sorted(set(server_processes(state_dir))) == ["postgres", "redis-server"]
        assert query_database(urls.database_url, "SELECT 40 + 2") == 42
        assert set_and_get(urls.redis_url) == b"hello"
        # A concurrent run's sweep must leave a live run's servers alone.
        assert not [line for line in cleanup_stale_embedded() if str(state_dir) in line]
        assert state_dir.exists() and len(server_processes(state_dir)) >= 2
        versions = server_versions(urls)
        assert re.fullmatch(r"\d+\.\d+", versions["postgresql"])
        assert re.fullmatch(r"\d+\.\d+\.\d+", versions["redis"])
    assert not state_dir.exists()
    assert server_processes(state_dir) == []
    assert f"starting embedded PostgreSQL in {state_dir}" in lines
    assert any(line.startswith("PostgreSQL ready (") for line in lines)


def test_cleanup_also_after_an_exception() -> None:
    with pytest.raises(KeyboardInterrupt), running_services(log=lambda _: None, environ={}) as urls:
        state_dir = state_dir_of(urls)
        raise KeyboardInterrupt
    assert not state_dir.exists()
    assert server_processes(state_dir) == []


def test_external_servers_are_used_and_nothing_started(external_environ: dict[str, str]) -> None:
    lines: list[str] = []
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with running_services(log=lines.append, environ=external_environ) as urls:
        assert not urls.embedded_database and not urls.embedded_redis
        assert urls.database_url == normalize_database_url(external_environ["DATABASE_URL"])
        assert urls.redis_url == external_environ["REDIS_URL"]
        assert not [line for line in lines if "embedded" in line]
        children = psutil.Process().children(recursive=True)
        started = [child.name() for child in children if child.pid not in before]
        assert "postgres" not in started and "redis-server" not in started
        assert query_database(urls.database_url, "SELECT 40 + 2") == 42
        assert set_and_get(urls.redis_url) == b"hello"
    assert any(line.startswith("using PostgreSQL from DATABASE_URL") for line in lines)


def test_only_the_unset_service_is_embedded(external_environ: dict[str, str]) -> None:
    environ = {"DATABASE_URL": external_environ["DATABASE_URL"]}
    with running_services(log=lambda _: None, environ=environ) as urls:
        assert not urls.embedded_database and urls.embedded_redis
        assert urls.redis_url.startswith("unix://")
        assert set_and_get(urls.redis_url) == b"hello"


async def test_wait_reachable_inside_an_event_loop(external_environ: dict[str, str]) -> None:
    # The harness may check servers from async code, where asyncio.run alone would fail.
    urls = ServiceUrls(
        normalize_database_url(external_environ["DATABASE_URL"]),
        external_environ["REDIS_URL"],
        embedded_database=False,
        embedded_redis=False,
    )
    wait_reachable(urls, timeout_s=5.0)


def test_unreachable_database_names_the_url_and_the_fix() -> None:
    environ = {
        "DATABASE_URL": "postgresql://postgres:secret@127.0.0.1:1/x",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    started = time.monotonic()
    with pytest.raises(ServiceError) as raised:
        with running_services(log=lambda _: None, environ=environ, timeout_s=0.5):
            pytest.fail("services should not be reachable")
    assert time.monotonic() - started < 5.0
    message = str(raised.value)
    assert "postgresql+asyncpg://postgres:***@127.0.0.1:1/x (DATABASE_URL)" in message
    assert "secret" not in message
    assert "connection refused" in message
    assert "Check that the server is running" in message
    assert "unset DATABASE_URL" in message


def test_unreachable_redis_names_the_url_and_the_fix(external_environ: dict[str, str]) -> None:
    environ = {**external_environ, "REDIS_URL": "redis://:secret@127.0.0.1:1/0"}
    with pytest.raises(ServiceError) as raised:
        with running_services(log=lambda _: None, environ=environ, timeout_s=0.5):
            pytest.fail("Redis should not be reachable")
    message = str(raised.value)
    assert "redis://:***@127.0.0.1:1/0 (REDIS_URL)" in message
    assert "secret" not in message
    assert "unset REDIS_URL" in message


def test_sigkill_leaves_servers_that_cleanup_stale_embedded_removes(
    owner_process: tuple[subprocess.Popen[str], Path],
) -> None:
    process, state_dir = owner_process
    process.kill()
    process.wait()
    assert "postgres" in server_processes(state_dir), "postgres should outlive a killed owner"
    cleaned = cleanup_stale_embedded()
    assert any(str(state_dir) in line for line in cleaned)
    assert server_processes(state_dir) == []
    assert not state_dir.exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_clean_up(
    owner_process: tuple[subprocess.Popen[str], Path], signum: signal.Signals
) -> None:
    process, state_dir = owner_process
    process.send_signal(signum)
    returncode = process.wait(timeout=30)
    assert returncode == (143 if signum == signal.SIGTERM else -signal.SIGINT)
    assert not state_dir.exists()
    assert server_processes(state_dir) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db?sslmode=disable", "postgresql+asyncpg://u@h/db?sslmode=disable"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@/db?host=/tmp/x", "postgresql+asyncpg://u@/db?host=/tmp/x"),
        (" postgresql://u@h/db\n", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_normalize_database_url(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u:secret@h/db", "127.0.0.1:5432/db", ""])
def test_normalize_database_url_rejects_other_databases(url: str) -> None:
    with pytest.raises(ServiceError, match="not a PostgreSQL URL") as raised:
        normalize_database_url(url)
    assert "secret" not in str(raised.value)


def test_mask_password() -> None:
    assert mask_password("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert mask_password("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_password("postgresql://u@h/db") == "postgresql://u@h/db"


def _add_at_once(name: str, barrier: Any, uids: Any) -> None:
    barrier.wait()  # every process calls at the same moment
    uids.put(ensure_system_user(name))


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None, reason="adds a system user: root only"
)
def test_processes_that_add_the_system_user_at_once_all_get_the_one_that_stays() -> None:
    """Unlocked, four processes at once had each added the user under a uid of its own
    (1004-1007); only the last stayed, and initdb ran as a uid that was nobody."""
    name, count = f"pbtest{os.getpid()}", 6
    context = multiprocessing.get_context("fork")
    barrier, uids = context.Barrier(count), context.Queue()
    processes = [
        context.Process(target=_add_at_once, args=(name, barrier, uids)) for _ in range(count)
    ]
    try:
        for process in processes:
            process.start()
        found = [uids.get(timeout=30) for _ in processes]
        assert len(set(found)) == 1 and found[0] == pwd.getpwnam(name).pw_uid
    finally:
        for process in processes:
            process.join(timeout=30)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
