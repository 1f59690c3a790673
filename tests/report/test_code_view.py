"""Each variant's endpoint source, found from its technique's router, highlighted inline."""

from bench_app.techniques import all_techniques
from pairbench.report.code_view import highlighted
from pairbench.sources import capture_sources, endpoint_source


def test_every_registered_variant_has_its_endpoint_source() -> None:
    sources = capture_sources(all_techniques().values())
    for key, technique in all_techniques().items():
        assert list(sources[key]) == list(technique.variants)
        for variant, source in sources[key].items():
            assert source.startswith(("@", "async def")), (key, variant)  # a whole function
            assert f"def {variant}(" in source, (key, variant)


def test_the_naive_variant_shows_its_lazy_load() -> None:
    technique = all_techniques()["n_plus_one"]
    source = endpoint_source(technique, "naive")
    assert "async def naive(" in source and "awaitable_attrs.posts" in source
    assert "selectinload" in endpoint_source(technique, "selectin")


def test_highlighting_is_inline_html_without_a_stylesheet() -> None:
    html = str(highlighted("async def naive() -> int:\n    return 1\n"))
    assert html.startswith('<div class="highlight"><pre')
    assert 'style="' in html and "<style" not in html and "naive" in html
