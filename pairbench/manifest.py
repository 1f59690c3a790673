"""A run's manifest (manifest.json): what was planned, on what, and how the run went.

One typed record. The runner creates it and writes it as the run goes; the stages after
it (report time, by `record_stage_time`) add to it; every stage reads it by field, never
by key. Each field is declared once below, with its meaning. Adding one is one line with
a default (so manifests written before it still read), and it is written and read back
with no other change: the JSON file holds the fields by name.

`Manifest.from_json` is the one converter from the file: a manifest from an older
pairbench has its legacy keys mapped onto today's fields (see LEGACY_KEYS), and keys this
version does not know (a newer pairbench's) are kept in `unknown` and written back as
they were.
"""

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

Entry = dict[str, Any]  # a nested record as JSON holds it; its keys are documented where made


@dataclass
class Rounds:
    """How the profile measured each point: interleaved rounds until a CI target or a budget."""

    warmup_min_s: float | None = None  # each segment's warm-up, excluded from the figures
    warmup_max_s: float | None = None
    round_s: float | None = None  # each variant's measured seconds in a round
    min_rounds: int | None = None  # rounds every point runs; the stopping rule plans from them
    max_rounds: int | None = None
    target_half_width: float | None = None  # the CI half-width (share) that stops a point
    load_budget_s: float | None = None  # the load stage's seconds, shared among the points


@dataclass
class Manifest:
    """A run's record: its plan, its machine, its stages and how it ended."""

    run_id: str  # the run directory's name: start time and profile
    profile: str = "?"  # the profile measured with (smoke, quick, standard, ...)
    started_at: str = ""  # ISO time, UTC
    ended_at: str | None = None  # None while running (or when killed before writing it)
    complete: bool = False  # measured everything it planned
    stopped_by: str | None = None  # "interrupted", or the error that stopped the run
    git_commit: str = "unknown"  # the commit measured, '+dirty' with local changes
    scale: float | None = None  # the seeded data's scale factor
    techniques: list[str] = field(default_factory=list)  # the planned technique keys, in order
    baselines: dict[str, str] = field(default_factory=dict)  # technique -> its baseline variant
    # technique -> its headline (figure, kind, label): what it is judged on (bench_app.headline)
    headlines: dict[str, Entry] = field(default_factory=dict)
    order_seed: int | None = None  # seeds each round's shuffled variant order (load.measure)
    control: str = ""  # the A/A control's "technique/variant" ("": none measured)
    noise_floor: Entry | None = None  # the A/A control's CI (stats.noise_floor)
    drift: list[str] = field(default_factory=list)  # drift warnings (stats.drift)
    precision: Entry | None = None  # headline CIs against the target (stats.precision)
    users: int | None = None  # closed-loop users per segment
    rounds: Rounds = field(default_factory=Rounds)
    # Per point and mode: rounds run, planning rounds, why it stopped, the CI half-widths
    # reached (pairbench.load.measure.PointOutcome.manifest_entry).
    stopping: list[Entry] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds of each stage
    modes: list[str] = field(default_factory=lambda: ["closed"])  # load modes measured
    open_loop: Entry = field(default_factory=dict)  # rate (None: from capacity), share_of_capacity
    sweep: str = "off"  # how sweep points were measured: off, probe, load
    # technique -> its planned points: label, params, swept (the parameter a sweep point
    # varies; None at the default parameters), loaded (pairbench.plan.manifest_points).
    points: dict[str, list[Entry]] = field(default_factory=dict)
    probe_requests: int | None = None  # uncontended requests per variant and point
    distance: Entry = field(default_factory=dict)  # RTT per dependency, the proxies' cost
    micro: Entry = field(default_factory=dict)  # planned, max_time_s, min_rounds, error
    environment: Entry = field(default_factory=dict)  # results.environment(): machine, versions
    slos: dict[str, float | None] | None = None  # the objectives judged by; None: the defaults
    topology: Entry = field(default_factory=dict)  # load and app workers, app host
    generator_ceiling: Entry | None = None  # the generator's own ceiling (load.ceiling)
    overhead: Entry | None = None  # whether the meter's overhead was measured, or why not
    ab: dict[str, Entry] = field(default_factory=dict)  # pair -> its sides (pairbench.ab.run)
    # "technique/variant: point: first difference" for each variant whose answer (body,
    # effects, or an answer sampled under load) differed from its baseline's: the run fails
    not_equivalent: list[str] = field(default_factory=list)
    unknown: Entry = field(default_factory=dict)  # keys of a newer pairbench, kept as read

    def planned_points(self, technique: str) -> list[Entry]:
        """A technique's points as planned (label, params, swept, loaded)."""
        return [point for point in self.points.get(technique, []) if isinstance(point, dict)]

    def default_point(self, technique: str) -> str | None:
        """The label of the technique's point at its default parameters (None if unplanned)."""
        default = default_of(self.planned_points(technique))
        return None if default is None else str(default["label"])

    def default_points(self) -> dict[str, str]:
        """Each planned technique's default point label."""
        found = {key: self.default_point(key) for key in self.points}
        return {key: label for key, label in found.items() if label is not None}

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Time the block into `stages` as the stage's wall seconds, however it ends."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] = round(time.perf_counter() - started, 2)

    def to_json(self) -> Entry:
        """The manifest as manifest.json holds it."""
        document = asdict(self)
        unknown = document.pop("unknown")
        return {**unknown, **document}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Manifest":
        """A manifest from its JSON, of this version or an older one (legacy keys mapped)."""
        known = {item.name for item in fields(cls)} - {"unknown"}
        values = {name: document[name] for name in known if name in document}
        for item in fields(cls):
            made = item.default_factory() if item.default_factory is not MISSING else None
            if item.name in values and isinstance(made, list | dict):
                if not isinstance(values[item.name], type(made)):
                    kind = "array" if isinstance(made, list) else "object"
                    raise ValueError(f"{item.name} should be a JSON {kind}")
        legacy = {key: document[key] for key in LEGACY_KEYS if key in document}
        rounds = values.get("rounds")
        if not isinstance(rounds, Mapping):
            rounds = {LEGACY_KEYS[key]: value for key, value in legacy.items()}
        rounds_known = {item.name for item in fields(Rounds)}
        values["rounds"] = Rounds(**{k: v for k, v in rounds.items() if k in rounds_known})
        unknown = {
            key: value
            for key, value in document.items()
            if key not in known and key not in LEGACY_KEYS
        }
        return cls(**values, unknown=unknown)


# Keys of older manifests and the Rounds field each meant ("repetitions" was the minimum
# rounds, not a fact of every point: the stopping record has each point's own).
LEGACY_KEYS = {"repetitions": "min_rounds", "duration_s": "round_s", "warmup_s": "warmup_max_s"}


def default_of(points: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Of a technique's planned points, the one at its default parameters (not swept)."""
    return next((point for point in points if not point.get("swept")), None)
