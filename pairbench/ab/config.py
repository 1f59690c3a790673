"""Pairs a team keeps next to its code: `[tool.pairbench.pairs]` in its pyproject.toml.

    [tool.pairbench.pairs.orders]
    a = "/orders/per-row"            # the baseline: a path (with --app) or a URL
    b = "/orders/one-query"          # compared with it
    params = { customers = 50 }      # query (or path) parameters, optional
    ignore = ["generated_at"]        # fields that differ by design, optional
    # also optional: method = "POST", headers = { ... }, body = "...", sweep = { n = [1, 10] }

A malformed table is an error naming the file and the key.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAIRS_TABLE = "tool.pairbench.pairs"
REQUIRED = ("a", "b")
OPTIONAL = ("params", "ignore", "method", "headers", "body", "sweep")


class PairsError(Exception):
    """The pairs table is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class PairEntry:
    """One pair as the file declares it."""

    name: str
    a: str
    b: str
    params: Mapping[str, Any] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    sweep: tuple[str, list[Any]] | None = None


def read_pairs(pyproject: Path) -> list[PairEntry]:
    """Every pair in `pyproject`'s [tool.pairbench.pairs], in the file's order."""
    if not pyproject.is_file():
        raise PairsError(f"{pyproject}: no such file (it should hold [{PAIRS_TABLE}])")
    try:
        document = tomllib.loads(pyproject.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PairsError(f"{pyproject} is not valid TOML ({error})") from None
    table = document.get("tool", {}).get("pairbench", {}).get("pairs")
    if table is None:
        raise PairsError(f"{pyproject}: no [{PAIRS_TABLE}] table")
    if not isinstance(table, dict) or not table:
        raise PairsError(f"{pyproject}: [{PAIRS_TABLE}] must hold one table per pair")
    return [_entry(pyproject, name, value) for name, value in table.items()]


def _entry(pyproject: Path, name: str, value: Any) -> PairEntry:
    where = f"{pyproject}: [{PAIRS_TABLE}.{name}]"
    if not isinstance(value, dict):
        raise PairsError(f"{where} must be a table with a and b")
    unknown = sorted(set(value) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        known = ", ".join(REQUIRED + OPTIONAL)
        raise PairsError(f"{where}: unknown key {unknown[0]!r} (known: {known})")
    for key in REQUIRED:
        if not isinstance(value.get(key), str) or not value[key]:
            raise PairsError(f"{where}: {key!r} must be a path or URL (a string)")
    params = value.get("params", {})
    if not isinstance(params, dict) or not all(_scalar(item) for item in params.values()):
        raise PairsError(f"{where}: 'params' must be a table of strings and numbers")
    ignore = value.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(item, str) and item for item in ignore):
        raise PairsError(f"{where}: 'ignore' must be a list of field names")
    method = value.get("method", "GET")
    if not isinstance(method, str) or not method.isalpha():
        raise PairsError(f"{where}: 'method' must be an HTTP method such as \"POST\"")
    headers = value.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(item, str) for item in headers.values()):
        raise PairsError(f"{where}: 'headers' must be a table of strings")
    body = value.get("body")
    if body is not None and not isinstance(body, str):
        raise PairsError(f"{where}: 'body' must be a string")
    return PairEntry(
        name,
        value["a"],
        value["b"],
        dict(params),
        tuple(ignore),
        method.upper(),
        dict(headers),
        body,
        _sweep(where, value.get("sweep")),
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _sweep(where: str, value: Any) -> tuple[str, list[Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) != 1:
        raise PairsError(
            f"{where}: 'sweep' must be one parameter and its values, e.g. {{ n = [1, 10] }}"
        )
    ((name, values),) = value.items()
    if not isinstance(values, list) or not values or not all(_scalar(item) for item in values):
        raise PairsError(f"{where}: 'sweep.{name}' must be a list of values")
    return str(name), list(values)
