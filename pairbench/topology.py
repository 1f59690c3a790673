"""More than one machine, or process: where the load comes from and what serves it.

By default one generator process loads one app process, both on loopback. A user who
needs more load than one generator core can send runs it on Locust workers (`--workers`
here, `--remote-workers` on other hosts); one who wants to see the app on several cores
serves it from several uvicorn worker processes (`--app-workers`). Load still only goes to
a loopback address unless the user names the app's host as their own (`--own-target`).
"""

import socket
from dataclasses import dataclass, field
from typing import Any

from pairbench.env.server import LOOPBACK
from pairbench.load.segment import (
    WILDCARD_HOSTS,
    LoadError,
    LoadWorkers,
    require_loopback,
)


def is_own_address(host: str) -> bool:
    """Whether `host` is an address of this machine: one a socket here can listen on, and
    so one its own processes can reach."""
    if host in WILDCARD_HOSTS:
        return True
    try:
        addresses = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            try:
                probe.bind(address)
                return True
            except OSError:
                continue
    return False


@dataclass(frozen=True)
class Topology:
    """The processes of a run: its Locust workers, and the app's host and worker count."""

    load_workers: LoadWorkers = field(default_factory=LoadWorkers)
    app_workers: int = 1
    app_host: str = LOOPBACK
    own_target: str | None = None  # a non-loopback host the user declared their own

    def check(self) -> None:
        """Refuse what must not run: load to a host not declared the user's own, remote
        workers with a master only they could reach over loopback, a master bound to an
        address that is not this machine's (where its local workers could not reach it)."""
        require_loopback(f"http://{self.app_host}/", self.own_target)
        workers = self.load_workers
        if workers.remote and workers.port is None:
            raise LoadError(
                "--remote-workers needs --master-bind HOST:PORT (a port they can reach)"
            )
        if workers.total and not is_own_address(workers.bind):
            raise LoadError(
                f"--master-bind {workers.bind} is not an address of this machine, so the "
                "master cannot listen there and its local workers (--workers) cannot reach it: "
                "name one of this machine's addresses (`ip address` lists them), or 0.0.0.0 "
                "for all of them"
            )
        if workers.remote and not self.own_target:
            raise LoadError(
                "workers on other hosts cannot reach an app on loopback: serve it on this "
                "host's address with --app-host HOST --own-target HOST"
            )
        if self.app_workers < 1 or workers.local < 0 or workers.remote < 0:
            raise LoadError("--app-workers must be 1 or more, --workers 0 or more")

    def manifest(self) -> dict[str, Any]:
        """What the manifest and the report say about it."""
        workers = self.load_workers
        return {
            "load_workers": workers.total,
            "local_load_workers": workers.local,
            "remote_load_workers": workers.remote,
            "master": f"{workers.bind}:{workers.port}" if workers.total else None,
            "app_workers": self.app_workers,
            "app_host": self.app_host,
        }
