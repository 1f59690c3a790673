"""The job worker process: it starts ready to work, and stops leaving nothing running."""

from pathlib import Path

import psutil

from bench_app.settings import Settings
from pairbench.env.server import app_environment
from pairbench.env.worker import running_worker


def test_the_worker_starts_and_stops_with_the_block(seeded: Settings, tmp_path: Path) -> None:
    environment = app_environment(
        seeded.database_url, seeded.redis_url, seeded.scale, seeded.upstream_url
    )
    environment["PAIRBENCH_JOB_QUEUE"] = "worker-start-stop-test"
    with running_worker(environment, tmp_path / "worker.log", lambda message: None) as process:
        assert process.poll() is None
        worker = psutil.Process(process.pid)
    assert process.returncode is not None
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert "ready" in (tmp_path / "worker.log").read_text()
