"""The regression gate's findings as a text table, a Markdown summary and JUnit XML."""

from collections.abc import Sequence
from xml.etree import ElementTree

from pairbench.gate.check import Finding

HEADER = ("status", "technique", "variant", "point", "metric", "baseline", "current", "limit")


def _cells(finding: Finding) -> tuple[str, ...]:
    status = "REGRESSION" if finding.regressed else "ok"
    numbers = (finding.baseline, finding.current, finding.limit)
    return (
        status, finding.technique, finding.variant, finding.point, finding.metric,
        *(f"{number:.4g}" for number in numbers),
    )  # fmt: skip


def verdict_line(findings: Sequence[Finding]) -> str:
    regressions = sum(finding.regressed for finding in findings)
    variants = len({(f.technique, f.variant, f.point) for f in findings})
    outcome = f"{regressions} regression(s)" if regressions else "no regression"
    return f"checked {len(findings)} metrics of {variants} variants: {outcome}"


def render_text(findings: Sequence[Finding], verbose: bool = False) -> str:
    """A fixed-width table: the regressions (every finding if verbose), then the verdict."""
    shown = [f for f in findings if verbose or f.regressed]
    rows = [HEADER, *(_cells(finding) for finding in shown)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows] if shown else []  # fmt: skip
    lines += [f.describe() for f in shown if f.regressed]
    return "\n".join([*lines, verdict_line(findings)])


def render_markdown(findings: Sequence[Finding]) -> str:
    """A CI step summary: the verdict, the regressions, and every check folded away."""

    def table(chosen: Sequence[Finding]) -> list[str]:
        return [
            "| " + " | ".join(HEADER) + " |",
            "|" + "---|" * len(HEADER),
            *("| " + " | ".join(_cells(finding)) + " |" for finding in chosen),
        ]

    regressions = [finding for finding in findings if finding.regressed]
    icon = ":x:" if regressions else ":white_check_mark:"
    lines = [f"## pairbench regression gate {icon}", "", verdict_line(findings), ""]
    if regressions:
        lines += [*table(regressions), ""]
    lines += ["<details><summary>all checks</summary>", "", *table(findings), "", "</details>"]
    return "\n".join(lines) + "\n"


def render_junit(findings: Sequence[Finding]) -> str:
    """JUnit XML: one test case per check, a failure per regression."""
    suite = ElementTree.Element(
        "testsuite",
        name="pairbench-gate",
        tests=str(len(findings)),
        failures=str(sum(finding.regressed for finding in findings)),
    )
    for finding in findings:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"{finding.technique}.{finding.variant}",
            name=f"{finding.point} {finding.metric}",
        )
        if finding.regressed:
            failure = ElementTree.SubElement(case, "failure", message=finding.describe())
            failure.text = finding.rule
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
