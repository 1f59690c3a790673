"""`pairbench ab`: its options, and from them the pairs to run and where their sides are."""

import argparse
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pairbench import results
from pairbench.ab.config import PairEntry, PairsError, read_pairs
from pairbench.ab.ignore import describe
from pairbench.ab.pair import BASELINE, CANDIDATE, Endpoint, PairTechnique, make_pair
from pairbench.ab.revisions import RevisionError, checked_out, repository_root
from pairbench.cli import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PYPROJECT,
    add_load_mode_options,
    add_no_report_option,
    add_profile_option,
    add_reports_dir_option,
    add_results_dir_option,
    add_scale_options,
    fail,
    log,
    report_and_print,
    topology_from,
)
from pairbench.console import Log
from pairbench.env.server import LOOPBACK, ServerError
from pairbench.load.measure import LoadPlan
from pairbench.load.segment import LoadError, require_loopback
from pairbench.profiles import MODE_CHOICES, OPEN_LOOP_LOAD, PROFILES, Profile
from pairbench.results import CLOSED
from pairbench.topology import Topology

if TYPE_CHECKING:
    from pairbench.ab.run import PairsOutcome, Sides
    from pairbench.env.server import AppServer

DEFAULT_NAME = "ab"
SIDES = (BASELINE, CANDIDATE)


class UsageError(Exception):
    """A bad combination of options or a bad value: exit 2 with the message."""


