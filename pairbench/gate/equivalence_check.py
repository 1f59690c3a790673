"""The gate's first rule: every variant of the run answered as its baseline variant did.

A faster wrong answer is not an optimization, so a variant that the run found not
equivalent (its body, its effects, or an answer sampled under load) fails the gate
whatever its figures, baseline file or not.
"""

from pathlib import Path

import pandas as pd

from pairbench import results
from pairbench.gate.check import Finding

METRIC = "equivalent (1: same answer as its baseline variant)"


def equivalence_findings(run_dir: Path, summary: pd.DataFrame) -> list[Finding]:
    """One finding per optimized variant and point of the run: regressed if not equivalent."""
    checked = results.read_run(run_dir, with_samples=False).equivalence
    findings = []
    rows = summary[~summary["baseline"].astype(bool)]
    for technique, variant, point, same in dict.fromkeys(
        zip(rows["technique"], rows["variant"], rows["point"], rows["equivalent"], strict=True)
    ):
        detail = checked.get(str(technique), {}).get(str(variant), {}).get("detail", "not checked")
        findings.append(
            Finding(
                str(technique),
                str(variant),
                str(point),
                METRIC,
                1.0,
                float(bool(same)),
                1.0,
                regressed=not bool(same),
                rule=f"a variant must answer as its baseline variant does: {detail}",
            )
        )
    return findings
