"""The run directory: where each stage leaves its files for the next one.

`results/<run-id>/` holds what the measuring stages wrote: manifest.json,
samples.csv.gz (every raw request), segments.csv (one row per load segment),
jobs.csv (when each job a segment handed to a worker was requested and done),
equivalence.json, probe.csv, code.json and micro.json (pytest-benchmark); and the
stats stage's tables (STATS_TABLES, then stats.json), which the report and the gate
read. A run never reuses another's directory, and samples are appended segment by
segment, so an interrupted run keeps everything it measured.
"""

import gzip
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from bench_app.metering import COST_FIELDS
from pairbench.manifest import Manifest

MANIFEST = "manifest.json"
SAMPLES = "samples.csv.gz"
SEGMENTS = "segments.csv"
# A few of each variant's answers under load, with their bodies (pairbench.load.answer_sample)
ANSWERS = "answers.jsonl"
JOBS = "jobs.csv"  # each job of a segment: requested_at, done_at (deferred_work_path)
EQUIVALENCE = "equivalence.json"
SUMMARY = "summary.csv"
PROBE = "probe.csv"
ARTIFACTS = "artifacts"
CODE = "code.json"  # each variant's endpoint source, as measured
MICRO = "micro.json"  # pytest-benchmark's --benchmark-json output
MICRO_LOG = "micro.log"
SCREENSHOT = "report.png"  # the report as headless Chromium rendered it (browser test)
OVERHEAD = "overhead.csv"  # what the meter and /metrics cost (pairbench.load.overhead)
SLOW_QUERIES = "slow_queries.csv"  # each variant's slow statements (pairbench.load.slow_queries)
# The RTT sweep's parameter (pairbench.env.distance): the round trip to PostgreSQL and Redis
# in ms, which a sweep point sets on their delay proxies rather than sends to the app.
RTT_PARAMETER = "rtt_ms"
# The stats stage's tables (pairbench.stats.stage), computed from the files above.
MICRO_SUMMARY = "micro_summary.csv"
GROWTH = "growth.csv"  # how each variant's cost grows over a sweep: one fit per row
GROWTH_POINTS = "growth_points.csv"  # the measured (work, cost) points those fits are of
PROBE_SUMMARY = "probe_summary.csv"  # medians of the uncontended probe per variant and point
LATENCY_CURVES = "latency_curves.csv.gz"  # latency at each percentile, for the curves
TIMELINE = "timeline.csv"  # p50 and p99 per time bin, for latency over time
WARNINGS = "warnings.csv"  # what makes a figure weaker than its CI says
BANDWIDTH = "bandwidth.csv"  # content-encoded responses: break-even link speeds
OVERHEAD_SUMMARY = "overhead_summary.csv"  # the meter's overhead per route and configuration
# summary.csv's rows for the other request kinds of mixed workloads (e.g. bystanders)
REQUEST_KINDS = "request_kinds.csv"
QUEUE_DEPTH = "queue_depth.csv"  # jobs in progress over the measured segment, per variant
STATS_TABLES = (
    SUMMARY,
    GROWTH,
    GROWTH_POINTS,
    MICRO_SUMMARY,
    PROBE_SUMMARY,
    LATENCY_CURVES,
    TIMELINE,
    WARNINGS,
    BANDWIDTH,
    OVERHEAD_SUMMARY,
    REQUEST_KINDS,
    QUEUE_DEPTH,
)
STATS_DONE = "stats.json"  # written last: the tables are complete, and by which version
KEY_PACKAGES = (
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
    "redis",
    "locust",
    "gevent",
    "geventhttpclient",
    "pytest-benchmark",
    "numpy",
    "pandas",
    "matplotlib",
)

