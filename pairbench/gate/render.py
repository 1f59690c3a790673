"""The regression gate's findings as a text table, a Markdown summary and JUnit XML.

Each names the variants the baseline does not cover ("not gated") beside the checks; the
JUnit XML also holds the SLO checks (`check --slo`), so CI shows every check in one place.
"""

from collections.abc import Sequence
from xml.etree import ElementTree

from pairbench.gate.check import Finding, NotGated
from pairbench.gate.slo_check import SloFinding

HEADER = ("status", "technique", "variant", "point", "metric", "baseline", "current", "limit")


def _cells(finding: Finding) -> tuple[str, ...]:
    status = "REGRESSION" if finding.regressed else "ok"
    numbers = (finding.baseline, finding.current, finding.limit)
    return (
        status,
        finding.technique,
        finding.variant,
        finding.point,
        finding.metric,
        *(f"{number:.4g}" for number in numbers),
    )


def verdict_line(findings: Sequence[Finding], unchecked: Sequence[NotGated] = ()) -> str:
    regressions = sum(finding.regressed for finding in findings)
    variants = len({(f.technique, f.variant, f.point) for f in findings})
    outcome = f"{regressions} regression(s)" if regressions else "no regression"
    line = f"checked {len(findings)} metrics of {variants} variants: {outcome}"
    if unchecked:
        line += f"; {len(unchecked)} variant(s) not gated (not in the baseline)"
    return line


def render_text(
    findings: Sequence[Finding], verbose: bool = False, unchecked: Sequence[NotGated] = ()
) -> str:
    """A fixed-width table: the regressions (every finding if verbose), the variants not
    gated, then the verdict."""
    shown = [f for f in findings if verbose or f.regressed]
    rows = [HEADER, *(_cells(finding) for finding in shown)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
    lines = (
        [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        if shown
        else []
    )
    lines += [f.describe() for f in shown if f.regressed]
    lines += [variant.describe() for variant in unchecked]
    return "\n".join([*lines, verdict_line(findings, unchecked)])


def render_markdown(findings: Sequence[Finding], unchecked: Sequence[NotGated] = ()) -> str:
    """A CI step summary: the verdict, the regressions, the variants not gated, and every
    check folded away."""

    def table(chosen: Sequence[Finding]) -> list[str]:
        return [
            "| " + " | ".join(HEADER) + " |",
            "|" + "---|" * len(HEADER),
            *("| " + " | ".join(_cells(finding)) + " |" for finding in chosen),
        ]

    regressions = [finding for finding in findings if finding.regressed]
    icon = ":x:" if regressions else ":warning:" if unchecked else ":white_check_mark:"
    lines = [f"## pairbench regression gate {icon}", "", verdict_line(findings, unchecked), ""]
    if regressions:
        lines += [*table(regressions), ""]
    if unchecked:
        lines += [
            "### Not gated",
            "",
            "The baseline does not cover these variants, so no check ran on them; make a new "
            "baseline (`pairbench baseline RUN_DIR`) to gate them.",
            "",
            "| technique | variant | point | load mode |",
            "|---|---|---|---|",
            *(f"| {v.technique} | {v.variant} | {v.point} | {v.mode} |" for v in unchecked),
            "",
        ]
    lines += ["<details><summary>all checks</summary>", "", *table(findings), "", "</details>"]
    return "\n".join(lines) + "\n"


def _case(
    suite: ElementTree.Element, technique: str, variant: str, name: str
) -> ElementTree.Element:
    """A test case of `suite`, named for the variant checked and what was checked."""
    return ElementTree.SubElement(suite, "testcase", classname=f"{technique}.{variant}", name=name)


def render_junit(
    findings: Sequence[Finding],
    unchecked: Sequence[NotGated] = (),
    slo_checks: Sequence[SloFinding] = (),
) -> str:
    """JUnit XML: one test case per check, a failure per regression or broken SLO, a
    skipped case per variant not gated."""
    broken = [check for check in slo_checks if not check.met]
    suite = ElementTree.Element(
        "testsuite",
        name="pairbench-gate",
        tests=str(len(findings) + len(unchecked) + len(slo_checks)),
        failures=str(sum(finding.regressed for finding in findings) + len(broken)),
        skipped=str(len(unchecked)),
    )
    for finding in findings:
        case = _case(suite, finding.technique, finding.variant, f"{finding.point} {finding.metric}")
        if finding.regressed:
            failure = ElementTree.SubElement(case, "failure", message=finding.describe())
            failure.text = finding.rule
    for variant in unchecked:
        name = f"{variant.point} {variant.mode} loop not gated"
        case = _case(suite, variant.technique, variant.variant, name)
        ElementTree.SubElement(case, "skipped", message=variant.describe())
    for check in slo_checks:
        name = f"{check.point} {check.mode} loop SLO {check.objective.label}"
        case = _case(suite, check.technique, check.variant, name)
        if not check.met:
            ElementTree.SubElement(case, "failure", message=check.describe())
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
