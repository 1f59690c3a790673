"""A switch for the regression gate's self-test: make one optimized variant regress.

With PAIRBENCH_INJECT_REGRESSION=technique:variant, requests to that variant are
served by its technique's baseline variant, as if someone had removed the
optimization. It exists only so tests can prove the gate catches a regression;
nothing else sets it.
"""

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from bench_app.technique import PATH_PARAMETER
from bench_app.techniques import all_techniques


class RegressionSwitchError(ValueError):
    """The switch names no known technique variant."""


def regressed_paths(spec: str) -> dict[str, str]:
    """{optimized variant's route: baseline variant's route} for a 'technique:variant'
    spec, as templates ("/instrumentation/optimized/users/{user_id}")."""
    key, _, variant = spec.partition(":")
    technique = all_techniques().get(key)
    if technique is None or variant not in technique.variants or variant == technique.baseline:
        raise RegressionSwitchError(
            f"PAIRBENCH_INJECT_REGRESSION={spec!r} must name an optimized variant as "
            "technique:variant (see `pairbench list`)"
        )
    return {technique.path(variant): technique.path(technique.baseline)}


def route_pattern(template: str) -> re.Pattern[str]:
    """The concrete paths of a route template: each {parameter} one path segment."""
    pieces = PATH_PARAMETER.split(template)  # literal, name, literal, name, ..., literal
    literals, names = pieces[::2], pieces[1::2]
    pattern = re.escape(literals[0]) + "".join(
        f"(?P<{name}>[^/]+){re.escape(literal)}"
        for name, literal in zip(names, literals[1:], strict=True)
    )
    return re.compile(pattern + "$")


def fill(template: str, values: dict[str, str]) -> str:
    """A route template with its {parameters} replaced by `values` (as matched: still quoted)."""
    return PATH_PARAMETER.sub(lambda name: values[name.group(1)], template)


class RegressionSwitch:
    """Routes the switched variant's requests to its baseline variant, path parameters kept."""

    def __init__(self, app: ASGIApp, spec: str) -> None:
        self.app = app
        self.routes = [
            (route_pattern(optimized), baseline)
            for optimized, baseline in regressed_paths(spec).items()
        ]

    def _switched(self, path: str) -> str | None:
        for pattern, baseline in self.routes:
            found = pattern.match(path)
            if found:
                return fill(baseline, found.groupdict())
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._switched(scope["path"]) if scope["type"] == "http" else None
        if path is not None:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
