"""Every workload builds its requests from the target it is handed: the variant's route
with the point's params (a parameter varied where the workload varies it), and its other
kinds of request from the routes the technique declares (its bystander route)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from starlette.routing import compile_path

from bench_app.techniques import all_techniques

REPO_ROOT = Path(__file__).resolve().parents[2]
TASK_RUNS = 3  # each user's tasks, run this often by hand

# Run apart: importing Locust monkey-patches the process for gevent. Each registered
# variant's user classes run their tasks by hand, their client and urlopen (the hooks a
# workload calls around Locust: stampede's expiry, pagination's cursor) recording the
# requests instead of sending them.
RECORD_REQUESTS = textwrap.dedent(
    f"""
    import locust  # noqa: F401 - first: it monkey-patches the process for gevent
    import io
    import json
    import urllib.request
    from locust.env import Environment
    from bench_app.techniques import all_techniques
    from scenarios.users import users_for

    sent = []

    class Answer(io.BytesIO):
        status_code, headers = 200, {{"ETag": '"e"'}}

        def __init__(self):
            super().__init__(b'{{"after": "abc="}}')

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def iter_content(self, **_):
            return iter([b"body"])

        request_meta = {{"context": {{}}}}

    class Recorder:
        def request(self, method, url, name=None, **_):
            sent.append({{"technique": key, "variant": variant, "method": method, "url": url,
                          "name": name}})
            return Answer()

        def get(self, url, **options):
            return self.request("GET", url, **options)

        def post(self, url, **options):
            return self.request("POST", url, **options)

    def urlopen(request, timeout=None):
        url = request if isinstance(request, str) else request.full_url
        sent.append({{"technique": key, "variant": variant, "method": "urlopen", "url": url,
                      "name": None}})
        return Answer()

    urllib.request.urlopen = urlopen
    for key, technique in all_techniques().items():
        for variant in technique.variants:
            for user_class in users_for(key, variant, technique.target(variant)):
                user_class.host = "http://app"
                user = user_class(Environment(user_classes=[user_class], host="http://app"))
                user.client = Recorder()
                if hasattr(user, "on_start"):
                    user.on_start()
                for _ in range({TASK_RUNS}):
                    for task in user.tasks:
                        task(user)
                for group in ("in_flight", "reads"):  # requests sent in greenlets of their own
                    if hasattr(user, group):
                        getattr(user, group).join(timeout=5)
    print(json.dumps(sent))
    """
)


def recorded_requests() -> list[dict[str, str]]:
    command = [sys.executable, "-c", RECORD_REQUESTS]
    done = subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=120, capture_output=True)
    requests: list[dict[str, str]] = json.loads(done.stdout.decode().splitlines()[-1])
    return requests


def test_every_workloads_requests_are_of_its_targets_routes() -> None:
    techniques = all_techniques()
    requests = recorded_requests()
    own = {(request["technique"], request["variant"]) for request in requests}
    assert own == {(key, variant) for key, t in techniques.items() for variant in t.variants}
    for request in requests:
        technique = techniques[request["technique"]]
        target = technique.target(request["variant"])
        parts = urlsplit(request["url"])
        where = f"{request['technique']}/{request['variant']}: {request['url']}"
        if request["name"] == request["variant"]:  # the variant's own requests
            route, _, _ = compile_path(target.path)
            assert route.match(parts.path), where
            query = set(parse_qs(parts.query, keep_blank_values=True))
            assert query >= set(target.params) - set(target.path_params), where
        elif request["name"] == "bystander":
            assert request["url"] == technique.bystander_target().url, where
        else:  # a kind of request of its own (readers, an expiry, a cursor): another route
            routes = [compile_path(path)[0] for path in technique.route_paths.values()]
            assert any(route.match(parts.path) for route in routes), where
