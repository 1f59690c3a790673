"""wrk, a load generator written in C, run at one URL, and its report read back.

`pairbench crosscheck` holds the run's closed-loop throughput ratios against wrk's: a
second opinion from a generator that costs the machine far less CPU than Locust. wrk
keeps `connections` requests in flight from one thread (the closed loop's users) for
`seconds`, then prints a report; its "Requests/sec" counts every answer, so the answers
that were not 2xx or 3xx, and the socket errors, are read too: a variant that failed
under load has no throughput to compare.
"""

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pairbench.env.server import LOOPBACK

WRK = "wrk"
INSTALL_WRK = "install wrk (Debian: apt-get install wrk)"
# wrk runs its -d, then waits for the requests in flight (up to its own --timeout, 2 s by
# default): a call that has not returned this long after its -d is stuck, and is killed.
EXIT_SLACK_S = 30.0
VERSION_TIMEOUT_S = 10.0
SOCKET_ERRORS = ("connect", "read", "write", "timeout")
UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}

_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.MULTILINE)
_SOCKET = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.MULTILINE
)
_MEDIAN = re.compile(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_VERSION = re.compile(r"^wrk (\S+)")


class WrkError(Exception):
    """wrk could not measure: it failed, hung, or printed no report."""


class WrkMissing(WrkError):
    """wrk is not installed."""


@dataclass(frozen=True)
class WrkReport:
    """What one wrk call reports: its answers, their rate, and what went wrong."""

    requests: int  # answers received, of any status
    seconds: float  # the time wrk counted them over
    requests_per_second: float
    non_2xx: int = 0  # answers neither 2xx nor 3xx
    socket_errors: Mapping[str, int] = field(default_factory=dict)  # connect, read, write, timeout
    p50_ms: float | None = None  # with --latency

    @property
    def errors(self) -> int:
        """Requests that did not answer 2xx or 3xx, or did not answer at all."""
        return self.non_2xx + sum(self.socket_errors.values())

    def describe_errors(self) -> str:
        """'3 non-2xx/3xx answers, 2 socket timeouts of 781 requests' (empty if none)."""
        parts = [f"{self.non_2xx} non-2xx/3xx answers"] if self.non_2xx else []
        parts += [f"{count} socket {kind} errors" for kind, count in self.socket_errors.items()]
        parts = [part for part in parts if not part.startswith("0 ")]
        return f"{', '.join(parts)} of {self.requests} requests" if parts else ""


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS_MS[unit]


def parse_report(text: str) -> WrkReport:
    """wrk's report as printed (WrkError if it is not one)."""
    requests, rate = _REQUESTS.search(text), _RATE.search(text)
    if requests is None or rate is None:
        raise WrkError(f"wrk printed no report: {text.strip()[:500] or '(nothing)'}")
    non_2xx = _NON_2XX.search(text)
    sockets = _SOCKET.search(text)
    median = _MEDIAN.search(text)
    return WrkReport(
        requests=int(requests.group(1)),
        seconds=_ms(requests.group(2), requests.group(3)) / 1e3,
        requests_per_second=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(SOCKET_ERRORS, map(int, sockets.groups()), strict=True))
        if sockets
        else {},
        p50_ms=_ms(median.group(1), median.group(2)) if median else None,
    )


def find_wrk() -> str:
    """wrk's path (WrkMissing, naming how to install it, if it is not on the PATH)."""
    found = shutil.which(WRK)
    if found is None:
        raise WrkMissing(f"wrk is not on the PATH: {INSTALL_WRK}")
    return found


def wrk_version(wrk: str) -> str:
    """wrk's version as it states it (e.g. "debian/4.1.0-3+b2"); `wrk -v` exits 1."""
    try:
        done = subprocess.run(
            [wrk, "-v"], capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WrkError(f"{wrk} -v failed: {error}") from None
    found = _VERSION.search(done.stdout + done.stderr)
    if found is None:
        raise WrkError(f"{wrk} -v printed no version: {done.stdout.strip()[:200]}")
    return found.group(1)


def wrk_command(
    wrk: str, url: str, connections: int, seconds: int, headers: Mapping[str, str]
) -> list[str]:
    """One wrk thread keeping `connections` requests in flight for `seconds` (wrk takes
    whole seconds only) at `url`, which must be on loopback."""
    if urlsplit(url).hostname != LOOPBACK:
        raise WrkError(f"{url}: wrk is only ever aimed at {LOOPBACK}")
    if seconds < 1:
        raise WrkError(f"wrk measures for whole seconds, at least 1 (not {seconds})")
    header_options = [
        option for name, value in headers.items() for option in ("-H", f"{name}: {value}")
    ]
    return [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_options, url]


def run_wrk(
    wrk: str,
    url: str,
    connections: int,
    seconds: int,
    headers: Mapping[str, str] | None = None,
) -> WrkReport:
    """wrk's report of `connections` closed-loop connections at `url` for `seconds`; the
    call is killed (WrkError) if it has not returned EXIT_SLACK_S after that."""
    command = wrk_command(wrk, url, connections, seconds, headers or {})
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + EXIT_SLACK_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not return within {seconds + EXIT_SLACK_S:.0f} s: {url}") from None
    except OSError as error:
        raise WrkError(f"wrk could not start: {error}") from None
    if done.returncode != 0:
        output = (done.stderr + done.stdout).strip()[:500]
        raise WrkError(f"wrk exited {done.returncode} at {url}: {output or '(no output)'}")
    return parse_report(done.stdout)
