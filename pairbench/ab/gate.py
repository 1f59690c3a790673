"""`pairbench check --against REV`: HEAD gated against REV, both measured in this job.

A stored baseline pays for the drift between machines and days; two revisions served
side by side and measured in interleaved rounds do not. HEAD (b) fails the gate when,
at any point it is measured at:
  - it answers differently from REV (a);
  - a deterministic cost per request its app reports (the `x-cost` header) rose beyond
    the gate's tolerance for that cost (pairbench.gate.check.COST_TOLERANCES);
  - its p50 speedup over REV is significantly below 1 - the allowed slowdown: the upper
    bound of its 95% CI is.
Findings are the gate's own (pairbench.gate.check.Finding), printed and written as
check.md and check.xml the same way.
"""

import argparse
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pairbench import results
from pairbench.ab.config import PairEntry, PairsError, read_pairs
from pairbench.ab.pair import BASELINE, CANDIDATE
from pairbench.cli import EXIT_FAILED, EXIT_OK, fail, log
from pairbench.gate.check import COST_TOLERANCES, Finding
from pairbench.results import as_float
from pairbench.stats.noise_floor import without_control

DEFAULT_MAX_SLOWDOWN = 0.10
HEAD = "HEAD"


def slowdown_finding(key: str, point: str, row: Any, max_slowdown: float) -> Finding:
    """HEAD's p50 speedup over REV, failing when its CI's upper bound is below the limit."""
    high = as_float(row.get("speedup_ci_high"))
    if math.isnan(high):
        high = as_float(row.get("speedup_p50"))
    limit = 1.0 - max_slowdown
    return Finding(
        key,
        CANDIDATE,
        point,
        "speedup_p50 (HEAD over REV, CI upper bound)",
        1.0,
        high,
        limit,
        bool(high < limit),
        f"HEAD may be at most {max_slowdown:.0%} slower than REV; it is significantly slower "
        "when its p50 speedup's 95% CI lies wholly below that",
    )


def cost_findings(key: str, point: str, before: Any, after: Any) -> list[Finding]:
    """Each deterministic cost both revisions report, HEAD's against REV's tolerance."""
    found = []
    for name, (relative, absolute) in COST_TOLERANCES.items():
        rev, head = as_float(before.get(name)), as_float(after.get(name))
        if math.isnan(rev) or math.isnan(head):
            continue  # the app does not report it (no x-cost header, or not that field)
        limit = rev * (1 + relative) + absolute
        rule = f"rise within {relative:.0%} + {absolute:g} of REV's"
        found.append(Finding(key, CANDIDATE, point, name, rev, head, limit, head > limit, rule))
    return found


def same_job_findings(summary: pd.DataFrame, max_slowdown: float) -> list[Finding]:
    """Every check of HEAD (b) against REV (a), per pair, point and load mode (the A/A
    control, REV against itself, is the run's noise floor, not a finding)."""
    findings = []
    summary = without_control(summary)
    target = summary[summary["name"].fillna(results.TARGET_NAME) == results.TARGET_NAME]
    for (key, point, _), rows in target.groupby(["technique", "point", "mode"], sort=False):
        by_side = {str(row["variant"]): row for row in rows.to_dict("records")}
        if BASELINE not in by_side or CANDIDATE not in by_side:
            continue
        rev, head = by_side[BASELINE], by_side[CANDIDATE]
        if not bool(head.get("equivalent", False)):
            findings.append(
                Finding(
                    str(key),
                    CANDIDATE,
                    str(point),
                    "same answer",
                    1.0,
                    0.0,
                    1.0,
                    True,
                    "HEAD must answer as REV does",
                )
            )
        findings.append(slowdown_finding(str(key), str(point), head, max_slowdown))
        findings += cost_findings(str(key), str(point), rev, head)
    return findings


def slug(path: str) -> str:
    """A path as a pair's name: "/orders/{id}" -> "orders-id"."""
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"


