"""Pagination's workload asks for the page its target names, keyset by the cursor a client
paging there would hold."""

import io

import pytest

from bench_app.techniques import all_techniques

TECHNIQUE = all_techniques()["pagination"]


def test_a_hand_driven_locust_user_gets_the_cursor_of_its_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scenarios/pagination.py: a target without `after` (locust --class-picker) gets one."""
    from scenarios import pagination as scenario

    asked = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        asked.append(url)
        return io.BytesIO(b'{"after": "abc="}')

    monkeypatch.setattr(scenario.urllib.request, "urlopen", urlopen)
    resolved = scenario.with_cursor("http://app", TECHNIQUE.target("keyset"))
    assert asked == ["http://app/pagination/cursor?page=250&size=20"]
    assert resolved.url == "/pagination/keyset?page=250&size=20&after=abc%3D"
    resolved_by_harness = TECHNIQUE.target("keyset", {"page": 1, "size": 20, "after": ""})
    assert scenario.with_cursor("http://app", resolved_by_harness) == resolved_by_harness
    assert len(asked) == 1