CLOSED, OPEN = "closed", "open"  # load modes: N users back to back / a fixed arrival rate
MODES = (CLOSED, OPEN)
# A sample's phase: sent before measuring began (excluded), in the measuring window, or
# after it (excluded: a closed-loop user finishing its task as the segment stops).
WARMUP_PHASE, MEASURE_PHASE, COOLDOWN_PHASE = "warmup", "measure", "cooldown"
# samples.csv.gz, one row per request. In open-loop mode t_start is the *intended* send
# time and latency_ms counts from it (so a stalled server cannot hide queued requests);
# send_lag_ms is how late the generator actually sent, and a dropped send (never sent:
# too far behind) has dropped=1 and no latency. ttfb_ms (time to the first body byte) is
# there only for workloads that time it (a download's own Locust user).
# `name` is the request's kind: TARGET_NAME for the variant's own requests, another name for
# the other requests of a mixed workload (bystanders, readers beside invalidations), each
# its own distribution.
TARGET_NAME = "target"
# The A/A control's samples and rows are filed under this technique key (pairbench.load.control):
# one cheap variant against itself, as two arms, whose CI is the run's noise floor.
CONTROL_KEY = "aa_control"
CONTROL_ARMS = ("a", "b")
# What names a variant measured under one condition: the key of a segment's rows, and of
# every per-variant table (samples, segments, jobs, summary, curves, queue depth).
SEGMENT_KEY = ["technique", "variant", "point", "mode"]
SegmentKey = tuple[str, str, str, str]  # values of SEGMENT_KEY, as text
SAMPLE_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "repetition",
    "phase",
    "name",
    "t_start",
    "latency_ms",
    "status",
    "bytes",
    *COST_FIELDS,
    "error",
    "send_lag_ms",
    "dropped",
    "ttfb_ms",
    "worker",  # the Locust worker that sent it ("" when the generator worked alone)
]
# The app process's resident memory during a segment (pairbench.load.app_memory), in MiB;
# app_process: which process served the segment (pairbench.load.segment_apps): the run's
# shared app, a fresh one started just for it, or the variant's own for the whole run (a
# soak); fresh_process: app_process is fresh (older runs have only this); app_pid: its pid.
APP_SHARED, APP_FRESH, APP_OWN = "shared", "fresh", "own"
SEGMENT_MEMORY_COLUMNS = [
    "app_process",
    "fresh_process",
    "app_pid",
    "rss_start_mb",
    "rss_peak_mb",
    "rss_end_mb",
    "rss_growth_mb",
    "rss_measured_growth_mb",
    "memory_available_mb",
]
# Figures of a whole segment (pairbench.load.segment_figures): what the upstream stub
# counted during it, and the app's event-loop lag over its measured window.
# For work handed to a job worker (Technique.deferred_work_path): the jobs requested in the
# measured window, done, their enqueue-to-done latency, and the most in progress at once.
# redis_growth_mb: how far Redis's used_memory rose over the whole segment (warm-up included).
SEGMENT_FIGURES = [
    "upstream_connections",
    "upstream_requests",
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
    "loop_lag_samples",
    "jobs_done",
    "job_done_p50_ms",
    "job_done_p99_ms",
    "jobs_in_progress_max",
    "gc_collections",
    "gc_pause_ms",
    "gc_pause_max_ms",
    "redis_growth_mb",
]
SEGMENT_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "repetition",
    "started",
    "measure_start",
    "measure_end",
    "ended",
    "users",
    "rate",
    "generator_cpu_max",
    "load_workers",
    *SEGMENT_MEMORY_COLUMNS,
    *SEGMENT_FIGURES,
]
# jobs.csv: one row per job requested in a segment's measured window (unix times).
JOB_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "repetition",
    "requested_at",
    "done_at",
]
PROBE_COLUMNS = [
    "technique",
    "variant",
    "point",
    "latency_ms",
    "bytes",
    *COST_FIELDS,
    "ttfb_ms",
    "rss_peak_mb",
    "rss_rise_mb",
    "status",  # the HTTP status (files from before it: every request answered)
    "error",  # the start of a failed request's body
]
# overhead.csv: one row per batch of requests to one app configuration (load.overhead).
OVERHEAD_COLUMNS = [
    "target",
    "path",
    "config",
    "round",
    "requests",
    "failures",
    "cpu_s",
    "wall_s",
    "cpu_us_per_request",
]
# slow_queries.csv: one row per variant and SQL text slower than the threshold.
SLOW_QUERY_COLUMNS = [
    "technique",
    "variant",
    "route",
    "statement",
    "count",
    "max_ms",
    "mean_ms",
    "threshold_ms",
]
REQUIRED_SAMPLE_COLUMNS = [  # runs from before open-loop mode lack the others
    "technique",
    "variant",
    "point",
    "repetition",
    "phase",
    "t_start",
    "latency_ms",
    "status",
]
REQUIRED_SEGMENT_COLUMNS = ["technique", "variant", "point", "repetition", "generator_cpu_max"]
REQUIRED_PROBE_COLUMNS = ["technique", "variant", "point", "latency_ms"]
TEXT_COLUMNS = [
    "technique",
    "variant",
    "point",
    "mode",
    "phase",
    "name",
    "error",
    "worker",
    "verdict",
    "verdict_p95",
    "verdict_rps",
    "slo",
    "parameter",
    "shape",
    "curve",
    "source",
    "sentence",
    "series",
    "rate_unit",
    "message",
    "stopped",
]
# What files from before a column existed mean by its absence.
COLUMN_DEFAULTS: dict[str, Any] = {"mode": CLOSED, "dropped": 0, "error": "", "name": TARGET_NAME}


