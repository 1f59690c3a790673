"""The `pairbench` command: run, stats, report, baseline, check, crosscheck, list, serve."""

import argparse
import dataclasses
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from bench_app.techniques import all_techniques, select_techniques
from pairbench import results
from pairbench.env.distance import DEFAULT_RTT_SWEEP_MS
from pairbench.env.server import LOOPBACK
from pairbench.load.segment import LoadError
from pairbench.profiles import (
    CONTROL_VARIABLE,
    DEFAULT_PROFILE,
    LOCUST_MASTER_PORT,
    MODE_CHOICES,
    NO_CONTROL,
    OPEN_LOOP_LOAD,
    PROFILES,
    SWEEP_CHOICES,
    Profile,
)

if TYPE_CHECKING:
    from pairbench.env.distance import Distance
    from pairbench.slo import Slos
    from pairbench.topology import Topology

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PYPROJECT = "pyproject.toml"  # where a project sets its SLOs ([tool.pairbench.slo])
MAX_ROUND_S = 600.0  # a round longer than ten minutes is a mistake, not a measurement
SERVE_LOG = "serve.log"  # the app's log under `pairbench serve`


def log(message: str) -> None:
    print(message, flush=True)


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"pairbench: error: {message}", file=sys.stderr, flush=True)
    return code