def _assignment(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise UsageError(f"{option} {text!r} must be NAME=VALUE")
    return name, value


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise UsageError(f"--header {text!r} must be 'Name: value'")
    return name.strip(), value.strip()


def parse_sweep(text: str) -> tuple[str, list[str]]:
    """`name=1,10,100` -> ("name", ["1", "10", "100"])."""
    name, values = _assignment(text, "--sweep")
    found = [value.strip() for value in values.split(",") if value.strip()]
    if not found:
        raise UsageError(f"--sweep {text!r} gives no values (e.g. --sweep n=1,10,100)")
    return name, found


def _body(text: str | None) -> str | None:
    """The body given, or the contents of the file `@path` names."""
    if text is None or not text.startswith("@"):
        return text
    path = Path(text[1:])
    try:
        return path.read_text()
    except OSError as error:
        raise UsageError(f"--body {text}: cannot read {path} ({error.strerror})") from None


def entries_from(args: argparse.Namespace) -> list[PairEntry]:
    """The pairs to run: the pyproject's (--all), or the one the command line gives."""
    if args.all:
        if args.targets:
            raise UsageError("--all runs the pairs of the pyproject; give no paths or URLs")
        try:
            return read_pairs(Path(args.config))
        except PairsError as error:
            raise UsageError(str(error)) from None
    targets = list(args.targets)
    if args.rev and len(targets) == 1:
        targets = targets * 2  # the same endpoint at both revisions
    if len(targets) != 2:
        raise UsageError(
            "give two endpoints: URL_A URL_B, or with --app PATH_A PATH_B (with --rev, one PATH "
            "is enough); or --all for the pairs in pyproject.toml"
        )
    params = dict(_assignment(text, "--param") for text in args.param)
    headers = dict(_header(text) for text in args.header)
    sweep = parse_sweep(args.sweep) if args.sweep else None
    return [
        PairEntry(
            args.name,
            targets[0],
            targets[1],
            params,
            tuple(args.ignore),
            args.method.upper(),
            headers,
            _body(args.body),
            sweep,
        )
    ]


def technique_of(entry: PairEntry) -> tuple[PairTechnique, Endpoint, Endpoint]:
    try:
        a, b = Endpoint.parse(entry.a), Endpoint.parse(entry.b)
    except ValueError as error:
        raise UsageError(f"pair {entry.name}: {error}") from None
    pair = make_pair(
        entry.name,
        a,
        b,
        entry.params,
        entry.method,
        entry.headers,
        entry.body,
        entry.ignore,
    )
    return pair, a, b


def plan_of(args: argparse.Namespace, pairs: list[PairTechnique], log: Log) -> LoadPlan:
    """The profile's rounds; open loop only if every pair is a plain GET (the open-loop
    schedule sends nothing else)."""
    profile: Profile = PROFILES[args.profile]
    modes = MODE_CHOICES[args.mode] if args.mode else profile.modes
    plain = all(p.method == "GET" and not p.headers and p.body is None for p in pairs)
    if not plain and modes != (CLOSED,):
        log("closed loop only: the open-loop schedule sends plain GETs")
        modes = (CLOSED,)
    if CLOSED not in modes and args.rate is None:
        raise UsageError("open loop alone needs --rate (else its rate comes from closed loop)")
    if args.rate is not None and not args.rate > 0:
        raise UsageError("--rate must be a positive number of requests per second")
    # A fresh seed per run shuffles a and b in each round, as `pairbench run` does.
    return LoadPlan(profile, modes, args.rate, order_seed=secrets.randbelow(2**31))


@dataclass(frozen=True)
class Served:
    """The app servers pairbench runs: the a sides' and the b sides' (one server for both
    without --rev), and the revision each side is, if any."""

    app: str  # "module:attribute"
    commit: str  # the commit of the checkout it is served from ("": each side's revision)
    apps: Mapping[str, "AppServer"]
    revisions: Mapping[str, str] = field(default_factory=dict)


@contextmanager
def serving(
    app: str | None, app_dir: Path, revs: Sequence[str], run_dir: Path, topology: Topology
) -> Iterator[Served | None]:
    """`app` served from `app_dir` (once, or at each of two revisions) for the block, by
    the topology's app workers on its host; None without `app` (the user runs theirs). Its
    logs go into the run directory."""
    from pairbench.ab.serve import serving_sides

    if app is None:
        yield None
        return
    app_dir = app_dir.resolve()
    with ExitStack() as stack:
        described: dict[str, str] = {}
        if revs:
            inside = app_dir.relative_to(repository_root(app_dir))
            revisions = stack.enter_context(checked_out(app_dir, revs))
            dirs = {
                side: rev.directory / inside for side, rev in zip(SIDES, revisions, strict=True)
            }
            described = {side: rev.describe() for side, rev in zip(SIDES, revisions, strict=True)}
        else:
            dirs = {side: app_dir for side in SIDES}
        served = stack.enter_context(
            serving_sides(app, dirs, run_dir, log, topology.app_workers, topology.app_host)
        )
        log(
            f"serving {app}: "
            + ", ".join(f"{side} at {one.base_url} (pid {one.pid})" for side, one in served.items())
        )
        commit = "" if revs else results.git_commit(app_dir)
        yield Served(app, commit, served, described)


def check_sides(
    args: argparse.Namespace, revs: Sequence[str], a: Endpoint, b: Endpoint, topology: Topology
) -> None:
    """Refuse what cannot be served or must not be loaded, before anything starts."""
    if args.app is None:
        if revs:
            raise UsageError("--rev needs --app module:app (pairbench serves each revision)")
        if a.base_url is None or b.base_url is None:
            raise UsageError("without --app, give two URLs (http://127.0.0.1:8000/path)")
        if topology.app_workers != 1 or topology.app_host != LOOPBACK:
            raise UsageError(
                "--app-workers and --app-host are how pairbench serves --app module:app; "
                "an app you run is served as you run it"
            )
        for url in (a.base_url, b.base_url):
            require_loopback(url, topology.own_target)
    elif a.base_url is not None or b.base_url is not None:
        raise UsageError("with --app, give paths (/items), not URLs: pairbench serves the app")
    if revs and len(revs) != 2:
        raise UsageError("give --rev twice: the base revision, then the one to compare")


def sides_for(a: Endpoint, b: Endpoint, served: Served | None) -> "Sides":
    """Where a pair's a and b answer: its URLs, or the app pairbench serves."""
    from pairbench.ab.run import Sides

    endpoints = {BASELINE: a, CANDIDATE: b}
    if served is None:
        urls = {side: str(endpoint.base_url) for side, endpoint in endpoints.items()}
        described = {side: endpoint.describe() for side, endpoint in endpoints.items()}
        return Sides(urls, {}, described)
    described = {
        side: f"{served.revisions[side]}: {endpoint.describe()}"
        if side in served.revisions
        else endpoint.describe()
        for side, endpoint in endpoints.items()
    }
    urls = {side: one.base_url for side, one in served.apps.items()}
    return Sides(urls, served.apps, described, served.app, served.commit)


def topology_of(args: argparse.Namespace) -> Topology:
    """The run's processes, as `pairbench run` takes them (cli.topology_from)."""
    try:
        return topology_from(args)
    except (ValueError, LoadError) as error:
        raise UsageError(str(error)) from None


def run_ab(
    args: argparse.Namespace, entries: list[PairEntry], revs: Sequence[str] = ()
) -> "PairsOutcome":
    """The pairs of `entries` in one run, each side served as the options say."""
    from pairbench.ab.run import MeasuredPair, pair_points, run_pairs
    from pairbench.slo import read_slos

    made = [(entry, *technique_of(entry)) for entry in entries]
    plan = plan_of(args, [pair for _, pair, _, _ in made], log)
    topology = topology_of(args)
    for _, pair, _, _ in made:
        if pair.ignore:
            log(f"{pair.key}: ignoring {describe(pair.ignore)}")
    slos = read_slos(Path(args.config))
    for _, _, a, b in made:  # refused before anything is written, served or sent
        check_sides(args, revs, a, b, topology)
    results_root = Path(args.results_dir)
    results.require_writable(results_root)  # before any app starts or any load is sent
    run_dir = results.new_run_dir(results_root, f"ab-{plan.profile.name}")
    with serving(args.app, Path(args.app_dir), revs, run_dir, topology) as served:
        pairs = [
            MeasuredPair(pair, sides_for(a, b, served), pair_points(pair, entry.sweep))
            for entry, pair, a, b in made
        ]
        return run_pairs(pairs, plan, run_dir, log, topology, args.allow_different, slos)


def report_outcome(args: argparse.Namespace, outcome: "PairsOutcome") -> int:
    """Print the verdicts, build the report; the exit code."""
    from pairbench.ab.verdict import verdict_lines
    from pairbench.report.build import trust_lines
    from pairbench.stats.stage import read_tables

    if outcome.stopped_on_difference:
        for key, different in outcome.differences.items():
            what = (
                f"at {different.point}, {different.difference}"
                if different.failed
                else f"a and b answer differently at {different.point}: first difference at "
                f"{different.difference}"
            )
            print(f"pairbench: {key}: {what}", file=sys.stderr, flush=True)
        print(
            "pairbench: not measured (--ignore FIELD for a field that differs by design, "
            "--allow-different to measure anyway)",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_FAILED
    if outcome.error:
        print(f"pairbench: error: {outcome.error}", file=sys.stderr, flush=True)
    run_dir = outcome.run_dir
    if (run_dir / results.SUMMARY).exists():
        # b against a at each point, then the noise floor, drift and warnings, as `run` prints
        report_and_print(
            args,
            run_dir,
            lambda built: verdict_lines(read_tables(run_dir).summary) + trust_lines(run_dir, built),
        )
    if outcome.interrupted:
        return fail(
            f"interrupted; what was measured is kept in {outcome.run_dir}", EXIT_INTERRUPTED
        )
    return EXIT_OK if outcome.complete else EXIT_FAILED


def command_ab(args: argparse.Namespace) -> int:
    try:
        outcome = run_ab(args, entries_from(args), args.rev)
        code = report_outcome(args, outcome)
    except (UsageError, RevisionError) as error:
        return fail(str(error))
    except LoadError as error:
        return fail(str(error))
    except ServerError as error:
        return fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    return code


def add_app_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--app and --app-dir: the user's ASGI app pairbench serves (ab, check --against)."""
    parser.add_argument(
        "--app", metavar="MODULE:APP", help="serve this ASGI app (uvicorn) yourself"
    )
    parser.add_argument("--app-dir", default=".", help="where --app's module is (default: here)")


def add_ab_arguments(ab: argparse.ArgumentParser) -> None:
    """`ab`'s arguments and options, on `ab` (its subparser, or a parser of its defaults)."""
    ab.add_argument("targets", nargs="*", metavar="URL_OR_PATH", help="endpoint a, then b")
    add_app_options(ab)
    ab.add_argument(
        "--rev",
        action="append",
        default=[],
        metavar="REV",
        help="serve --app at this git revision (twice: base, then the one compared)",
    )
    ab.add_argument("--all", action="store_true", help="run the pairs of [tool.pairbench.pairs]")
    ab.add_argument("--config", default=PYPROJECT, help="the pyproject.toml with the pairs")
    ab.add_argument("--name", default=DEFAULT_NAME, help="the pair's name in the run and report")
    request = ab.add_argument_group("the request (the same for a and b)")
    request.add_argument("-X", "--method", default="GET")
    request.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="repeatable"
    )
    request.add_argument("--body", help="the request body, or @FILE")
    request.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a query (or {path}) parameter; repeatable",
    )
    request.add_argument(
        "--sweep", metavar="NAME=V1,V2,...", help="measure at each value of one parameter"
    )
    request.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="FIELD",
        help="an answer field that differs by design (key name or dotted path); repeatable",
    )
    request.add_argument(
        "--allow-different",
        action="store_true",
        help="measure even when the answers differ (every figure of b is marked as such)",
    )
    add_profile_option(ab, "how long and how precisely (as for `pairbench run`)")
    add_load_mode_options(
        ab,
        "load mode(s), instead of the profile's",
        f"open-loop arrival rate (default: {OPEN_LOOP_LOAD * 100:.0f}%% of a's closed-loop "
        "throughput)",
    )
    add_no_report_option(ab)
    add_results_dir_option(ab, "where run directories go")
    add_reports_dir_option(ab, "where HTML reports go")
    add_scale_options(ab)