# Free space a run asks for before it starts: a standard run's samples and its report
# take tens of MB, and a run that fills the disk would lose what it measured.
MIN_FREE_BYTES = 100 * 2**20


class ResultsError(Exception):
    """A run directory or one of its files is missing or malformed; the message names it."""


def as_float(value: Any) -> float:
    """A table, manifest or baseline value as a float; NaN where it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def is_finite(value: Any) -> bool:
    """Whether a table, manifest or baseline value is a finite number."""
    return math.isfinite(as_float(value))


def json_number(value: float, digits: int = 4) -> float | None:
    """A figure for a JSON file: rounded, and None (null) where it is NaN."""
    return None if math.isnan(value) else round(value, digits)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def require_writable(root: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Fail before anything starts when files cannot be written under `root`, or would not fit.

    Writes a file to find out (permissions say nothing of a read-only mount, or to root).
    A ResultsError says which directory and what to do.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root, prefix=".pairbench-write-check-") as probe:
            probe.write(b"pairbench")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ResultsError(
            f"cannot write to {root} ({error.strerror or error}): point --results-dir and "
            "--reports-dir at a directory this user can write to"
        ) from None
    free_mb, needed_mb = shutil.disk_usage(root).free / 2**20, min_free_bytes / 2**20
    if free_mb < needed_mb:
        raise ResultsError(
            f"only {free_mb:.0f} MB free in {root}, and a run needs {needed_mb:.0f} MB for its "
            "samples and report: free some space, or point --results-dir and --reports-dir "
            "at another disk"
        )


def new_run_dir(results_root: Path, profile: str) -> Path:
    """A fresh directory for one run, named by its start time; never an existing one."""
    results_root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        suffix = "" if attempt == 1 else f"-{attempt}"
        run_dir = results_root / f"{stamp}-{profile}{suffix}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise ResultsError(f"could not create a new run directory in {results_root}")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically, so a crash never leaves half a file."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    """Read a JSON file of a run; a missing or malformed one is a ResultsError naming it."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(
            f"{path} is missing: is {path.parent} a pairbench run directory?"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path} is not valid JSON ({error})") from None


def read_manifest(run_dir: Path) -> Manifest:
    """A run's manifest, of this version or an older one (Manifest.from_json converts it)."""
    if not run_dir.is_dir():
        raise ResultsError(f"{run_dir} is not a directory: pass a run directory under results/")
    document = read_json(run_dir / MANIFEST)
    if not isinstance(document, dict) or "run_id" not in document:
        raise ResultsError(f"{run_dir / MANIFEST} has no run_id: not a pairbench manifest")
    try:
        return Manifest.from_json(document)
    except (TypeError, ValueError) as error:
        raise ResultsError(f"{run_dir / MANIFEST} is not a pairbench manifest ({error})") from None


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Write a run's manifest (atomically): the one place manifest.json is written."""
    write_json(run_dir / MANIFEST, manifest.to_json())


def record_stage_time(run_dir: Path, stage: str, seconds: float) -> None:
    """Add a stage's wall time to the manifest's `stages` (for stages after the runner's)."""
    manifest = read_manifest(run_dir)
    manifest.stages[stage] = round(seconds, 2)
    write_manifest(run_dir, manifest)


def append_rows(path: Path, frame: pd.DataFrame) -> None:
    """Append rows to a CSV (gzip-compressed if the name says so), writing the header once."""
    header = not path.exists()
    if path.suffix == ".gz":
        with gzip.open(path, "at", newline="") as handle:
            frame.to_csv(handle, index=False, header=header)
    else:
        frame.to_csv(path, mode="a", index=False, header=header)


