"""The README's run across two hosts, made of two network namespaces joined by a veth pair.

The app, the run's Locust master and its local worker live in one namespace, a worker
started as the README says in the other; they meet only over the veth pair's addresses.
Inside a namespace the root namespace's loopback servers are out of reach, so the run
starts its embedded PostgreSQL and Redis (on unix sockets) as a new user's run would.

Namespaces need root and `ip`: without them the test is skipped with the reason, except
under CI=true, where it fails instead.
"""

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.test_runner import RUN_TIMEOUT_S, only_run_dir

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[1] / "README.md"
README_HOST = "10.0.0.5"  # the run's host in the README's example: here, namespace one's address
OTHER_HOST = "10.0.0.6"  # the other host's address, in namespace two
# The example shortened to a smoke run of a technique of two cheap variants.
RUN_ARGS = ["--profile", "smoke", "--only", "http_pooling", "--no-micro", "--no-report"]
RUN_ARGS += ["--control", "none"]  # the noise floor is not what these runs test
STOP_TIMEOUT_S = 10


@dataclass(frozen=True)
class Hosts:
    """Two network namespaces joined by a veth pair: `run` (README_HOST), `other` (OTHER_HOST)."""

    run: str
    other: str

    def command(self, namespace: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", namespace, *argv]


def readme_commands() -> tuple[list[str], list[str]]:
    """The README's multi-host example: the run's command line, and the other host's."""
    text = README.read_text()
    section = text[text.index("**Workers on other hosts.**") :]
    start = section.index("```sh") + len("```sh")
    block = section[start : section.index("```", start)]
    lines = [
        shlex.split(command, comments=True)
        for command in re.sub(r"\\\n", " ", block).splitlines()
        if command.strip().startswith(".venv/bin/")
    ]
    run = next(line for line in lines if line[0] == ".venv/bin/pairbench")
    worker = next(line for line in lines if line[0] == ".venv/bin/python")
    return run, worker


def as_here(argv: list[str]) -> list[str]:
    """A README command line run from this checkout's interpreter."""
    program, *args = argv
    if program == ".venv/bin/pairbench":
        return [sys.executable, "-m", "pairbench.cli", *args]
    return [sys.executable, *args]


def namespaces_unavailable() -> str | None:
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) to make network namespaces with"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    return None


def ip(*args: str) -> None:
    finished = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if finished.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {finished.stderr.strip()}")


def stop_namespace_processes(namespace: str) -> None:
    """Every process still in the namespace (ours: nothing else runs in it), stopped."""
    listed = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=30
    )
    processes = []
    for pid in listed.stdout.split():
        try:
            processes.append(psutil.Process(int(pid)))
        except psutil.NoSuchProcess:
            pass
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=STOP_TIMEOUT_S)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=STOP_TIMEOUT_S)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    """Two fresh namespaces, names unique to this test run; removed with all they ran."""
    reason = namespaces_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the multi-host test: {reason}")
        pytest.skip(reason)
    token = secrets.token_hex(3)
    made = Hosts(run=f"pb-{token}-run", other=f"pb-{token}-other")
    created: list[str] = []
    try:
        for namespace in (made.run, made.other):
            ip("netns", "add", namespace)
            created.append(namespace)
            ip("-n", namespace, "link", "set", "lo", "up")
        # the pair is made in the first namespace, and its far end moved to the second
        run_end, other_end = f"pb{token}r", f"pb{token}o"  # device names: 15 characters at most
        ip("-n", made.run, "link", "add", run_end, "type", "veth", "peer", "name", other_end)
        ip("-n", made.run, "link", "set", other_end, "netns", made.other)
        for namespace, device, address in (
            (made.run, run_end, README_HOST),
            (made.other, other_end, OTHER_HOST),
        ):
            ip("-n", namespace, "address", "add", f"{address}/24", "dev", device)
            ip("-n", namespace, "link", "set", device, "up")
    except OSError as error:
        for namespace in created:
            ip("netns", "delete", namespace)
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the multi-host test: {error}")
        pytest.skip(f"cannot make network namespaces here: {error}")
    try:
        yield made
    finally:
        for namespace in created:
            stop_namespace_processes(namespace)
            ip("netns", "delete", namespace)  # the veth pair goes with it


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """The command line with OPTION set to VALUE, replacing the README's value if it has one."""
    if option not in argv:
        return [*argv, option, value]
    at = argv.index(option)
    return [*argv[: at + 1], value, *argv[at + 2 :]]


# The README's topology as written (a local worker beside the remote one, the app on two
# processes), and the remote worker alone. Each is one short smoke run of a cheap
# technique; the app on one process is every other test's.
TOPOLOGIES = {
    "as-written": {},
    "remote-alone": {"--workers": "0"},
}


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_the_readmes_multi_host_run_takes_samples_from_both_hosts(
    topology: str, hosts: Hosts, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_line, worker_line = readme_commands()
    assert all(option in run_line for option in ("--remote-workers", "--workers", "--app-workers"))
    # the example as written, shortened to one technique's smoke run, in the topology asked
    run_argv = as_here(run_line)
    for option, value in TOPOLOGIES[topology].items():
        run_argv = with_option(run_argv, option, value)
    local_workers = int(run_argv[run_argv.index("--workers") + 1])
    app_workers = int(run_argv[run_argv.index("--app-workers") + 1])
    run_command = hosts.command(hosts.run, [*run_argv, *RUN_ARGS])
    worker_command = hosts.command(hosts.other, as_here(worker_line))
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }  # the root namespace's servers are out of reach: the run starts embedded ones
    repository = Path(__file__).resolve().parents[1]
    with open(tmp_path / "worker.log", "wb") as worker_log:
        worker = subprocess.Popen(
            worker_command,
            cwd=repository,
            env=environment,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        try:
            run = subprocess.run(
                run_command,
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
            )
            worker_said = (tmp_path / "worker.log").read_text(errors="replace")[-2000:]
            assert run.returncode == 0, run.stdout + run.stderr + worker_said
            # the other host's worker exits when the run's master quits
            assert worker.wait(timeout=STOP_TIMEOUT_S + 20) == 0, worker_said
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    run_dir = only_run_dir(tmp_path / "results")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["topology"]["local_load_workers"] == local_workers
    assert manifest["topology"]["remote_load_workers"] == 1
    assert manifest["topology"]["app_workers"] == app_workers
    samples = pd.read_csv(run_dir / "samples.csv.gz")
    segments = pd.read_csv(run_dir / "segments.csv")
    load_workers = local_workers + 1
    assert (segments["load_workers"] == load_workers).all()
    per_worker = samples.groupby("worker").size()
    assert len(per_worker) == load_workers, per_worker  # each local worker's, the other host's
    for variant, rows in samples.groupby("variant"):
        assert rows["worker"].nunique() == load_workers, variant
    # None lost: the master checks each worker's count against the samples that arrived
    # (a gap fails the run), and every measured sample was answered.
    measured = samples[samples["phase"] == "measure"]
    assert (measured["status"] == 200).all()
    summary = pd.read_csv(run_dir / "summary.csv").set_index("variant")
    counted = measured.groupby("variant").size().reindex(summary.index, fill_value=0)
    assert (summary["requests"] == counted).all()
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{topology}: samples per load worker: {per_worker.to_dict()}", flush=True)
