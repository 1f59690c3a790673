"""Open a report in headless Chromium and check it rendered: no console errors, every
technique section and chart drawn, and a screenshot to look at.

Talks the Chrome DevTools protocol over one websocket (the `websockets` package): no
npm, no Playwright download, only the system's chromium. The browser runs with a
throwaway profile and is stopped however the check ends: Chromium starts helper processes
(zygote, GPU, crash handler) that go on writing into the profile after the browser itself
has exited, so the browser runs in a process group of its own and the profile is removed
only once every process of that group has exited.
"""

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.sync.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)
# A 1400 px window: the leaderboard must fit it without scrolling sideways.
VIEWPORT = {"width": 1400, "height": 1400, "deviceScaleFactor": 1, "mobile": False}
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# What the page reports of itself: technique sections and every chart's drawn size.
PAGE_PROBE = """(() => {
  const box = (element) => element.getBoundingClientRect();
  const sections = [...document.querySelectorAll("section.technique")].map(
    (section) => ({id: section.id, height: box(section).height}));
  const charts = [...document.querySelectorAll("svg")].map((svg) => ({
    section: (svg.closest("section") || {id: ""}).id,
    width: box(svg).width, height: box(svg).height,
    shapes: svg.querySelectorAll("path, rect, line, polyline, polygon, use, text").length,
  }));
  const board = document.querySelector("table.leaderboard");
  const room = board ? (board.closest(".scroll") || board.parentElement) : null;
  const leaderboard = board ? {width: board.scrollWidth, room: room.clientWidth} : null;
  return {title: document.title, sections, charts, leaderboard};
})()"""


class BrowserUnavailable(Exception):
    """No Chromium on this machine; the message says how to install it."""


class BrowserError(Exception):
    """Chromium started but the check could not be carried out."""


@dataclass
class PageCheck:
    """What the browser saw of a report."""

    title: str
    console_errors: list[str]
    sections: list[str]  # ids of the technique sections with a visible height
    missing_sections: list[str]  # expected ids not found or not visible
    charts: int
    blank_charts: list[str] = field(default_factory=list)  # charts drawn with no size or shapes
    screenshot: Path | None = None
    # How far the leaderboard is wider than the room it has in the window (0: it fits).
    leaderboard_overflow_px: float = 0.0

    @property
    def ok(self) -> bool:
        cut_off = self.leaderboard_overflow_px > 1.0
        return not (self.console_errors or self.missing_sections or self.blank_charts or cut_off)


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _DevTools:
    """A minimal DevTools protocol client: calls by id, events kept for later."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout_s: float = 30.0,
    ) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == number:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def wait_event(self, name: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        for event in self.events:
            if event.get("method") == name:
                return event
        while True:
            reply = self._receive(deadline, name)
            if reply.get("method") == name:
                return reply

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"Chromium did not answer {waiting_for} in time")
        try:
            reply: dict[str, Any] = json.loads(self._socket.recv(timeout=remaining))
        except TimeoutError:
            raise BrowserError(f"Chromium did not answer {waiting_for} in time") from None
        if "method" in reply:
            self.events.append(reply)
        return reply

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                texts = [
                    str(arg.get("value", arg.get("description", "")))
                    for arg in params.get("args", [])
                ]
                found.append("console: " + " ".join(texts))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(
                    "exception: "
                    + str(details.get("exception", {}).get("description", details.get("text")))
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                where = entry.get("url", "")
                found.append(f"log ({entry.get('source')}): {entry.get('text')} {where}".strip())
        return found


def _devtools_url(process: subprocess.Popen[bytes], profile: Path, log: Path) -> str:
    """The browser's websocket URL, from the DevToolsActivePort file Chromium writes."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise BrowserError(f"Chromium exited with code {process.returncode}: {tail}")
        lines = port_file.read_text().split() if port_file.exists() else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise BrowserError(f"Chromium did not open its DevTools port within {START_TIMEOUT_S:.0f} s")