def add_ab_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The `ab` subcommand and its options."""
    ab = commands.add_parser(
        "ab",
        help="measure two endpoints (or two revisions) of your own app: same answer, then "
        "interleaved rounds to the profile's precision",
        description=(
            "Two endpoints of your app, compared as a technique's variants are: answers "
            "checked equal first (JSON decoded; --ignore for fields that differ by design), "
            "then each probed one request at a time, then both loaded in interleaved rounds "
            "beside an A/A control (a against itself: the run's noise floor) until the "
            "speedup's CI meets the profile's target; writes results/<run-id>/ and a report. "
            "Exit 0 measured, 1 different answers (or a failed run), 2 bad input."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  pairbench ab http://127.0.0.1:8000/orders/slow http://127.0.0.1:8000/orders/fast\n"
            "  pairbench ab --app myapp.main:app /orders/slow /orders/fast --sweep n=1,10,100\n"
            "  pairbench ab --app myapp.main:app --rev main --rev HEAD /orders\n"
            "  pairbench ab --all --app myapp.main:app  # the pairs in pyproject.toml\n"
            "ignored fields: a name without a dot (generated_at) is that key at any depth; a\n"
            "dotted path (meta.generated_at, items.etag) is that key from the answer's root,\n"
            "lists on the way applying it to each item."
        ),
    )
    add_ab_arguments(ab)
    ab.set_defaults(handler=command_ab)


def ab_defaults() -> dict[str, object]:
    """Every `ab` option at its default: what another command running pairs starts from."""
    parser = argparse.ArgumentParser(add_help=False)
    add_ab_arguments(parser)
    return vars(parser.parse_args([]))
