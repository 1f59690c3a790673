"""The load generator's ceiling, measured by the run's own generator against the real app."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench_app.settings import Settings
from pairbench.env.server import AppServer
from pairbench.env.services import ServiceUrls
from pairbench.load.ceiling import CEILING_ROUTE, RAW_FILE, measure_ceiling_safely
from pairbench.load.segment import running_generator
from pairbench.profiles import PROFILES
from tests.served import app_process

pytestmark = pytest.mark.slow
SHORT = dataclasses.replace(PROFILES["smoke"], users=4, ceiling_s=0.5)


@pytest.fixture(scope="module")
def app(
    seeded: Settings, service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppServer]:
    with app_process(seeded, service_urls, tmp_path_factory.mktemp("ceiling")) as served:
        yield served


def test_the_ceiling_is_the_generators_rate_on_the_trivial_route(
    app: AppServer, tmp_path: Path
) -> None:
    logged: list[str] = []
    with running_generator(app.base_url, tmp_path / "generator.log") as generator:
        entry = measure_ceiling_safely(generator, tmp_path, SHORT, logged.append)
        skipped = measure_ceiling_safely(
            generator, tmp_path, dataclasses.replace(SHORT, ceiling_s=0.0), logged.append
        )

    assert entry["measured"] is True and entry["endpoint"] == CEILING_ROUTE == "/health/live"
    assert entry["users"] == 4 and entry["seconds"] == 0.5 and entry["load_workers"] == 0
    assert entry["rps"] > 0 and entry["requests"] > 0 and entry["failures"] == 0
    # requests per second over the time they took (first send to last answer), as a
    # variant's throughput is reckoned: both figures from the same span, whatever the load
    assert entry["rps"] == pytest.approx(entry["requests"] / entry["measured_s"], rel=0.01)
    assert entry["generator_cpu_max"] >= 0
    assert not (tmp_path / RAW_FILE).exists()  # its raw samples are not a segment's
    (line,) = [line for line in logged if line.startswith("generator ceiling:")]
    assert f"{entry['rps']:,.0f} req/s on /health/live (4 users" in line
    assert skipped == {"measured": False, "error": "skipped by the smoke profile"}
