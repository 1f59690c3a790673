"""csv_import's microbenchmark call: POST the point's CSV (built once per URL, not timed)."""

from urllib.parse import parse_qsl, urlsplit

import httpx

from bench_app.payment_uploads import upload
from bench_app.technique import RequestBody

_BODIES: dict[str, RequestBody] = {}


async def micro_request(client: httpx.AsyncClient, url: str) -> httpx.Response:
    body = _BODIES.get(url)
    if body is None:
        body = _BODIES[url] = upload(dict(parse_qsl(urlsplit(url).query)))
    return await client.post(url, content=body.content, headers={"content-type": body.content_type})
