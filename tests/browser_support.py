"""Whether the headless-browser checks can run: skipped without Chromium, failed in CI."""

import os

import pytest

from pairbench.report.browser import find_chromium


def require_chromium() -> None:
    """Skip the calling test when Chromium is missing, unless CI=true: then fail instead."""
    if find_chromium() is not None:
        return
    reason = "Chromium is not installed (Debian/Ubuntu: apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: .ci/run installs it; the browser check must run")
    pytest.skip(f"{reason}; the report is not checked in a browser")
