"""Faults during `pairbench run`, on real servers with real signals: nothing lost, nothing left.

Each test drives `pairbench run` as a subprocess and watches it from outside, as a user
would: its console, its run directory, and its processes (psutil). A load segment is
running when a process of the run other than the app holds connections to the app's
port: that is the load generator sending, however the harness organizes it.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest

from pairbench.env.services import ServiceUrls
from pairbench.profiles import PROFILES
from tests.unwritable_dirs import read_only_dir, tiny_filesystem

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_S = 240.0  # embedded servers, seeding, the equivalence check and the probe first
EXIT_TIMEOUT_S = 120.0
POLL_S = 0.1
RECOVERY_S = 2.0  # the app must answer again this soon after PostgreSQL is back
ROUND_S = 4.0  # per segment: the restart (1-2 s, from 1.5 s in) falls within the first one


@dataclass
class Run:
    """A `pairbench run` subprocess and where its console goes."""

    process: subprocess.Popen[bytes]
    console: Path
    workdir: Path

    @property
    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def run_dir(self) -> Path:
        (found,) = [path for path in (self.workdir / "results").iterdir() if path.is_dir()]
        return found


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """Start `pairbench run ARGS` in tmp_path, with these servers set (None: embedded)."""
    started: list[Run] = []

    def start(*args: str, database_url: str | None, redis_url: str | None) -> Run:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL")
        }
        environment |= {"DATABASE_URL": database_url} if database_url else {}
        environment |= {"REDIS_URL": redis_url} if redis_url else {}
        console = tmp_path / f"console-{len(started)}.log"
        with open(console, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "pairbench.cli", "run", *args],
                cwd=tmp_path,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                # A process a non-interactive shell starts in the background ignores SIGINT,
                # and so would the run: give it the default, which Python turns into Ctrl-C.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                start_new_session=True,  # our own signals stay ours
            )
        run = Run(process, console, tmp_path)
        started.append(run)
        return run

    yield start
    for run in started:  # a failed test must not leave its run behind
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()


def family(root: psutil.Process) -> list[psutil.Process]:
    """A process and all its descendants."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def is_app(process: psutil.Process) -> bool:
    try:
        return any("bench_app" in part for part in process.cmdline())
    except psutil.Error:
        return False


def listening_ports(process: psutil.Process) -> set[int]:
    try:
        return {
            c.laddr.port for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN
        }
    except psutil.Error:
        return set()


def connected_to(process: psutil.Process, ports: set[int]) -> bool:
    try:
        return any(
            c.raddr and c.raddr.port in ports and c.status == psutil.CONN_ESTABLISHED
            for c in process.net_connections("tcp")
        )
    except psutil.Error:
        return False


def wait_for_load(run: Run) -> tuple[psutil.Process, psutil.Process]:
    """Block until a load segment runs; the app's process and the load generator's."""
    root = psutil.Process(run.process.pid)
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        assert run.process.poll() is None, f"the run ended before any load:\n{run.output}"
        processes = family(root)[1:]
        apps = [process for process in processes if is_app(process)]
        ports = {port for app in apps for port in listening_ports(app)}
        generators = [p for p in processes if p not in apps and ports and connected_to(p, ports)]
        if apps and generators:
            return apps[0], generators[0]
        time.sleep(POLL_S)
    raise AssertionError(f"no load segment started within {LOAD_TIMEOUT_S:.0f} s:\n{run.output}")


def wait_for_output(run: Run, text: str) -> None:
    """Block until the run's console shows `text` (a stage or a point starting)."""
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while text not in run.output:
        assert run.process.poll() is None, f"the run ended before {text!r}:\n{run.output}"
        assert time.monotonic() < deadline, f"no {text!r} within {LOAD_TIMEOUT_S:.0f} s"
        time.sleep(POLL_S / 10)