def read_table(path: Path, required: list[str]) -> pd.DataFrame:
    """Read a CSV of a run; a malformed one, or one lacking columns, is a ResultsError."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ResultsError(f"{path} is missing") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise ResultsError(f"{path} cannot be read as CSV ({error})") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ResultsError(f"{path} lacks the columns {', '.join(missing)}")
    return frame


def with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with every one of `columns`, those it lacks filled with their defaults (text
    columns with "", others with NaN unless COLUMN_DEFAULTS says otherwise)."""
    missing = {
        column: COLUMN_DEFAULTS.get(column, "" if column in TEXT_COLUMNS else float("nan"))
        for column in columns
        if column not in frame
    }
    return frame.assign(**missing) if missing else frame


def read_run_table(path: Path, columns: list[str], required: list[str]) -> pd.DataFrame:
    """A run's CSV with exactly `columns`: text as text ("" not NaN), absent ones defaulted.

    An absent file is an empty table (a run stopped before writing it); a malformed one,
    or one lacking a `required` column, is a ResultsError naming it.
    """
    if not path.exists():
        return pd.DataFrame(columns=columns)
    text_types = {column: str for column in TEXT_COLUMNS}
    try:
        table = pd.read_csv(path, dtype=text_types, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, EOFError, OSError) as error:
        raise ResultsError(f"{path} cannot be read as CSV ({error})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ResultsError(f"{path} is not a pairbench table ({error})") from None
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise ResultsError(f"{path} lacks the columns {', '.join(missing)}")
    table = with_columns(table, columns)
    for column in TEXT_COLUMNS:
        if column in table:
            table[column] = table[column].fillna(COLUMN_DEFAULTS.get(column, ""))
    extra = [column for column in table.columns if column not in columns]
    return table[columns + extra]


@dataclass(frozen=True)
class Run:
    """Everything a run directory holds, as read from its files."""

    directory: Path
    manifest: Manifest
    samples: pd.DataFrame
    segments: pd.DataFrame
    jobs: pd.DataFrame  # work handed to a worker: when each job was requested and done
    equivalence: dict[str, dict[str, dict[str, Any]]]
    probe: pd.DataFrame  # one request at a time per variant, before the load (may be empty)
    code: dict[str, dict[str, str]]  # technique -> variant -> endpoint source (may be empty)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.exists() else {}


def read_run(run_dir: Path, *, with_samples: bool = True) -> Run:
    """A run directory's files; all but the manifest may be missing (a run stopped early).

    Without `with_samples`, the raw tables (samples, segments, jobs, probe) are left empty:
    what the report reads, since the stats stage's tables hold all it shows of them.
    A missing manifest or a malformed file is a `ResultsError` naming it.
    """
    manifest = read_manifest(run_dir)
    equivalence = _optional_json(run_dir / EQUIVALENCE)
    code = _optional_json(run_dir / CODE)
    for path, found in ((run_dir / EQUIVALENCE, equivalence), (run_dir / CODE, code)):
        if not isinstance(found, dict):
            raise ResultsError(f"{path} should hold a JSON object")
    raw = [
        (SAMPLES, SAMPLE_COLUMNS, REQUIRED_SAMPLE_COLUMNS),
        (SEGMENTS, SEGMENT_COLUMNS, REQUIRED_SEGMENT_COLUMNS),
        (JOBS, JOB_COLUMNS, JOB_COLUMNS),
        (PROBE, PROBE_COLUMNS, REQUIRED_PROBE_COLUMNS),
    ]
    samples, segments, jobs, probe = (
        read_run_table(run_dir / name, columns, required)
        if with_samples
        else pd.DataFrame(columns=columns)
        for name, columns, required in raw
    )
    return Run(
        directory=run_dir,
        manifest=manifest,
        samples=samples,
        segments=segments,
        jobs=jobs,
        equivalence=equivalence,
        probe=probe,
        code=code,
    )


def git_commit(repo: Path) -> str:
    """The checked-out commit (with '+dirty' when the tree has changes), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(server_versions: dict[str, str]) -> dict[str, Any]:
    """What the figures were measured on: hardware, Python, servers, key packages."""
    packages = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count() or 0,
        **server_versions,
        "packages": packages,
    }
