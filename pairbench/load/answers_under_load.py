"""The equivalence check on answers sampled under load (pairbench.load.answer_sample).

Each sampled answer of an optimized variant is compared with its baseline variant's
answer to the same request, asked once the load is over: the same parameters (from the
sampled URL's path and query, over the point's), decoded the same way. An answer the
technique documents as a degraded one (bench_app.effects.DegradesTo) is held to that.
"""

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.routing import compile_path

from bench_app.effects import DegradesTo
from bench_app.technique import Technique
from pairbench.load.equivalence import RawBody, _canonical, decoded, first_difference
from pairbench.plan import Point

MAX_PER_VARIANT = 12  # answers compared per variant and point: bounds the check's time


def _decompressed(content: bytes, encoding: str) -> bytes:
    """The body as sent before encoding; as it is where the client had decoded it already."""
    try:
        if encoding == "gzip" and content[:2] == b"\x1f\x8b":
            return gzip.decompress(content)
        if encoding == "deflate":
            return zlib.decompress(content)
        if encoding == "br":
            import brotli  # type: ignore[import-untyped]  # starlette-compress's

            return bytes(brotli.decompress(content))
    except Exception:  # noqa: BLE001 - brotli's error has no one type: it was decoded already
        return content
    return content


def sampled_answer(record: Mapping[str, Any], order_insensitive: bool) -> Any:
    """A sampled answer decoded as the equivalence check decodes a response; a large one
    kept by its digest, as a DigestBody."""
    if "sha256" in record:
        return DigestBody(int(record["length"]), str(record["sha256"]))
    if "body_zlib" in record:
        content = zlib.decompress(base64.b64decode(record["body_zlib"]))
    else:
        content = base64.b64decode(record["body"])
    content = _decompressed(content, record["content_encoding"])
    if record["content_type"].startswith("application/json"):
        return _canonical(json.loads(content), order_insensitive)
    return RawBody(content)


@dataclass(frozen=True)
class DigestBody:
    """A large body the generator kept by its length and SHA-256."""

    length: int
    sha256: str

    @classmethod
    def of(cls, body: Any) -> "DigestBody | None":
        if not isinstance(body, RawBody):
            return None
        return cls(len(body.content), hashlib.sha256(body.content).hexdigest())


def _brief(body: Any, limit: int = 120) -> str:
    """A body as a message can quote it: its repr, cut short."""
    text = repr(body)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def request_params(technique: Technique, variant: str, url: str, point: Point) -> dict[str, Any]:
    """The parameters of a sampled request: its path's and query's, over the point's."""
    parts = urlsplit(url)
    found = compile_path(technique.path(variant))[0].match(parts.path)
    path_params = found.groupdict() if found else {}
    return {**point.params, **dict(parse_qsl(parts.query)), **path_params}


def read_answers(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open() as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def check_answers_under_load(
    client: httpx.Client, points: list[Point], answers_path: Path
) -> dict[str, dict[str, dict[str, Any]]]:
    """{technique: {variant: verdict}} for each optimized variant with sampled answers: the
    first answer that differs from the baseline's, or how many matched."""
    by_label = {(point.technique.key, point.label): point for point in points}
    expected: dict[tuple[str, str], Any] = {}
    verdicts: dict[str, dict[str, dict[str, Any]]] = {}
    counted: dict[tuple[str, str, str], int] = {}
    for record in read_answers(answers_path):
        point = by_label.get((record["technique"], record["point"]))
        technique, variant = (point.technique, record["variant"]) if point else (None, "")
        if point is None or technique is None or variant == technique.baseline:
            continue
        where = (technique.key, variant, point.label)
        counted[where] = counted.get(where, 0) + 1
        verdict = verdicts.setdefault(technique.key, {}).setdefault(
            variant, {"equivalent": True, "answers": 0}
        )
        if counted[where] > MAX_PER_VARIANT or not verdict["equivalent"]:
            continue
        params = request_params(technique, variant, record["url"], point)
        caller = record.get("request_headers") or {}
        key = (technique.key, json.dumps([params, caller], sort_keys=True, default=str))
        if key not in expected:
            request = technique.request(technique.baseline, params)
            response = client.request(
                request.method,
                request.url,
                headers={**request.headers, **caller},
                content=request.content,
            )
            expected[key] = _canonical(decoded(response), technique.order_insensitive)
        actual = sampled_answer(record, technique.order_insensitive)
        verdict["answers"] += 1
        if any(
            isinstance(effect, DegradesTo) and actual == dict(effect.fallback(params))
            for effect in technique.effects
        ):
            continue  # the documented degraded answer, which load may rightly bring about
        if isinstance(actual, DigestBody):  # compared by digest, as it was kept
            same = DigestBody.of(expected[key]) == actual
            difference = None if same else f"body: {_brief(expected[key])} vs {actual!r}"
        else:
            difference = first_difference(expected[key], actual)
        if difference:
            verdict.update(
                equivalent=False,
                point=point.label,
                difference=f"under load, {record['url']}: {difference}",
                detail=(
                    f"{point.label}: under load, its answer to {record['url']} differs from "
                    f"{technique.baseline}'s at {difference}"
                ),
            )
    return verdicts
