"""Conditional GET workload: a browser that keeps the ETag it was given and sends it back.

The user's first request has no If-None-Match; after that it sends the last ETag it
received for the URL, as a browser revalidating its cached copy does (Cache-Control:
no-cache). A 304 keeps the copy (and its ETag); a 200 replaces both. Responses
without an ETag (the `full` variant) leave it nothing to send.
"""

from locust import FastHttpUser, constant

from bench_app.target import Target


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user requesting `target` with the ETag of its last copy, if it has one."""
    url = target.url

    class BrowserUser(FastHttpUser):
        wait_time = constant(0)

        def on_start(self) -> None:
            self.etag: str | None = None

        def revalidate(self) -> None:
            headers = {} if self.etag is None else {"If-None-Match": self.etag}
            response = self.client.get(url, name=name, headers=headers)
            if response.status_code == 200:
                self.etag = response.headers.get("ETag")

        tasks = [revalidate]

    BrowserUser.__name__ = BrowserUser.__qualname__ = name
    return BrowserUser
