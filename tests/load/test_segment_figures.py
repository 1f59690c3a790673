"""Segment figures: the deferred work's latency and backlog."""

import httpx
import pytest

from bench_app.techniques import all_techniques
from pairbench.load.segment_figures import deferred_work_figures, redis_used_memory


def test_deferred_work_counts_latency_and_the_most_in_progress() -> None:
    # Three jobs overlap at t=2.5 (requested 1, 2, 2.5; the first done at 3).
    jobs = [[1.0, 3.0], [2.0, 2.6], [2.5, 4.0], [5.0, 5.1]]
    figures = deferred_work_figures(jobs)
    assert figures["jobs_done"] == 4
    assert figures["jobs_in_progress_max"] == 3
    assert figures["job_done_p50_ms"] == pytest.approx(1050.0)
    assert deferred_work_figures([]) == {"jobs_done": 0.0}


def test_sequential_jobs_are_one_in_progress_at_a_time() -> None:
    jobs = [[float(n), n + 0.5] for n in range(10)]
    assert deferred_work_figures(jobs)["jobs_in_progress_max"] == 1


class RedisMemoryApp:
    """An app's /redis-memory that grows by 3 MB between two reads, or has no such route."""

    def __init__(self, served: bool) -> None:
        self.served, self.reads = served, 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.served:
            return httpx.Response(404)
        self.settled, self.path = request.url.params["settle"], request.url.path
        self.reads += 1
        return httpx.Response(200, json={"used_memory": 10 * 2**20 + 3 * 2**20 * (self.reads - 1)})


@pytest.mark.parametrize("served", [True, False])
def test_redis_memory_is_read_around_the_segment_where_the_app_serves_it(served: bool) -> None:
    app = RedisMemoryApp(served)
    judged_on_it = all_techniques()["job_records"]
    with httpx.Client(transport=httpx.MockTransport(app.handle), base_url="http://app") as client:
        before = redis_used_memory(client, judged_on_it)
        after = redis_used_memory(client, judged_on_it)
        if served:
            assert app.settled == "true"  # settled where it is the headline, else not
            assert app.path == "/job-records/held"  # what its queue's records hold
            redis_used_memory(client, all_techniques()["n_plus_one"])
            assert (app.settled, app.path) == ("false", "/redis-memory")
    if served:
        assert before is not None and after is not None and (after - before) == 3 * 2**20
    else:
        assert before is None and after is None