def entries_against(args: argparse.Namespace) -> list[PairEntry]:
    """What to measure at both revisions: each --path, else every endpoint of the pairs
    in the pyproject (each pair's a and b, by the pair's name)."""
    params = dict(text.partition("=")[::2] for text in args.param)
    if args.path:
        return [PairEntry(slug(path), path, path, params, tuple(args.ignore)) for path in args.path]
    try:
        pairs = read_pairs(Path(args.config))
    except PairsError as error:
        raise ValueError(f"{error}; or give --path PATH") from None
    return [
        PairEntry(
            f"{pair.name}.{side}",
            endpoint,
            endpoint,
            {**pair.params, **params},
            pair.ignore + tuple(args.ignore),
            pair.method,
            pair.headers,
            pair.body,
            pair.sweep,
        )
        for pair in pairs
        for side, endpoint in ((BASELINE, pair.a), (CANDIDATE, pair.b))
    ]


def command_check_against(args: argparse.Namespace) -> int:
    """Serve REV and HEAD side by side, measure them, gate HEAD on what was measured."""
    from pairbench.ab.command import UsageError, ab_defaults, report_outcome, run_ab
    from pairbench.ab.revisions import RevisionError
    from pairbench.env.server import ServerError
    from pairbench.gate.render import render_junit, render_markdown, render_text
    from pairbench.load.segment import LoadError
    from pairbench.stats.stage import read_tables

    if args.app is None:
        return fail("--against needs --app module:app: pairbench serves REV and HEAD itself")
    if not 0 <= args.max_slowdown < 1:
        return fail("--max-slowdown must be a fraction from 0 to below 1 (e.g. 0.1)")
    # ab's defaults (its load modes, topology), then check's options; a difference is a finding
    ab_args = argparse.Namespace(**{**ab_defaults(), **vars(args), "allow_different": True})
    try:
        outcome = run_ab(ab_args, entries_against(args), [args.against, HEAD])
    except (ValueError, UsageError, RevisionError, LoadError) as error:
        return fail(str(error))
    except ServerError as error:
        return fail(str(error), EXIT_FAILED)
    code = report_outcome(ab_args, outcome)
    if not (outcome.run_dir / results.SUMMARY).exists():
        return code if code != EXIT_OK else EXIT_FAILED
    findings = same_job_findings(read_tables(outcome.run_dir).summary, args.max_slowdown)
    log(f"gate: HEAD against {args.against}, measured in this job ({outcome.run_dir})")
    log(render_text(findings, verbose=args.verbose))
    (outcome.run_dir / "check.md").write_text(render_markdown(findings))
    (outcome.run_dir / "check.xml").write_text(render_junit(findings))
    log(f"details: {outcome.run_dir / 'check.md'}, {outcome.run_dir / 'check.xml'}")
    if any(finding.regressed for finding in findings) or not outcome.complete:
        return EXIT_FAILED
    return EXIT_OK


def add_against_options(check: argparse.ArgumentParser) -> None:
    """check's options for a same-job comparison with another revision."""
    from pairbench.ab.command import add_app_options
    from pairbench.cli import add_no_report_option, add_profile_option, add_reports_dir_option

    group = check.add_argument_group(
        "against a revision, measured in this job (no stored baseline)",
        "pairbench serves --app at REV and at HEAD (a git worktree each), checks they answer "
        "alike, measures them interleaved and fails when HEAD answers differently, reports a "
        "higher cost (x-cost header), or is significantly slower than --max-slowdown allows",
    )
    group.add_argument("--against", metavar="REV", help="the revision HEAD is gated against")
    add_app_options(group)
    group.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="PATH",
        help="an endpoint to compare (repeatable); default: the endpoints of "
        "[tool.pairbench.pairs]",
    )
    group.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    group.add_argument("--ignore", action="append", default=[], metavar="FIELD")
    group.add_argument(
        "--max-slowdown",
        type=float,
        default=DEFAULT_MAX_SLOWDOWN,
        metavar="FRACTION",
        help=f"how much slower HEAD may be (default {DEFAULT_MAX_SLOWDOWN})",
    )
    add_profile_option(group, "how long and how precisely (default: gate)", default="gate")
    add_reports_dir_option(group)
    add_no_report_option(group)