def rtt_option(text: str) -> float:
    """argparse's type for --db-rtt and the like: a bad value exits 2 naming the fix."""
    from pairbench.env.distance import parse_rtt_ms

    try:
        return parse_rtt_ms(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def rtt_sweep_option(text: str) -> tuple[float, ...]:
    from pairbench.env.distance import parse_rtt_list

    try:
        return parse_rtt_list(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def profile_from(args: argparse.Namespace) -> Profile:
    """The chosen profile with what the command line overrides (--round-s, --sweep,
    --control or PAIRBENCH_CONTROL)."""
    control = args.control or os.environ.get(CONTROL_VARIABLE) or None
    if control == NO_CONTROL:
        control = ""
    changes = {"round_s": args.round_s, "sweep": args.sweep, "control": control}
    given = {name: value for name, value in changes.items() if value is not None}
    return dataclasses.replace(PROFILES[args.profile], **given)


def distance_from(args: argparse.Namespace) -> "Distance":
    from pairbench.env.distance import DATABASE, REDIS, UPSTREAM, Distance

    given = {DATABASE: args.db_rtt, REDIS: args.redis_rtt, UPSTREAM: args.upstream_rtt}
    rtt_ms = {kind: value for kind, value in given.items() if value is not None}
    return Distance(rtt_ms, getattr(args, "rtt_sweep", None) or ())


def add_distance_options(parser: argparse.ArgumentParser) -> None:
    for name, what in (("db", "PostgreSQL"), ("redis", "Redis"), ("upstream", "the upstream stub")):
        parser.add_argument(
            f"--{name}-rtt",
            type=rtt_option,
            metavar="RTT",
            help=f"put {what} this round trip away (e.g. 0.5ms, 500us) through a delay proxy",
        )


def command_run(args: argparse.Namespace) -> int:
    from pairbench.load.control import ControlError, control_of
    from pairbench.load.measure import LoadPlan
    from pairbench.report.build import headlines
    from pairbench.runner import run
    from pairbench.slo import SloError, read_slos
    from pairbench.stats.stage import tables_are_current, write_tables

    keys = [key.strip() for key in args.only.split(",") if key.strip()] if args.only else None
    try:
        techniques = select_techniques(keys)
    except ValueError as error:
        return fail(f"{error} (see `pairbench list`)")
    if args.rate is not None and args.rate <= 0:
        return fail("--rate must be a positive number of requests per second")
    if args.round_s is not None and not 0 < args.round_s <= MAX_ROUND_S:
        return fail(f"--round-s must be more than 0 and at most {MAX_ROUND_S:g} seconds")
    try:
        topology = topology_from(args)
    except (ValueError, LoadError) as error:
        return fail(str(error))
    try:
        slos = read_slos(Path(PYPROJECT))  # the objectives the summary and report judge by
    except SloError as error:
        return fail(str(error))
    profile = profile_from(args)
    try:
        control_of(profile)
    except ControlError as error:
        return fail(f"{error}: give --control TECHNIQUE/VARIANT (see `pairbench list`) or none")
    modes = MODE_CHOICES[args.mode] if args.mode else profile.modes
    # A fresh seed per run shuffles the variants' order in each round; the manifest keeps it.
    plan = LoadPlan(profile, modes, args.rate, order_seed=secrets.randbelow(2**31))
    results.require_writable(Path(args.reports_dir))  # as run() does its results dir
    outcome = run(
        plan,
        techniques,
        Path(args.results_dir),
        log,
        micro=not args.no_micro,
        distance=distance_from(args),
        topology=topology,
        slos=slos,
    )
    if outcome.error:
        print(f"pairbench: error: {outcome.error}", file=sys.stderr, flush=True)
    if (outcome.run_dir / results.SAMPLES).exists():
        if not tables_are_current(outcome.run_dir):  # interrupted or failed before its stats
            write_tables(outcome.run_dir)
        report_and_print(args, outcome.run_dir, partial(headlines, outcome.run_dir))
    if outcome.interrupted:
        return fail(
            f"interrupted; what was measured is kept in {outcome.run_dir}", EXIT_INTERRUPTED
        )
    if outcome.not_equivalent:  # a faster wrong answer is not an optimization
        for line in outcome.not_equivalent:
            print(f"pairbench: NOT EQUIVALENT {line}", file=sys.stderr, flush=True)
        return fail(
            f"{len(outcome.not_equivalent)} variant(s) did not answer as their baseline "
            "variant did; the run fails (its figures are kept)",
            EXIT_FAILED,
        )
    return EXIT_OK if outcome.complete else EXIT_FAILED


def report_and_print(
    args: argparse.Namespace, run_dir: Path, lines: Callable[[bool], list[str]]
) -> None:
    """The run's report unless --no-report, then its `lines` (given whether the report was
    built: the verdicts and how far to trust them) and where its summary and report are."""
    from pairbench.report.build import build_report

    report_path = None
    if not args.no_report:
        started = time.perf_counter()
        report_path = build_report(run_dir, Path(args.reports_dir))
        results.record_stage_time(run_dir, "report", time.perf_counter() - started)
    for line in lines(report_path is not None):
        log(line)
    log(f"summary: {run_dir / results.SUMMARY}")
    if report_path is None:
        log(f"report:  not built (--no-report); `pairbench report {run_dir}` builds it")
    else:
        log(f"report:  {report_path}")


def topology_from(args: argparse.Namespace) -> "Topology":
    """The run's processes from --workers, --remote-workers, --master-bind, --app-workers,
    --app-host and --own-target; refused (LoadError) where load would leave loopback
    without the user naming the host as their own."""
    from pairbench.load.segment import LoadWorkers
    from pairbench.topology import Topology

    bind, _, port = args.master_bind.rpartition(":") if args.master_bind else ("", "", "")
    if args.master_bind and not bind:
        bind, port = args.master_bind, ""
    if port and not port.isdigit():
        raise ValueError(f"--master-bind {args.master_bind!r}: the port must be a number")
    workers = LoadWorkers(
        local=args.workers,
        remote=args.remote_workers,
        bind=bind or LOOPBACK,
        port=int(port) if port else (LOCUST_MASTER_PORT if args.master_bind else None),
    )
    topology = Topology(workers, args.app_workers, args.app_host, args.own_target)
    topology.check()
    return topology


def command_report(args: argparse.Namespace) -> int:
    from pairbench.report.build import build_report
    from pairbench.report.compare import build_comparison

    if len(args.run_dirs) > 2:
        return fail("report takes one run directory, or two to compare (before, after)")
    if len(args.run_dirs) == 2:
        before, after = (Path(run_dir) for run_dir in args.run_dirs)
        report_path = build_comparison(before, after, Path(args.reports_dir))
    else:
        report_path = build_report(Path(args.run_dirs[0]), Path(args.reports_dir))
    log(f"report: {report_path}")
    if args.check:
        return check_in_browser(report_path, Path(args.run_dirs[-1]))
    return EXIT_OK


def command_stats(args: argparse.Namespace) -> int:
    from pairbench.stats.stage import write_tables

    run_dir = Path(args.run_dir)
    tables = write_tables(run_dir)
    summary = tables.summary
    log(
        f"stats of {run_dir.name}: {len(summary)} summary rows "
        f"({summary['technique'].nunique()} techniques), {len(tables.growth)} growth fits, "
        f"{len(tables.micro)} microbenchmarks, {len(tables.warnings)} warnings"
    )
    log(f"tables: {', '.join(str(run_dir / name) for name in results.STATS_TABLES)}")
    return EXIT_OK


def check_in_browser(report_path: Path, run_dir: Path) -> int:
    """Open the report in headless Chromium; 1 if it did not render cleanly."""
    from pairbench.report.browser import BrowserError, BrowserUnavailable, check_report

    expected = list(results.read_manifest(run_dir).techniques)
    screenshot = run_dir / results.SCREENSHOT
    if report_path.parent.name.startswith("compare-"):
        expected = []  # a comparison's sections are the techniques both runs measured
        screenshot = report_path.parent / results.SCREENSHOT  # the runs' own stay theirs
    try:
        check = check_report(report_path, expected, screenshot)
    except BrowserUnavailable as error:
        return fail(str(error))
    except BrowserError as error:
        return fail(f"the browser check could not run: {error}", EXIT_FAILED)
    for problem in check.console_errors + check.blank_charts:
        print(f"pairbench: browser: {problem}", file=sys.stderr)
    for key in check.missing_sections:
        print(f"pairbench: browser: section #{key} missing or not drawn", file=sys.stderr)
    if check.leaderboard_overflow_px > 1:
        print(
            f"pairbench: browser: the leaderboard is {check.leaderboard_overflow_px:.0f} px "
            "wider than a 1400 px window leaves it",
            file=sys.stderr,
        )
    log(f"browser: {len(check.sections)} sections, {check.charts} charts; screenshot {screenshot}")
    return EXIT_OK if check.ok else EXIT_FAILED


def command_list(args: argparse.Namespace) -> int:
    for technique in all_techniques().values():
        log(f"{technique.key}  [{technique.area}]  {technique.title}")
        log(f"    variants: {', '.join(technique.variants)} (baseline: {technique.baseline})")
        log(f"    proves:   {technique.proof}")
        log(f"    guide:    {technique.guide_section or 'none (the guide has no section on it)'}")
    return EXIT_OK


def command_serve(args: argparse.Namespace) -> int:
    """The run's environment (pairbench.env.environment), its app up until Ctrl-C."""
    from pairbench.env.environment import Environment
    from pairbench.env.server import ServerError
    from pairbench.env.services import ServiceError

    scale = PROFILES[args.profile].scale
    try:
        with Environment(Path(args.results_dir), distance_from(args), scale, log) as env:
            env.start_dependencies()
            env.load_data()
            env.start_worker()
            with env.serving_app(
                port=args.port, workers=args.app_workers, log_name=SERVE_LOG
            ) as app:
                base_url = app.base_url
                log(
                    f"serving {base_url} (docs: {base_url}/docs, Prometheus metrics: "
                    f"{base_url}/metrics); Ctrl-C stops everything."
                )
                locust = f"locust -f scenarios/locustfile.py --class-picker -H {base_url}"
                log(f"load it by hand: {locust}")
                while True:
                    time.sleep(3600)
    except (ServiceError, ServerError) as error:
        return fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        log("stopped")
    return EXIT_OK


def latest_run(results_dir: Path) -> Path:
    """The newest run directory under results/, for commands whose RUN_DIR is optional."""
    runs = sorted(path for path in results_dir.glob("*/manifest.json"))
    if not runs:
        raise results.ResultsError(f"no runs in {results_dir}: run `pairbench run` first")
    return max(runs, key=lambda path: path.stat().st_mtime).parent


def command_baseline(args: argparse.Namespace) -> int:
    from pairbench.gate.check import GATED_COLUMNS, make_baseline
    from pairbench.stats.stage import read_summary

    run_dir, *rerun_dirs = [Path(name) for name in args.run_dir]
    for directory in (run_dir, *rerun_dirs):
        if not results.read_manifest(directory).complete:
            return fail(f"{directory} is an incomplete run; a baseline needs complete ones")
    reruns = [(directory, read_summary(directory, GATED_COLUMNS)) for directory in rerun_dirs]
    baseline = make_baseline(run_dir, read_summary(run_dir, GATED_COLUMNS), reruns)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results.write_json(output, baseline)
    taken = Counter(baseline["noise"].get("typical_runs", {}).values())
    also = (
        f" and {len(reruns)} rerun(s) of the same code, each technique from its typical run "
        f"({', '.join(f'{run_id}: {count}' for run_id, count in taken.items())}), its "
        "tolerance also from the falls between them"
        if reruns
        else ""
    )
    log(f"baseline of {len(baseline['entries'])} variants from {run_dir.name}{also}")
    log(f"written to {output}")
    return EXIT_OK


def parse_tolerances(pairs: list[str]) -> dict[str, float]:
    tolerances = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            tolerances[key] = float(value)
        except ValueError:
            raise results.ResultsError(f"--tolerance {pair!r} must be TECHNIQUE=FRACTION") from None
    return tolerances


SLO_OPTIONS = {
    "p95_ms": "slo_p95_ms",
    "p99_ms": "slo_p99_ms",
    "error_rate": "slo_error_rate",
    "cache_hit_rate": "slo_cache_hit_rate",
    "memory_share": "slo_memory_share",
}


def slos_from(args: argparse.Namespace) -> "Slos | None":
    """The SLOs `check` holds the run to: None without --slo (or any --slo-* option)."""
    from pairbench.slo import read_slos, with_settings

    given = {name: getattr(args, option) for name, option in SLO_OPTIONS.items()}
    given = {name: value for name, value in given.items() if value is not None}
    if not (args.slo or given):
        return None
    return with_settings(read_slos(Path(args.config)), given, "the command line")


def command_check(args: argparse.Namespace) -> int:
    from pairbench.gate.check import (
        GATED_COLUMNS,
        BaselineError,
        compare,
        noise_widening,
        not_gated,
        read_baseline,
    )
    from pairbench.gate.equivalence_check import equivalence_findings
    from pairbench.gate.render import render_junit, render_markdown, render_text
    from pairbench.gate.slo_check import (
        check_slos,
        render_slo_markdown,
        render_slo_text,
    )
    from pairbench.slo import SloError
    from pairbench.stats.stage import read_summary

    if args.against:  # your own app: HEAD against a revision measured in this job
        from pairbench.ab.gate import command_check_against

        return command_check_against(args)
    run_dir = Path(args.run_dir) if args.run_dir else latest_run(Path(args.results_dir))
    try:
        slos = slos_from(args)  # monitoring: --slo
    except SloError as error:
        return fail(str(error))
    findings, unchecked, markdown, checks = [], [], "", []
    try:
        summary = read_summary(run_dir, GATED_COLUMNS)
        # Whatever else is checked: a variant that answered wrong fails the gate.
        findings = equivalence_findings(run_dir, summary)
        if slos is None or Path(args.baseline).exists():
            baseline = read_baseline(Path(args.baseline))
            findings += compare(baseline, summary, parse_tolerances(args.tolerance))
            unchecked = not_gated(baseline, summary)
            log(f"gate: {run_dir} against {args.baseline} (from run {baseline.get('run_id')})")
            widening = noise_widening(baseline, summary)
            if widening.points:
                log(f"note: {widening.describe()}")
                markdown = f"> {widening.describe()}\n\n"
        else:
            log(f"gate: {run_dir}: no baseline at {args.baseline}: equivalence and the SLOs")
        log(render_text(findings, verbose=args.verbose, unchecked=unchecked))
        markdown += render_markdown(findings, unchecked)
    except BaselineError as error:
        return fail(f"{error}")
    slo_broken = False
    if slos is not None:  # monitoring: the SLO table, like k6 thresholds
        checks = check_slos(summary, slos, results.read_manifest(run_dir).default_points())
        log(render_slo_text(checks, slos, verbose=args.verbose))
        markdown += ("\n" if markdown else "") + render_slo_markdown(checks, slos)
        slo_broken = any(not check.met for check in checks)
    (run_dir / "check.md").write_text(markdown)
    (run_dir / "check.xml").write_text(render_junit(findings, unchecked, checks))
    log(f"details: {run_dir / 'check.md'}, {run_dir / 'check.xml'}")
    if any(finding.regressed for finding in findings) or slo_broken:
        return EXIT_FAILED
    if unchecked and args.strict:
        print(
            f"pairbench: {len(unchecked)} variant(s) not gated and --strict: make a new "
            "baseline that covers them (`pairbench baseline RUN_DIR`)",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_FAILED
    return EXIT_OK


def command_crosscheck(args: argparse.Namespace) -> int:
    """The run's closed-loop throughput ratios against wrk's (pairbench.crosscheck)."""
    from pairbench.crosscheck import CrosscheckError, crosscheck, table_lines
    from pairbench.env.server import ServerError
    from pairbench.env.services import ServiceError
    from pairbench.load.wrk import WrkError, WrkMissing
    from pairbench.load.wrk_rounds import VariantFailed

    if args.rounds < 2:
        return fail("--rounds must be at least 2: a CI needs two rounds")
    for option, value in (("--seconds", args.seconds), ("--warmup", args.warmup)):
        if not 1 <= value <= MAX_ROUND_S:
            return fail(f"{option} must be whole seconds from 1 to {MAX_ROUND_S:g} (wrk's unit)")
    if not 0 < args.tolerance < 1:
        return fail("--tolerance must be a share between 0 and 1 (0.1: +/-10%)")
    keys = [key.strip() for key in args.only.split(",") if key.strip()] if args.only else None
    if keys is not None:
        try:
            select_techniques(keys)
        except ValueError as error:
            return fail(f"{error} (see `pairbench list`)")
    try:
        agreements, output = crosscheck(
            Path(args.run_dir),
            keys,
            log,
            rounds=args.rounds,
            round_s=args.seconds,
            warmup_s=args.warmup,
            tolerance=args.tolerance,
        )
    except (CrosscheckError, WrkMissing) as error:
        return fail(str(error))
    except (VariantFailed, WrkError, ServiceError, ServerError) as error:
        return fail(str(error), EXIT_FAILED)
    for line in table_lines(agreements):
        log(line)
    log(f"table: {output.table}; parameters: {output.parameters}")
    disagreeing = [found for found in agreements if not found.agrees]
    if not disagreeing:
        log(f"all {len(agreements)} pair(s) agree within +/-{args.tolerance:.0%}")
        return EXIT_OK
    for found in disagreeing:
        print(
            f"pairbench: DISAGREE {found.pair.name}: wrk's ratio is {found.difference:+.1%} "
            f"off pairbench's (tolerance +/-{found.tolerance:.0%})",
            file=sys.stderr,
            flush=True,
        )
    return EXIT_FAILED


Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def profile_choices_help() -> str:
    """The profiles and what each does, for --profile's help."""
    # argparse %-formats help texts: a profile's "+/-10%" must reach it as "%%".
    return ", ".join(f"{p.name} ({p.description.replace('%', '%%')})" for p in PROFILES.values())


Options: TypeAlias = argparse.ArgumentParser | argparse._ArgumentGroup  # where an option goes


def add_profile_option(parser: Options, help: str, default: str = DEFAULT_PROFILE) -> None:
    parser.add_argument("--profile", choices=PROFILES, default=default, help=help)


def add_results_dir_option(parser: Options, help: str) -> None:
    parser.add_argument("--results-dir", default="results", help=help)


def add_reports_dir_option(parser: Options, help: str | None = None) -> None:
    parser.add_argument("--reports-dir", default="reports", help=help)


def add_app_workers_option(parser: Options) -> None:
    parser.add_argument(
        "--app-workers",
        type=int,
        default=1,
        metavar="N",
        help="serve the app from N uvicorn worker processes (default 1)",
    )


def add_load_mode_options(parser: argparse.ArgumentParser, mode_help: str, rate_help: str) -> None:
    """--mode and --rate: which load modes, and a fixed open-loop arrival rate."""
    parser.add_argument("--mode", choices=MODE_CHOICES, help=mode_help)
    parser.add_argument("--rate", type=float, metavar="REQ_PER_S", help=rate_help)


def add_no_report_option(parser: Options) -> None:
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="stop after the stats tables (what `pairbench check` reads), without the HTML "
        "report; `pairbench report RUN_DIR` builds it later",
    )


def add_scale_options(parser: argparse.ArgumentParser) -> None:
    """Where the load comes from and what serves it (read by topology_from)."""
    scale = parser.add_argument_group("more than one process or machine (see the README)")
    scale.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="send closed-loop load from N local Locust worker processes (default 0: the "
        "generator alone)",
    )
    scale.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        metavar="M",
        help="also wait for M workers you start on other hosts "
        "(python -m pairbench.load.worker --master HOST:PORT)",
    )
    scale.add_argument(
        "--master-bind",
        metavar="HOST[:PORT]",
        help=f"where the Locust master listens for workers (default {LOOPBACK}, a free port; "
        f"port {LOCUST_MASTER_PORT} if only HOST is given)",
    )
    add_app_workers_option(scale)
    scale.add_argument(
        "--app-host",
        default=LOOPBACK,
        metavar="HOST",
        help=f"the address the app listens on and load goes to (default {LOOPBACK})",
    )
    scale.add_argument(
        "--own-target",
        metavar="HOST",
        help="declare HOST, an address of this machine, as yours: load may go to it; "
        "without this, load only ever goes to loopback",
    )


