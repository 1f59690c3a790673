"""Raw samples record the bytes on the wire, which Locust itself does not report, and a
streamed response's whole costs, which its header cannot carry."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from bench_app.metering import COST_HEADER
from bench_app.settings import Settings
from bench_app.streamed_costs import WHOLE_COST_HEADER
from bench_app.techniques import all_techniques
from bench_app.techniques.streaming_export import ENTRIES_PER_DAY_PER_SCALE
from pairbench.env.server import app_environment, running_app
from pairbench.env.services import ServiceUrls
from scenarios.samples import WHOLE_COST_CONTEXT_KEY, cost_text, wire_bytes

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
    import json
    import sys
    from locust.env import Environment
    from bench_app.target import Target
    from scenarios.compression import make_user
    from scenarios.samples import SampleRecorder

    base_url, target, out = sys.argv[1:]
    user_class = make_user("Client", Target.from_json(json.loads(target)))
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
            target = json.dumps(technique.target(variant, {"posts": 100}).to_json())
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


def test_a_streamed_response_counts_its_whole_costs_or_none() -> None:
    streamed = {COST_HEADER: "queries=1 app_ms=1.000", WHOLE_COST_HEADER: "/streamed-costs/1-1"}
    whole = "queries=1 rows=30 app_ms=9.000"
    assert cost_text(streamed, {WHOLE_COST_CONTEXT_KEY: whole}) == whole
    assert cost_text(streamed, {}) is None  # never the header's costs to the first byte
    assert cost_text({COST_HEADER: "queries=2 app_ms=1.000"}, {}) == "queries=2 app_ms=1.000"


# Downloads both variants as the streaming_export workload does (scenarios.download).
LOCUST_DOWNLOAD = textwrap.dedent(
    """
    import sys
    from locust import FastHttpUser
    from locust.env import Environment
    from scenarios.download import timed_download
    from scenarios.samples import SampleRecorder

    base_url, out, *paths = sys.argv[1:]
    user_class = type("Client", (FastHttpUser,), {"host": base_url, "tasks": []})
    environment = Environment(user_classes=[user_class], host=base_url)
    recorder = SampleRecorder(out)
    environment.events.request.add_listener(recorder.on_request)
    user = user_class(environment)
    for path in paths:
        timed_download(user, path, path)
    recorder.close()
    """
)


@pytest.mark.slow
def test_locust_samples_of_a_streamed_download_count_every_row_it_sent(
    seeded: Settings, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    technique, days = all_techniques()["streaming_export"], 2
    environment = app_environment(service_urls.database_url, service_urls.redis_url, seeded.scale)
    out = tmp_path / "samples.csv"
    paths = [technique.url(variant, {"days": days}) for variant in ("naive", "streaming")]
    with running_app(environment, tmp_path / "server.log", log=lambda message: None) as url:
        command = [sys.executable, "-c", LOCUST_DOWNLOAD, url, str(out), *paths]
        subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=120)
    samples = pd.read_csv(out).set_index("name")
    assert (samples["status"] == 200).all(), samples["error"]
    naive, streaming = samples.loc[paths[0]], samples.loc[paths[1]]
    assert naive["bytes"] == streaming["bytes"]  # the same export
    # The naive variant read every row before its header left; streaming's were read while
    # its body was sent, and the sample holds those too.
    assert streaming["rows"] == naive["rows"] == days * ENTRIES_PER_DAY_PER_SCALE * seeded.scale
    assert streaming["queries"] == naive["queries"] == 1
