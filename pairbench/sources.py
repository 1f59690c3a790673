"""The code that was measured: each variant's endpoint source, captured when a run starts.

A reader believes a speedup once they see the two functions next to each other. Each
variant's endpoint is found by matching its technique router's routes to the variant's
path, and its source is kept in the run (code.json), so a report always shows the code
that was measured, even after the technique changed (pairbench.report.code_view shows it).
"""

import inspect
import textwrap
from collections.abc import Iterable

from fastapi.routing import APIRoute

from bench_app.technique import Technique


def endpoint_source(technique: Technique, variant: str) -> str:
    """The source of the function serving `variant`, dedented; a note if none is found."""
    for route in technique.router.routes:
        if isinstance(route, APIRoute) and route.name == variant:
            try:
                return textwrap.dedent(inspect.getsource(route.endpoint)).rstrip() + "\n"
            except (OSError, TypeError) as error:
                return f"# source of {route.endpoint!r} unavailable: {error}\n"
    return f"# no route of {technique.key}'s router is named {variant}\n"


def capture_sources(techniques: Iterable[Technique]) -> dict[str, dict[str, str]]:
    """technique -> variant -> endpoint source, for code.json."""
    return {
        technique.key: {
            variant: endpoint_source(technique, variant) for variant in technique.variants
        }
        for technique in techniques
    }
