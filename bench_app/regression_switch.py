"""A switch for the regression gate's self-test: make one optimized variant regress.

With PAIRBENCH_INJECT_REGRESSION=technique:variant, requests to that variant are
served by its technique's baseline variant, as if someone had removed the
optimization. It exists only so tests can prove the gate catches a regression;
nothing else sets it.
"""

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

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


class RegressionSwitch:
    """Routes the switched variant's requests to its baseline variant, path parameters kept."""

    def __init__(self, app: ASGIApp, spec: str) -> None:
        self.app = app
        # Starlette's own route patterns: (the optimized route's regex, the baseline's format)
        self.routes = [
            (compile_path(optimized)[0], compile_path(baseline)[1])
            for optimized, baseline in regressed_paths(spec).items()
        ]

    def _switched(self, path: str) -> str | None:
        for pattern, baseline in self.routes:
            found = pattern.match(path)
            if found:
                return baseline.format(**found.groupdict())  # the values as matched
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = self._switched(scope["path"]) if scope["type"] == "http" else None
        if path is not None:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
