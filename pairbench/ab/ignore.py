"""Fields of an answer that differ by design (a timestamp, a request id), left out of the
comparison.

A field is named one of two ways:
- a key name (`generated_at`): that key, wherever it is in the answer, at any depth;
- a dotted path from the answer's root (`meta.generated_at`, `items.etag`): that key only;
  a list on the way applies the rest of the path to each of its items.
"""

from collections.abc import Sequence
from typing import Any

KEY_NAME, DOTTED_PATH = "key name", "dotted path"


def kind_of(field: str) -> str:
    """How `field` is read: a key name anywhere, or a dotted path from the root."""
    return DOTTED_PATH if "." in field else KEY_NAME


def describe(fields: Sequence[str]) -> str:
    """The ignored fields as the console and report say them, each with how it was read."""
    return ", ".join(f"{field} ({kind_of(field)})" for field in fields)


def without_fields(body: Any, fields: Sequence[str]) -> Any:
    """`body` (decoded JSON) with the ignored fields removed; the original is not changed."""
    for field in fields:
        if kind_of(field) == KEY_NAME:
            body = _without_key(body, field)
        else:
            body = _without_path(body, field.split("."))
    return body


def _without_key(body: Any, key: str) -> Any:
    if isinstance(body, dict):
        return {name: _without_key(value, key) for name, value in body.items() if name != key}
    if isinstance(body, list):
        return [_without_key(item, key) for item in body]
    return body


def _without_path(body: Any, path: list[str]) -> Any:
    if isinstance(body, list):
        return [_without_path(item, path) for item in body]
    if not isinstance(body, dict) or not path:
        return body
    head, rest = path[0], path[1:]
    if head not in body:
        return body
    if not rest:
        return {name: value for name, value in body.items() if name != head}
    return {**body, head: _without_path(body[head], rest)}