def add_run_command(commands: Subcommands) -> None:
    """`pairbench run`: measure techniques."""
    run = commands.add_parser(
        "run",
        help="measure techniques; prints the report path at the end",
        description=(
            "Measure techniques: equivalence check, an uncontended probe, interleaved rounds\n"
            "of load segments (closed and/or open loop) until each speedup's CI meets the\n"
            "profile's target or its budget, then in-process microbenchmarks; writes\n"
            "results/<run-id>/ and reports/<run-id>/index.html. Progress lines show the\n"
            "elapsed time and an ETA; the manifest keeps each stage's wall time."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "load modes:\n"
            "  closed  N users each send their next request when the last one answers:\n"
            "          the most the app can do (throughput) and its latency when saturated.\n"
            "  open    a fixed arrival rate, the same for all variants of a technique:\n"
            f"          {OPEN_LOOP_LOAD:.0%} of the baseline's closed-loop throughput, or --rate;\n"
            "          latency counts from each request's intended send time, so a stall\n"
            "          cannot hide the requests queued behind it (coordinated omission);\n"
            "          late and dropped sends are counted. Techniques with their own Locust\n"
            "          user (their `scenario`, e.g. scenarios/stampede.py) run closed-loop only.\n"
            "  default by profile: smoke and quick closed, standard both.\n"
            "sweeps: quick probes each sweep point one request at a time; standard also loads it."
        ),
    )
    add_profile_option(run, profile_choices_help())
    run.add_argument("--only", metavar="KEYS", help="comma-separated technique keys (default all)")
    add_load_mode_options(
        run,
        "load mode(s), overriding the profile's (see below)",
        "open-loop arrival rate for every variant, instead of one set from the baseline",
    )
    run.add_argument(
        "--round-s",
        type=float,
        metavar="SECONDS",
        help="measured seconds per variant per round, instead of the profile's "
        f"({', '.join(f'{p.name} {p.round_s:g}' for p in PROFILES.values())}); "
        "the manifest records it",
    )
    run.add_argument(
        "--sweep",
        choices=SWEEP_CHOICES,
        help="the techniques' sweep points: off, probe (one request at a time) or load (also "
        "measured in rounds under load, like the defaults: at standard, about three times as "
        "long), instead of the profile's "
        f"({', '.join(f'{p.name} {p.sweep}' for p in PROFILES.values())})",
    )
    run.add_argument(
        "--control",
        metavar="TECHNIQUE/VARIANT",
        help="the A/A control: a variant measured against itself, whose CI is the run's noise "
        f"floor, instead of the profile's ({PROFILES['quick'].control}); '{NO_CONTROL}' "
        "skips it, and the run then has no floor (a baseline made from it gets the default "
        f"tolerances). Also {CONTROL_VARIABLE}",
    )
    run.add_argument("--no-micro", action="store_true", help="skip the in-process microbenchmarks")
    add_no_report_option(run)
    add_distance_options(run)
    run.add_argument(
        "--rtt-sweep",
        nargs="?",
        type=rtt_sweep_option,
        metavar="RTTS",
        const=DEFAULT_RTT_SWEEP_MS,
        help="also probe the round-trip techniques (n_plus_one, batch_get, bulk_insert, "
        "pooling) with PostgreSQL and Redis at each of these round trips, one request at a "
        "time, and fit their time per request against the RTT (default "
        f"{','.join(f'{rtt:g}ms' for rtt in DEFAULT_RTT_SWEEP_MS)})",
    )
    add_results_dir_option(run, "where run directories go")
    add_reports_dir_option(run, "where HTML reports go")
    add_scale_options(run)
    run.set_defaults(handler=command_run)


