"""Raw samples record the bytes on the wire, which Locust itself does not report."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from pairbench.env.server import app_environment, running_app
from pairbench.env.services import ServiceUrls
from scenarios.samples import wire_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_an_encoded_body_counts_its_content_length() -> None:
    headers = {"content-encoding": "br", "content-length": "2918"}
    assert wire_bytes(headers, response_length=11421) == 2918


def test_an_unencoded_or_unsized_body_counts_what_locust_read() -> None:
    assert wire_bytes({"content-length": "500"}, response_length=500) == 500
    assert wire_bytes({"content-encoding": "identity", "content-length": "7"}, 7) == 7
    assert wire_bytes({"content-encoding": "gzip"}, response_length=900) == 900  # chunked
    assert wire_bytes({}, response_length=0) == 0


# Run apart: importing Locust monkey-patches the process for gevent.
LOCUST_CLIENT = textwrap.dedent(
    """
    import sys
    from locust.env import Environment
    from scenarios.compression import make_user
    from scenarios.samples import SampleRecorder

    base_url, path, out = sys.argv[1:]
    user_class = make_user("Client", path)
    user_class.host = base_url
    environment = Environment(user_classes=[user_class], host=base_url)
    recorder = SampleRecorder(out)
    environment.events.request.add_listener(recorder.on_request)
    user = user_class(environment)
    for _ in range(3):
        user_class.tasks[0](user)
    recorder.close()
    """
)


@pytest.mark.slow
def test_locust_samples_of_a_compressed_variant_hold_its_wire_bytes(
    seeded: Settings, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    technique = all_techniques()["compression"]
    environment = app_environment(service_urls.database_url, service_urls.redis_url, seeded.scale)
    out = tmp_path / "samples.csv"
    with running_app(environment, tmp_path / "server.log", log=lambda message: None) as url:
        for variant in ("plain", "brotli_quality4"):
            target = technique.url(variant, {"posts": 100})
            command = [sys.executable, "-c", LOCUST_CLIENT, url, target, str(out)]
            subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=120)
            samples = pd.read_csv(out)
            assert len(samples) == 3 and (samples["status"] == 200).all(), samples["error"]
            # Locust decoded the body (an error otherwise) and the sample keeps its wire size,
            # the size the app's meter says it sent.
            assert (samples["bytes"] == samples["wire_bytes"]).all(), variant
            if variant == "plain":
                assert (samples["bytes"] == samples["body_bytes"]).all()
            else:
                assert (samples["bytes"] * 3 < samples["body_bytes"]).all()
