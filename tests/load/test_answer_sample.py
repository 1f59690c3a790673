"""Answers sampled under load: a few per segment, at fixed request counts, bodies kept."""

import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pairbench.load.answer_sample import (
    MAX_BODY_BYTES,
    SAMPLED_AT,
    AnswerSampler,
    answer_record,
    write_answers,
)
from pairbench.load.answers_under_load import DigestBody, sampled_answer
from pairbench.load.equivalence import RawBody


def event(number: int, name: str = "target", status: int = 200) -> dict[str, Any]:
    response = SimpleNamespace(
        status_code=status,
        content=json.dumps({"n": number}).encode(),
        headers={"content-type": "application/json"},
    )
    url = f"http://127.0.0.1:8089/demo?n={number}"  # Locust reports the whole URL
    return {"name": name, "url": url, "response": response, "exception": None}


def test_the_sampler_keeps_the_named_requests_at_the_sampled_counts(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    sampler = AnswerSampler("target")
    for number in range(1, 1200):
        sampler.on_request(**event(number))
        sampler.on_request(**event(number, name="bystander"))  # another kind: not counted
    write_answers(str(path), sampler.take())
    assert sampler.take() == []  # taken once
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert [record["url"] for record in kept] == [
        f"/demo?n={n}" for n in sorted(SAMPLED_AT) if n < 1200
    ]
    assert json.loads(base64.b64decode(kept[0]["body"])) == {"n": 10}
    assert sampled_answer(kept[0], order_insensitive=False) == {"n": 10}


def test_failed_and_bodiless_answers_are_not_kept() -> None:
    assert answer_record(event(10, status=503)) is None
    not_modified = event(10, status=304)
    assert answer_record(not_modified) is None
    unread = event(10)
    unread["response"].content = b""
    assert answer_record(unread) is None
    assert answer_record({**event(10), "exception": OSError("reset")}) is None


def test_a_gzip_body_the_client_did_not_decode_is_decoded_for_the_comparison() -> None:
    import gzip

    record = {
        "body": base64.b64encode(gzip.compress(b"[1, 2]")).decode(),
        "content_encoding": "gzip",
        "content_type": "application/json",
    }
    assert sampled_answer(record, order_insensitive=False) == [1, 2]
    decoded_already = {**record, "body": base64.b64encode(b"[1, 2]").decode()}
    assert sampled_answer(decoded_already, order_insensitive=False) == [1, 2]


def test_a_large_body_is_kept_by_its_length_and_digest() -> None:
    large = event(10)
    large["response"].content = b"x" * (MAX_BODY_BYTES + 1)
    large["response"].headers = {"content-type": "text/csv"}
    record = answer_record(large)
    assert record is not None and "body" not in record
    kept = sampled_answer(record, order_insensitive=False)
    assert kept == DigestBody.of(RawBody(b"x" * (MAX_BODY_BYTES + 1)))
    assert kept != DigestBody.of(RawBody(b"x" * MAX_BODY_BYTES))


def test_a_large_json_body_is_kept_whole_and_compared_decoded() -> None:
    rows = [{"id": number, "title": "x" * 40} for number in range(MAX_BODY_BYTES // 40)]
    large = event(10)
    large["response"].content = json.dumps(rows, indent=1).encode()  # other spacing
    assert len(large["response"].content) > MAX_BODY_BYTES
    record = answer_record(large)
    assert record is not None and "sha256" not in record
    assert sampled_answer(record, order_insensitive=False) == rows


def test_headers_a_scenario_names_as_part_of_the_request_are_kept() -> None:
    asked = {**event(10), "context": {"request_headers": {"x-user-id": "7"}}}
    record = answer_record(asked)
    assert record is not None and record["request_headers"] == {"x-user-id": "7"}
    plain = answer_record(event(10))
    assert plain is not None and "request_headers" not in plain