def add_report_command(commands: Subcommands) -> None:
    """`pairbench report`: rebuild a report, or compare two runs."""
    report = commands.add_parser(
        "report",
        help="rebuild a run's HTML report, or compare two runs (before, after)",
        description=(
            "With one RUN_DIR: rebuild its report from its files. With two: a comparison "
            "report, per technique and variant, of the second run against the first (ratio "
            "with bootstrap CI and verdict) and their latency curves overlaid."
        ),
    )
    report.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="a directory under results/ (or two)"
    )
    add_reports_dir_option(report)
    report.add_argument(
        "--check",
        action="store_true",
        help=(
            "open the report in headless Chromium and exit 1 on console errors or a section "
            "or chart not drawn; saves a screenshot (report.png) in the run dir (a comparison's "
            "beside it)"
        ),
    )
    report.set_defaults(handler=command_report)


def add_stats_command(commands: Subcommands) -> None:
    """`pairbench stats`: the stats stage alone."""
    stats = commands.add_parser(
        "stats",
        help="(re)compute a run's statistics tables from its raw files",
        description=(
            "The stats stage alone: read a run's samples, segments, probe, microbenchmarks and "
            "plan, and write its tables (summary.csv, growth.csv, growth_points.csv, "
            "micro_summary.csv, probe_summary.csv, latency_curves.csv.gz, timeline.csv, "
            "warnings.csv, then stats.json). `pairbench run` does it when measuring ends; "
            "the report and the gate read these tables."
        ),
    )
    stats.add_argument("run_dir", metavar="RUN_DIR", help="a directory under results/")
    stats.set_defaults(handler=command_stats)


