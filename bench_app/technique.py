"""The one abstraction: a technique is a router plus a declaration of its variants."""

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from bench_app.settings import Settings

AppLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
DataLoader = Callable[[AsyncConnection, Settings], Awaitable[dict[str, int]]]


@dataclass(frozen=True)
class Technique:
    """A performance technique served as paired endpoints with one contract.

    Every variant answers the same parameters with the same body; the harness checks
    that before it measures, so a faster wrong answer never counts as an optimization.
    """

    key: str
    area: str
    title: str
    summary: str
    seed: str
    router: APIRouter
    variants: Mapping[str, str]
    baseline: str
    params: Mapping[str, Any] = field(default_factory=dict)
    sweep: Mapping[str, list[Any]] = field(default_factory=dict)
    proof: str = ""
    order_insensitive: bool = False
    # Optional hooks, for techniques that need more than a router:
    lifespan: AppLifespan | None = None  # app-lifetime resources: in-process caches, workers
    load_data: DataLoader | None = None  # fills the technique's own tables when data is seeded
    # POSTed before each load segment with the point's params as its query, e.g. to empty a
    # scratch table or to cache the answer those params will ask for
    reset_path: str | None = None
    artifacts_path: str | None = None  # GET -> {name: text} kept in the run, e.g. EXPLAIN plans
    # GET with a point's params -> extra params every variant then gets, e.g. the keyset
    # cursor that a client paging to page P would hold from page P-1.
    params_path: str | None = None

    def __post_init__(self) -> None:
        if self.baseline not in self.variants:
            raise ValueError(f"{self.key}: baseline {self.baseline!r} is not one of its variants")

    def url(self, variant: str, params: Mapping[str, Any] | None = None) -> str:
        """Path and query string for `variant` with `params` (the defaults if None)."""
        query = urlencode(dict(params or self.params))
        path = self.variants[variant]
        return f"{path}?{query}" if query else path