def wait_for_file(run: Run, name: str) -> None:
    """Block until the run directory holds a file `name` matches (a glob pattern: e.g. a
    segment's raw samples file)."""
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while not (run.workdir / "results").is_dir() or not any(run.run_dir().glob(name)):
        assert run.process.poll() is None, f"the run ended before {name} appeared:\n{run.output}"
        assert time.monotonic() < deadline, f"no {name} within {LOAD_TIMEOUT_S:.0f} s"
        time.sleep(POLL_S / 10)


def embedded_state_dirs(output: str) -> set[Path]:
    """Where the run's embedded servers keep their data, as its console announced them."""
    marker = "starting embedded "
    return {
        Path(line.split(" in ", 1)[1].strip())
        for line in output.splitlines()
        if line.startswith(marker) and " in " in line
    }


def processes_of(run: Run) -> list[psutil.Process]:
    """Every process the run started: its descendants and its embedded servers' processes
    (PostgreSQL's postmaster leaves the run's process tree when pg_ctl starts it)."""
    found = family(psutil.Process(run.process.pid))[1:]
    state_dirs = [str(path) for path in embedded_state_dirs(run.output)]
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if any(state_dir in cmdline for state_dir in state_dirs):
            found += family(process)
    return list({process.pid: process for process in found}.values())


