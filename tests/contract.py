"""Checks every technique's tests share: every variant answers the contract, rejects bad input."""

from collections.abc import Collection, Mapping
from typing import Any

import httpx

from bench_app.technique import Technique


async def assert_every_variant_rejects(
    client: httpx.AsyncClient,
    technique: Technique,
    name: str,
    bad: str | None,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    in_header: bool = False,
    variants: Collection[str] | None = None,
) -> None:
    """Every variant (of `variants`; all by default) answers `name=bad` with a 422 whose
    error names that parameter where it went and says why: in the path if the variant's
    route names it, in a header if `in_header`, else in the query. `bad` None leaves the
    parameter out (a required one). `params` and `headers` are sent beside it, valid."""
    sent_headers = dict(headers or {})
    values = dict(params or {})
    if in_header:
        sent_headers.pop(name, None)
        if bad is not None:
            sent_headers[name] = bad
    elif bad is not None:
        values[name] = bad
    for variant in technique.variants if variants is None else variants:
        target = technique.target(variant, values)
        where = "header" if in_header else "path" if name in target.path_params else "query"
        response = await client.get(target.url, headers=sent_headers)
        assert response.status_code == 422, (variant, response.text)
        detail = response.json()["detail"][0]
        assert detail["loc"] == [where, name] and detail["msg"], (variant, detail)


async def assert_every_variant_answers(
    client: httpx.AsyncClient, technique: Technique, params: dict[str, Any], expected: Any
) -> dict[str, httpx.Response]:
    """Every variant answers `params` with a 200 whose JSON is `expected`; their responses."""
    found = {}
    for variant in technique.variants:
        response = await client.get(technique.url(variant, params))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant
        found[variant] = response
    return found
