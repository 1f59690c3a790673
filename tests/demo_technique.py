"""A technique declared by a test: a router of the test's own, no lesson text."""

from typing import Any

from fastapi import APIRouter

from bench_app.technique import Technique


def demo_technique(
    key: str, router: APIRouter, variants: tuple[str, ...], **declared: Any
) -> Technique:
    """A Technique named `key` over `router`'s variants; the rest as `declared`."""
    return Technique(
        key=key,
        area="test",
        title=key,
        summary="",
        guide_section="",
        router=router,
        variants=variants,
        **declared,
    )