def add_baseline_command(commands: Subcommands) -> None:
    """`pairbench baseline`: a complete run as the gate's baseline."""
    baseline = commands.add_parser(
        "baseline",
        help="record a complete run's speedups and costs as the gate's baseline",
        description=(
            "Record each variant's headline speedup (with its CI and verdict) and costs per "
            "request from a complete run, as the baseline `pairbench check` compares runs "
            "with. Make it from a run of the profile CI checks (.ci/run: --profile gate "
            "--no-micro), on the machine kind CI runs on. Its speedup_tolerances come from the "
            "noise the run measured (its A/A control's CI and each technique's own spread; "
            "the default where the run had no control). A cost per request is held exactly "
            "(within the default slack) unless its round means moved in the run; then its "
            "cost_tolerances entry comes from that spread. Given more runs of the same code "
            "(RERUN_DIR: gate runs from other jobs), each technique's figures come from its "
            "typical run among them all (the one whose speedups rank in the middle, not the "
            "luckiest), its tolerance also covers the largest fall of its speedups seen "
            "between any two of them, which one run cannot see, and each cost's room is the "
            "widest any of them measured."
        ),
    )
    baseline.add_argument(
        "run_dir",
        metavar="RUN_DIR [RERUN_DIR ...]",
        nargs="+",
        help="a complete run (its id and environment are the baseline's); then, optionally, "
        "complete reruns of the same code and profile, for the figures and the tolerances",
    )
    baseline.add_argument(
        "--output",
        default="results/baseline.json",
        help="baseline file to write (default: results/baseline.json, replaced if there)",
    )
    baseline.set_defaults(handler=command_baseline)


