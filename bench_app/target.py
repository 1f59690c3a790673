"""What a request is aimed at: a route's path and the parameters it is sent with.

The harness hands a workload a Target, never a URL string: a workload that varies a
parameter (the next address, the next user id, the next item) makes a new Target with it,
and nothing parses a URL back. A parameter the path names ("/users/{user_id}") fills it,
the rest make the query; the path is read with Starlette's own grammar (`compile_path`),
the one its router matches requests with.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from starlette.convertors import Convertor
from starlette.routing import compile_path, replace_params


@cache
def _compiled(path: str) -> tuple[str, dict[str, Convertor[Any]]]:
    """The path's format and its parameters' convertors (a workload asks this per request)."""
    _, path_format, convertors = compile_path(path)
    return path_format, convertors


@dataclass(frozen=True)
class Target:
    """A route's path, as its decorator writes it, and the parameters a request sends it."""

    path: str  # "/instrumentation/naive/users/{user_id}", or a path without parameters
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [name for name in _compiled(self.path)[1] if name not in self.params]
        if missing:
            raise ValueError(f"{self.path}: no value for the path parameter {{{missing[0]}}}")

    @property
    def path_params(self) -> list[str]:
        """The parameters the path names, in its order."""
        return list(_compiled(self.path)[1])

    @property
    def url(self) -> str:
        """The path with its parameters filled (quoted whole: "a/b" is one segment), then
        the other parameters as the query string, in their order."""
        path_format, convertors = _compiled(self.path)
        query = dict(self.params)
        if convertors:
            filled = {name: quote(str(query.pop(name)), safe="") for name in convertors}
            try:
                path, _ = replace_params(path_format, convertors, filled)
            except (AssertionError, ValueError) as error:  # the convertor's refusal, e.g. ""
                raise ValueError(f"{self.path} with {filled}: {error or 'empty'}") from None
        else:
            path = self.path
        encoded = urlencode(query)
        return f"{path}?{encoded}" if encoded else path

    def with_params(self, **params: Any) -> "Target":
        """The same route with `params` set (added, or replacing those of the same name)."""
        return Target(self.path, {**self.params, **params})

    def to_json(self) -> dict[str, Any]:
        """As sent to the load generator and its workers (JSON, msgpack)."""
        return {"path": self.path, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Target":
        return cls(str(data["path"]), dict(data.get("params") or {}))
