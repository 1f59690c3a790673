"""A pair of the user's own endpoints, declared as a Technique so the harness measures it.

The two endpoints are the variants `a` (the baseline) and `b`; a pair has no router of its
own, so its paths come from the endpoints (each may carry a query of its own, e.g.
`/items?impl=fast`), and its request may be any method, with headers and a body.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter

from bench_app.target import Target
from bench_app.technique import RequestBody, Technique, VariantRequest

BASELINE, CANDIDATE = "a", "b"  # the variants' keys: a is the baseline b is compared with
JSON_TYPE, TEXT_TYPE = "application/json", "text/plain"


@dataclass(frozen=True)
class Endpoint:
    """One side of a pair: the app it is on (None: the app pairbench serves) and its path,
    with the query parameters its URL fixed."""

    base_url: str | None
    path: str
    query: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Endpoint":
        """`http://host:port/path?q=1` (an app the user runs) or `/path?q=1` (one served)."""
        parts = urlsplit(text)
        if parts.scheme and parts.scheme not in ("http", "https"):
            raise ValueError(f"{text!r}: only http and https URLs can be measured")
        if parts.scheme and not parts.netloc:
            raise ValueError(f"{text!r}: the URL names no host")
        if not parts.scheme and not text.startswith("/"):
            raise ValueError(f"{text!r}: give a URL (http://host:port/path) or a path (/path)")
        base_url = f"{parts.scheme}://{parts.netloc}" if parts.scheme else None
        return cls(base_url, parts.path or "/", dict(parse_qsl(parts.query)))

    def describe(self) -> str:
        query = "&".join(f"{name}={value}" for name, value in self.query.items())
        return f"{self.base_url or ''}{self.path}{'?' + query if query else ''}"


@dataclass(frozen=True)
class PairRequest(VariantRequest):
    """A variant's request with the headers the user gave, beside the body's content type."""

    sent_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {**super().headers, **self.sent_headers}


def body_of(text: str | None) -> RequestBody | None:
    """The request body the user gave, typed as JSON when it parses as JSON."""
    if text is None:
        return None
    try:
        json.loads(text)
    except ValueError:
        return RequestBody(text.encode(), TEXT_TYPE)
    return RequestBody(text.encode(), JSON_TYPE)


@dataclass(frozen=True)
class PairTechnique(Technique):
    """Two endpoints of the user's app as a technique of two variants, `a` and `b`."""

    endpoints: Mapping[str, Endpoint] = field(default_factory=dict)
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    ignore: tuple[str, ...] = ()  # answer fields that differ by design (pairbench.ab.ignore)

    @cached_property
    def paths(self) -> Mapping[str, str]:
        return {variant: endpoint.path for variant, endpoint in self.endpoints.items()}

    def target(self, variant: str, params: Mapping[str, Any] | None = None) -> Target:
        """The endpoint's path and parameters: its URL's own query, then the pair's."""
        values = dict(self.params if params is None else params)
        return super().target(variant, {**self.endpoints[variant].query, **values})

    def request(self, variant: str, params: Mapping[str, Any] | None = None) -> VariantRequest:
        return PairRequest(
            self.method,
            self.url(variant, params),
            body_of(self.body),
            sent_headers=dict(self.headers),
        )


def make_pair(
    name: str,
    a: Endpoint,
    b: Endpoint,
    params: Mapping[str, Any] | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    ignore: tuple[str, ...] = (),
    sweep: Mapping[str, list[Any]] | None = None,
) -> PairTechnique:
    """The pair `name`: `a` is the baseline, `b` the endpoint compared with it."""
    return PairTechnique(
        key=name,
        area="your app",
        title=f"{name}: {b.describe()} vs {a.describe()}",
        summary=f"{method} {a.describe()} (a) against {method} {b.describe()} (b), same answer "
        "required" + (f" apart from {', '.join(ignore)}" if ignore else ""),
        guide_section="",
        router=APIRouter(),
        variants=(BASELINE, CANDIDATE),
        baseline=BASELINE,
        params=dict(params or {}),
        sweep=dict(sweep or {}),
        endpoints={BASELINE: a, CANDIDATE: b},
        method=method.upper(),
        headers=dict(headers or {}),
        body=body,
        ignore=ignore,
    )