def add_check_command(commands: Subcommands) -> None:
    """`pairbench check`: the regression gate."""
    check = commands.add_parser(
        "check",
        help="regression gate: exit 0 no regression, 1 regression, 2 bad input",
        description=(
            "Compare a run with the baseline: fails when a deterministic cost (queries, "
            "round trips, bytes per request) rose beyond its tolerance, when a speedup fell "
            "significantly (CI upper bound below the baseline CI lower bound x (1 - "
            "tolerance)), or when an optimized variant that won on time alone (it saves no "
            "cost over its baseline variant, which would guard it) no longer beats it. "
            "Variants the baseline does not cover are listed as not gated (--strict fails on "
            "them). Writes check.md (Markdown for CI step summaries) and check.xml (JUnit) "
            "into the run directory."
        ),
    )
    check.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="default: the newest run")
    check.add_argument("--baseline", default="results/baseline.json")
    add_results_dir_option(check, "where to find the newest run")
    check.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="TECHNIQUE=FRACTION",
        help="allowed speedup drop for one technique (default 0.25); repeatable",
    )
    check.add_argument(
        "--verbose", action="store_true", help="print every check, not only failures"
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 when the run has variants the baseline does not cover (not gated)",
    )
    # monitoring: SLOs a user sets, checked like k6 thresholds.
    check.add_argument(
        "--slo",
        action="store_true",
        help=(
            "also fail when an optimized variant breaks an SLO at its default parameters: "
            "[tool.pairbench.slo] in pyproject.toml, else the seed's (p95 < 200 ms, errors "
            "< 1%%, cache hits > 80%%, peak memory < 80%% of available); adds the SLO table "
            "to check.md. Without a baseline "
            "file, checks the SLOs alone"
        ),
    )
    check.add_argument("--config", default=PYPROJECT, help="the file with [tool.pairbench.slo]")
    for name, unit in (
        ("p95-ms", "MS"),
        ("p99-ms", "MS"),
        ("error-rate", "FRACTION"),
        ("cache-hit-rate", "FRACTION"),
        ("memory-share", "FRACTION"),
    ):
        check.add_argument(
            f"--slo-{name}",
            type=float,
            metavar=unit,
            help=f"the {name.replace('-', ' ')} SLO, overriding the config (implies --slo)",
        )
    from pairbench.ab.gate import add_against_options

    add_against_options(check)  # your own app: --against REV
    check.set_defaults(handler=command_check)