def _processes_of(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The browser and every live process it started: its descendants and the members of
    its process group (a helper reparented when its parent exited stays in the group)."""
    found: dict[int, psutil.Process] = {}
    try:
        browser = psutil.Process(process.pid)
        found = {child.pid: child for child in [browser, *browser.children(recursive=True)]}
    except psutil.NoSuchProcess:
        pass
    for candidate in psutil.process_iter():
        try:
            if os.getpgid(candidate.pid) == process.pid:
                found.setdefault(candidate.pid, candidate)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return list(found.values())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the browser and every process it started, and wait until all have exited."""
    members = _processes_of(process)
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        for member in members:
            try:
                member.send_signal(signal_number)
            except psutil.NoSuchProcess:
                continue
        try:
            process.wait(STOP_TIMEOUT_S)  # reaps the browser itself; its helpers are not ours
        except subprocess.TimeoutExpired:
            continue
        _, members = psutil.wait_procs(members, timeout=STOP_TIMEOUT_S)
        members = [member for member in members if _alive(member)]
        if not members:
            return


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie writes nothing
    except psutil.NoSuchProcess:
        return False


def _remove(directory: Path) -> None:
    """Remove the throwaway profile; what cannot be removed is left for the OS, said once."""
    shutil.rmtree(directory, ignore_errors=True)
    if directory.exists():
        print(
            f"pairbench: left the browser's temporary files in {directory} (could not remove "
            "them all); the OS clears its temp dir",
            file=sys.stderr,
        )


def _inspect(
    tools: _DevTools, html: Path, screenshot: Path | None, timeout_s: float
) -> dict[str, Any]:
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for method in ("Runtime.enable", "Log.enable", "Page.enable"):
        tools.call(method, session=session)
    tools.call("Emulation.setDeviceMetricsOverride", VIEWPORT, session)
    tools.call("Page.navigate", {"url": html.resolve().as_uri()}, session, timeout_s)
    tools.wait_event("Page.loadEventFired", timeout_s)
    probe = {"expression": PAGE_PROBE, "returnByValue": True}
    page: dict[str, Any] = tools.call("Runtime.evaluate", probe, session, timeout_s)["result"][
        "value"
    ]
    if screenshot is not None:
        shot = tools.call("Page.captureScreenshot", {"format": "png"}, session, timeout_s)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    return page


def check_report(
    html: Path,
    expected_sections: list[str],
    screenshot: Path | None = None,
    timeout_s: float = 60.0,
) -> PageCheck:
    """Open `html` in headless Chromium; report errors, missing sections and blank charts."""
    binary = find_chromium()
    if binary is None:
        raise BrowserUnavailable(
            "no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "); on Debian or "
            "Ubuntu: apt-get install chromium"
        )
    directory = Path(tempfile.mkdtemp(prefix="pairbench-chromium-"))
    profile, log = directory / "profile", directory / "chromium.log"
    try:
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = _devtools_url(process, profile, log)
            with connect(url, max_size=None, open_timeout=START_TIMEOUT_S) as socket:
                tools = _DevTools(socket)
                page = _inspect(tools, html, screenshot, timeout_s)
                errors = tools.console_errors()
        finally:
            _stop(process)
    finally:
        _remove(directory)
    visible = [section["id"] for section in page["sections"] if section["height"] > 0]
    blank = [
        f"chart {index + 1} in #{chart['section']}: {chart['width']:.0f}x{chart['height']:.0f} px, "
        f"{chart['shapes']} shapes"
        for index, chart in enumerate(page["charts"])
        if chart["width"] <= 0 or chart["height"] <= 0 or chart["shapes"] == 0
    ]
    return PageCheck(
        title=str(page["title"]),
        console_errors=errors,
        sections=visible,
        missing_sections=[key for key in expected_sections if key not in visible],
        charts=len(page["charts"]),
        blank_charts=blank,
        screenshot=screenshot,
        leaderboard_overflow_px=_overflow(page.get("leaderboard")),
    )


def _overflow(board: dict[str, Any] | None) -> float:
    """Pixels of the leaderboard beyond its container's width (0 without one)."""
    if not board:
        return 0.0
    return max(0.0, float(board["width"]) - float(board["room"]))