def still_running(processes: list[psutil.Process]) -> list[str]:
    """Those that have not exited (a zombie has: it only waits to be reaped)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive


def wait_exit(run: Run) -> int:
    try:
        return run.process.wait(EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        message = f"the run did not stop in {EXIT_TIMEOUT_S:.0f} s:\n{run.output}"
        raise AssertionError(message) from None


@pytest.mark.parametrize("interrupts", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_mid_segment_leaves_no_process_behind(
    start_run: Callable[..., Run], interrupts: int
) -> None:
    """Ctrl-C during load, and a second one while the run shuts down: every process it
    started (embedded PostgreSQL and Redis, the app, the load generator) is gone."""
    run = start_run(
        "--profile",
        "smoke",
        "--only",
        "n_plus_one",
        "--no-micro",
        "--control",
        "none",
        database_url=None,
        redis_url=None,
    )
    app, generator = wait_for_load(run)
    time.sleep(0.5)  # into the segment
    ours = processes_of(run)
    assert app in ours and generator in ours
    assert any(process.name() == "postgres" for process in ours), run.output
    assert any(process.name() == "redis-server" for process in ours), run.output

    os.kill(run.process.pid, signal.SIGINT)
    if interrupts == 2:
        # Once shutdown is under way (the generator or the app has stopped), again.
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        while len(still_running([generator, app])) == 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert run.process.poll() is None, "the run stopped before a second Ctrl-C could land"
        os.kill(run.process.pid, signal.SIGINT)
    code = wait_exit(run)

    assert code == 130, run.output
    assert still_running(ours) == [], run.output
    for state_dir in embedded_state_dirs(run.output):
        assert not state_dir.exists(), f"{state_dir} left behind"
    manifest = json.loads((run.run_dir() / "manifest.json").read_text())
    assert manifest["complete"] is False, manifest


def postmaster_of(run: Run) -> psutil.Process:
    """The embedded PostgreSQL's main process: the one of the run's started with -D."""
    for process in processes_of(run):
        if process.name() == "postgres" and "-D" in process.cmdline():
            return process
    raise AssertionError(f"no embedded PostgreSQL found:\n{run.output}")


def restart_postgres(postmaster: psutil.Process, log: Path) -> tuple[float, float]:
    """`pg_ctl restart -m fast`, as the user the server runs as: when it began, when it was back."""
    arguments = postmaster.cmdline()
    pgdata = arguments[arguments.index("-D") + 1]
    pg_ctl = Path(postmaster.exe()).with_name("pg_ctl")
    user = postmaster.username() if os.geteuid() == 0 else None
    began = time.time()
    with open(log, "wb") as output:  # a file: the new server inherits it, and keeps it open
        subprocess.run(
            [str(pg_ctl), "restart", "-D", pgdata, "-m", "fast", "-w", "-t", "30"],
            user=user,
            cwd=Path(pgdata).parent,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            check=True,
            timeout=60,
        )
    return began, time.time()


def report_of(run: Run) -> Path:
    (line,) = [line for line in run.output.splitlines() if line.startswith("report:")]
    return run.workdir / line.split(":", 1)[1].strip()


def test_postgres_restarting_under_load_costs_failures_that_are_counted(
    start_run: Callable[..., Run], service_urls: ServiceUrls, tmp_path: Path
) -> None:
    """The embedded PostgreSQL restarts mid-segment: the app answers again within 2 s by
    itself, and the requests that failed meanwhile are failures in the samples, the
    summary and the report's warnings, not dropped."""
    run = start_run(
        "--profile",
        "smoke",
        "--only",
        "n_plus_one",
        "--no-micro",
        "--control",
        "none",
        "--round-s",
        str(ROUND_S),
        database_url=None,
        redis_url=service_urls.redis_url,
    )
    # The generator's ceiling comes first; then the technique's point ("[1/1] n_plus_one
    # authors=50 ...").
    wait_for_output(run, "] n_plus_one ")
    # The first segment has begun once the generator opens its raw samples file (the point's
    # console line can come a second or two before that). Whichever variant it is (each
    # round's order is shuffled): the segments after it show the app answering again, which
    # the last segment's rest cannot (it ends about when PostgreSQL is back).
    wait_for_file(run, "raw/n_plus_one.*.closed.0.csv")
    # Past the first segment's warm-up (at most the profile's maximum) and well inside its
    # measured ROUND_S, which the restart (about 1-2 s) cannot outlast.
    time.sleep(PROFILES["smoke"].warmup_max_s + 1.0)
    began, back = restart_postgres(postmaster_of(run), tmp_path / "pg_ctl.log")
    assert wait_exit(run) == 0, run.output

    samples = pd.read_csv(run.run_dir() / "samples.csv.gz")
    failed = samples[(samples["status"] < 200) | (samples["status"] >= 400)]
    assert len(failed) > 0, "a restart under load fails the requests in flight"
    # A request fails when the restart cuts it off, whenever it started: none ended before.
    assert (failed["t_start"] + failed["latency_ms"] / 1000).min() >= began - 0.1
    recovered_after = failed["t_start"].max() - back
    assert recovered_after <= RECOVERY_S, f"requests still failed {recovered_after:.2f} s after"
    after = samples[samples["t_start"] > back + RECOVERY_S]
    assert len(after) > 0 and after["status"].between(200, 399).all()

    measured = failed[failed["phase"] == "measure"]
    assert len(measured) > 0, "the restart fell in a warm-up: nothing to count"
    summary = pd.read_csv(run.run_dir() / "summary.csv").set_index("variant")
    report = report_of(run).read_text()
    for variant, rows in measured.groupby("variant"):
        assert summary.loc[variant, "failures"] == len(rows), variant
        assert summary.loc[variant, "error_rate"] > 0, variant
        assert re.search(rf"{variant}\b.*\b{len(rows)} of \d+ requests failed", report), variant
    print(
        f"\nPostgreSQL restart: {back - began:.2f} s down; {len(failed)} requests failed; "
        f"last failure {recovered_after:+.2f} s after it was back"
    )


@pytest.mark.parametrize("unusable", [read_only_dir, tiny_filesystem], ids=["read-only", "full"])
def test_a_results_dir_it_cannot_use_stops_the_run_before_anything_starts(
    start_run: Callable[..., Run],
    tmp_path: Path,
    unusable: Callable[[Path], AbstractContextManager[Path]],
) -> None:
    with unusable(tmp_path / "disk") as disk:
        run = start_run(
            "--profile",
            "smoke",
            "--only",
            "n_plus_one",
            "--no-micro",
            "--control",
            "none",
            "--results-dir",
            str(disk / "results"),
            "--reports-dir",
            str(disk / "reports"),
            database_url=None,
            redis_url=None,
        )
        code = wait_exit(run)
        assert not (disk / "results").exists() or list((disk / "results").iterdir()) == []
    assert code == 2, run.output
    assert "pairbench: error: " in run.output and str(disk) in run.output, run.output
    assert "starting embedded" not in run.output, "servers started before the check"