def add_crosscheck_command(commands: Subcommands) -> None:
    """`pairbench crosscheck`: a run's throughput ratios against wrk's."""
    from pairbench.crosscheck import DEFAULT_TECHNIQUES, DEFAULT_TOLERANCE
    from pairbench.load.wrk_rounds import DEFAULT_ROUND_S, DEFAULT_ROUNDS, DEFAULT_WARMUP_S

    crosscheck = commands.add_parser(
        "crosscheck",
        help="check a run's closed-loop throughput ratios against wrk's: exit 0 all agree, "
        "1 some do not, 2 bad input",
        description=(
            "Bring up the run's environment again (services, data, the app, as `run` does), "
            "and load each variant and its baseline at the run's default point with wrk, a "
            "load generator in C, with the run's closed-loop users as connections: a warm-up "
            "per variant, then interleaved rounds, shuffled each round. wrk's throughput "
            "ratio (variant / baseline, with a 95% CI from the rounds) is set beside the "
            "run's; they agree when |wrk / pairbench - 1| <= the tolerance. Prints the table "
            "and writes crosscheck.csv and crosscheck.json into the run dir (crosscheck-2.csv "
            "and so on if there: nothing is overwritten). Needs wrk (Debian: apt-get install "
            "wrk)."
        ),
    )
    crosscheck.add_argument("run_dir", metavar="RUN_DIR", help="a run with closed-loop rows")
    crosscheck.add_argument(
        "--only",
        metavar="KEYS",
        help="comma-separated technique keys, each served as a plain GET (default: those of "
        f"{', '.join(DEFAULT_TECHNIQUES)} the run measured: cheap techniques whose every "
        "variant answers in about 20 ms or less one request at a time: a 2 s round sees a "
        "hundred answers of the slowest or more, and the whole check takes a few minutes)",
    )
    crosscheck.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"interleaved rounds per variant (default {DEFAULT_ROUNDS}; at least 2)",
    )
    crosscheck.add_argument(
        "--seconds",
        type=int,
        default=DEFAULT_ROUND_S,
        help=f"wrk's whole seconds per variant per round (default {DEFAULT_ROUND_S})",
    )
    crosscheck.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP_S,
        metavar="SECONDS",
        help=f"wrk's warm-up per variant, whole seconds, not counted (default {DEFAULT_WARMUP_S})",
    )
    crosscheck.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        metavar="SHARE",
        help=f"how far wrk's ratio may be from pairbench's (default {DEFAULT_TOLERANCE:g}: "
        "+/-10%%)",
    )
    crosscheck.set_defaults(handler=command_crosscheck)


