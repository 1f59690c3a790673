"""Service-level objectives: the seed's checklist, unless the user sets their own.

The seed's checklist is the default: p95 under 200 ms, error rate under 1%, cache hit
rate over 80% (where a cache is metered), the app's peak resident memory under 80% of
the memory available to it (its cgroup's limit, else the host's RAM; where the app's
process was watched); no p99 objective. A project sets its own in
its pyproject.toml, any subset, the rest keeping their defaults:

    [tool.pairbench.slo]
    p95_ms = 150          # a variant's p95 must stay below this
    p99_ms = 400          # unset by default
    error_rate = 0.005    # failed requests / requests, below this
    cache_hit_rate = 0.9  # hits / lookups, above this (where a cache is metered)
    memory_share = 0.7    # peak RSS / memory available to the app, below this

or on the command line (`pairbench check --slo --slo-p95-ms 150`), which wins. A
value of `false` turns an objective off. A run records the SLOs of the pyproject.toml it
ran beside in its manifest ("slos"); its summary's SLO status and its report use those.
"""

import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from pairbench.manifest import Manifest

SLO_P95_MS = 200.0
SLO_ERROR_RATE = 0.01
SLO_CACHE_HIT_RATE = 0.8
SLO_MEMORY_SHARE = 0.8
FRACTIONS = ("error_rate", "cache_hit_rate", "memory_share")  # limits between 0 and 1


class SloError(Exception):
    """An SLO setting is malformed; the message names it and the file."""


@dataclass(frozen=True)
class Objective:
    """One objective: a summary figure and the side of the limit it must stay on."""

    name: str  # the setting's name, e.g. "p95_ms"
    label: str  # how a table shows it, e.g. "p95"
    below: bool  # True: value < limit; False: value > limit
    unit: str = ""

    @property
    def sign(self) -> str:
        return "<" if self.below else ">"

    def met(self, value: float, limit: float) -> bool:
        """Whether `value` is on the objective's side of `limit` (NaN, no data: never)."""
        return value < limit if self.below else value > limit


OBJECTIVES = (
    Objective("p95_ms", "p95", below=True, unit=" ms"),
    Objective("p99_ms", "p99", below=True, unit=" ms"),
    Objective("error_rate", "error rate", below=True),
    Objective("cache_hit_rate", "cache hit rate", below=False),
    Objective("memory_share", "memory share", below=True),
)


@dataclass(frozen=True)
class Slos:
    """The limits in force; None leaves an objective unchecked. Defaults: the seed's."""

    p95_ms: float | None = SLO_P95_MS
    p99_ms: float | None = None
    error_rate: float | None = SLO_ERROR_RATE
    cache_hit_rate: float | None = SLO_CACHE_HIT_RATE
    memory_share: float | None = SLO_MEMORY_SHARE

    def limits(self) -> list[tuple[Objective, float]]:
        """The objectives that are set, with their limits."""
        found = [(objective, getattr(self, objective.name)) for objective in OBJECTIVES]
        return [(objective, limit) for objective, limit in found if limit is not None]

    def describe(self) -> str:
        """ "p95 < 200 ms, error rate < 0.01, cache hit rate > 0.8, memory share < 0.8"."""
        return ", ".join(
            f"{objective.label} {objective.sign} {limit:g}{objective.unit}"
            for objective, limit in self.limits()
        )


DEFAULT_SLOS = Slos()  # the seed's checklist
NAMES = [field.name for field in fields(Slos)]


def _checked(name: str, value: Any, where: str) -> float | None:
    if value is False or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SloError(f"{where}: {name} must be a number (or false to turn it off), not {value!r}")
    if value < 0 or (name in FRACTIONS and value > 1):
        bound = "between 0 and 1" if name in FRACTIONS else "positive"
        raise SloError(f"{where}: {name} must be {bound}, not {value!r}")
    return float(value)


def with_settings(slos: Slos, settings: Mapping[str, Any], where: str) -> Slos:
    """`slos` with `settings` ({name: value}) applied; an unknown name is an SloError."""
    unknown = sorted(set(settings) - set(NAMES))
    if unknown:
        raise SloError(f"{where}: unknown SLO(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    return replace(slos, **{name: _checked(name, value, where) for name, value in settings.items()})


def slos_of_run(manifest: Manifest) -> Slos:
    """The SLOs a run recorded (the defaults for a run from before they were recorded)."""
    recorded = manifest.slos
    if not isinstance(recorded, dict):
        return DEFAULT_SLOS
    return with_settings(DEFAULT_SLOS, recorded, "the run's manifest.json (slos)")


def slos_entry(slos: Slos) -> dict[str, float | None]:
    """The manifest's record of `slos`: every objective's limit, None where off."""
    return asdict(slos)


def read_slos(pyproject: Path) -> Slos:
    """The SLOs of [tool.pairbench.slo] in `pyproject` over the defaults (the defaults if the
    file or the table is absent); a malformed one is an SloError naming the file."""
    if not pyproject.is_file():
        return DEFAULT_SLOS
    try:
        document = tomllib.loads(pyproject.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SloError(f"{pyproject} is not valid TOML ({error})") from None
    table = document.get("tool", {}).get("pairbench", {}).get("slo", {})
    if not isinstance(table, dict):
        raise SloError(f"{pyproject}: [tool.pairbench.slo] must be a table of limits")
    return with_settings(DEFAULT_SLOS, table, f"{pyproject} [tool.pairbench.slo]")
