"""A switch for the regression gate's self-test: make one optimized variant regress.

With PAIRBENCH_INJECT_REGRESSION=technique:variant, requests to that variant are
served by its technique's baseline variant, as if someone had removed the
optimization. It exists only so tests can prove the gate catches a regression;
nothing else sets it.
"""

from starlette.types import ASGIApp, Receive, Scope, Send

from bench_app.techniques import all_techniques


class RegressionSwitchError(ValueError):
    """The switch names no known technique variant."""


def regressed_paths(spec: str) -> dict[str, str]:
    """{optimized variant path: baseline variant path} for a 'technique:variant' spec."""
    key, _, variant = spec.partition(":")
    technique = all_techniques().get(key)
    if technique is None or variant not in technique.variants or variant == technique.baseline:
        raise RegressionSwitchError(
            f"PAIRBENCH_INJECT_REGRESSION={spec!r} must name an optimized variant as "
            "technique:variant (see `pairbench list`)"
        )
    return {technique.path(variant): technique.path(technique.baseline)}


class RegressionSwitch:
    """Routes the switched variant's requests to its baseline variant."""

    def __init__(self, app: ASGIApp, spec: str) -> None:
        self.app = app
        self.paths = regressed_paths(spec)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            path = self.paths[scope["path"]]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
