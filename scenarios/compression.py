"""Compression workload: a client that says which encodings it decodes, as browsers do.

Locust's HTTP client already sends this Accept-Encoding by default; saying it here keeps
the workload fixed if that default changes. zstd is not offered: Locust's client
(geventhttpclient) cannot decode it. The samples' `bytes` are the encoded body's size
on the wire (scenarios.samples), not the decoded size Locust reports.
"""

from locust import FastHttpUser, constant

from bench_app.target import Target
from bench_app.techniques.compression import CLIENT_ACCEPT_ENCODING


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user requesting `target` back to back, accepting gzip and Brotli."""
    url = target.url

    class DecodingClient(FastHttpUser):
        wait_time = constant(0)

        def fetch(self) -> None:
            self.client.get(url, name=name, headers={"Accept-Encoding": CLIENT_ACCEPT_ENCODING})

        tasks = [fetch]

    DecodingClient.__name__ = DecodingClient.__qualname__ = name
    return DecodingClient