def add_list_command(commands: Subcommands) -> None:
    """`pairbench list`: the catalog."""
    listing = commands.add_parser("list", help="techniques, their variants and what they prove")
    listing.set_defaults(handler=command_list)


def add_serve_command(commands: Subcommands) -> None:
    """`pairbench serve`: services, data and the app until Ctrl-C."""
    serve = commands.add_parser("serve", help="services, data and the app up until Ctrl-C")
    serve.add_argument("--port", type=int, default=8000)
    add_profile_option(serve, "data scale")
    add_results_dir_option(serve, "where serve.log goes")
    add_distance_options(serve)
    add_app_workers_option(serve)
    serve.set_defaults(handler=command_serve)


def build_parser() -> argparse.ArgumentParser:
    from pairbench.ab.command import add_ab_parser  # which reads this module's option helpers

    parser = argparse.ArgumentParser(
        prog="pairbench",
        description=(
            "Measure what backend performance techniques are worth: each technique's naive and "
            "optimized variants served by a real FastAPI app on real PostgreSQL and Redis, "
            "loaded with Locust, compared with bootstrap confidence intervals."
        ),
        epilog=(
            "Servers: DATABASE_URL and REDIS_URL select your own; unset, throwaway embedded "
            "ones are started and removed. Load only ever goes to 127.0.0.1."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (
        add_run_command,
        add_report_command,
        add_stats_command,
        add_baseline_command,
        add_check_command,
        add_crosscheck_command,
        add_ab_parser,  # your own pair: two endpoints or two revisions of your app
        add_list_command,
        add_serve_command,
    ):
        add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except results.ResultsError as error:
        return fail(str(error))
    except KeyboardInterrupt:  # a second Ctrl-C, after the run had already stopped for one
        return fail("interrupted", EXIT_INTERRUPTED)
    return code


if __name__ == "__main__":
    sys.exit(main())
