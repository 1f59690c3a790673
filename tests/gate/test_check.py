"""The regression gate's rules, on summaries whose answers are known: costs, speedups
within tolerances from the measured noise, headlines, baselines old and new."""

import json
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest

from bench_app.headline import MEMORY_GROWTH
from pairbench import cli
from pairbench.gate.check import (
    DEFAULT_SPEEDUP_TOLERANCE,
    BaselineError,
    compare,
    make_baseline,
    noise_widening,
    not_gated,
    read_baseline,
)
from pairbench.gate.render import render_junit, render_markdown, render_text
from pairbench.results import CONTROL_KEY, write_json
from pairbench.stats.tolerance import MIN_SPEEDUP_TOLERANCE
from tests.stats.test_tolerance import summary as noisy_summary


def summary_rows(selectin_speedup: float = 3.0, selectin_queries: float = 2.0) -> pd.DataFrame:
    """A summary of n_plus_one as the stats stage writes it."""
    rows = [
        ("naive", True, 1.0, 1.0, 1.0, "baseline", 51.0),
        (
            "selectin",
            False,
            selectin_speedup,
            selectin_speedup * 0.9,
            selectin_speedup * 1.1,
            "faster" if selectin_speedup * 0.9 > 1 else "no significant difference",
            selectin_queries,
        ),
        ("joined", False, 2.5, 2.2, 2.8, "faster", 1.0),
    ]
    columns = ["variant", "baseline", "speedup_p50", "speedup_ci_low", "speedup_ci_high"]
    frame = pd.DataFrame(rows, columns=[*columns, "verdict", "queries_per_request"])
    frame.insert(0, "technique", "n_plus_one")
    frame.insert(2, "point", "authors=50")
    frame["equivalent"] = True
    frame["bytes_per_request"] = 35786.0
    return frame


def write_run(run_dir: Path, summary: pd.DataFrame) -> Path:
    run_dir.mkdir(parents=True)
    manifest = {"run_id": run_dir.name, "profile": "smoke", "complete": True, "environment": {}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    summary.to_csv(run_dir / "summary.csv", index=False)
    return run_dir


@pytest.fixture
def baseline(tmp_path: Path) -> dict[str, object]:
    return make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())


def regressions(baseline: dict[str, object], summary: pd.DataFrame) -> list[str]:
    return [finding.describe() for finding in compare(baseline, summary) if finding.regressed]


def test_the_same_figures_pass(baseline: dict[str, object]) -> None:
    assert regressions(baseline, summary_rows()) == []


def test_a_cost_that_rose_fails_naming_technique_metric_and_values(
    baseline: dict[str, object],
) -> None:
    found = regressions(baseline, summary_rows(selectin_queries=51.0))
    assert found == [
        "REGRESSION: n_plus_one/selectin at authors=50: queries_per_request baseline 2, "
        "current 51, limit 2.09 (cost may rise at most 2% + 0.05)"
    ]


def test_a_small_cost_wobble_within_tolerance_passes(baseline: dict[str, object]) -> None:
    assert regressions(baseline, summary_rows(selectin_queries=2.04)) == []


def test_a_significant_speedup_drop_fails(baseline: dict[str, object]) -> None:
    # CI upper bound 1.8 * 1.1 = 1.98 < the baseline's CI lower bound 2.7 * 0.75 = 2.025
    found = regressions(baseline, summary_rows(selectin_speedup=1.8))
    assert len(found) == 1 and "speedup_p50 (CI upper bound)" in found[0]


def test_a_drop_within_the_noise_passes(baseline: dict[str, object]) -> None:
    # CI upper bound 1.9 * 1.1 = 2.09 >= 2.025: within both runs' uncertainty
    assert regressions(baseline, summary_rows(selectin_speedup=1.9)) == []


@pytest.mark.parametrize(("queries", "caught"), [(51.0, True), (2.0, False)])
def test_a_small_win_at_parity_fails_only_where_no_cost_guards_it(
    tmp_path: Path, queries: float, caught: bool
) -> None:
    # Baseline: selectin 1.2x [1.08, 1.32] faster, with naive's 51 queries (a win on time
    # alone) or with 2 (its win shows in a cost too). Now 0.98x [0.88, 1.08]: within the fall
    # rule's noise (1.08 > 1.08 * 0.75), at parity on time, and its queries unchanged.
    before = summary_rows(selectin_speedup=1.2, selectin_queries=queries)
    base = make_baseline(write_run(tmp_path / "base", before), before)
    found = regressions(base, summary_rows(selectin_speedup=0.98, selectin_queries=queries))
    beats = "speedup_p50 (beats its baseline variant)"
    assert found == (
        [
            f"REGRESSION: n_plus_one/selectin at authors=50: {beats} baseline 1.2, current "
            "0.98, limit 1 (an optimized variant that won on time alone must still be faster "
            "than its baseline)"
        ]
        if caught
        else []
    )
    # Where a cost guards it, undoing the optimization is caught by that cost.
    if not caught:
        undone = regressions(base, summary_rows(selectin_speedup=0.98, selectin_queries=51.0))
        assert len(undone) == 1 and "queries_per_request baseline 2, current 51" in undone[0]


def test_per_technique_tolerance_widens_the_speedup_rule(baseline: dict[str, object]) -> None:
    findings = compare(baseline, summary_rows(selectin_speedup=1.8), {"n_plus_one": 0.5})
    assert not any(finding.regressed for finding in findings)


def test_a_tolerance_kept_in_the_baseline_file_applies(baseline: dict[str, object]) -> None:
    widened = {**baseline, "speedup_tolerances": {"n_plus_one": 0.5}}
    assert not any(finding.regressed for finding in compare(widened, summary_rows(1.8)))


def test_a_default_tolerance_and_a_cost_override_in_the_baseline_file_apply(
    baseline: dict[str, object],
) -> None:
    widened = {
        **baseline,
        "speedup_tolerances": {"*": 0.5},
        "cost_tolerances": {"n_plus_one": {"queries_per_request": [0.1, 0.0]}},
    }
    assert regressions(widened, summary_rows(selectin_speedup=1.8, selectin_queries=2.1)) == []
    assert len(regressions(widened, summary_rows(selectin_queries=2.3))) == 1
    one_variant = {
        **baseline,
        "cost_tolerances": {
            "n_plus_one": {"queries_per_request": [0.1, 0.0]},
            "n_plus_one/selectin": {"queries_per_request": [1.0, 0.0]},  # the variant's wins
        },
    }
    assert regressions(one_variant, summary_rows(selectin_queries=3.9)) == []
    assert len(regressions(one_variant, summary_rows(selectin_queries=4.1))) == 1


def test_a_run_missing_baseline_variants_is_bad_input(baseline: dict[str, object]) -> None:
    partial = summary_rows()[lambda frame: frame["variant"] != "joined"]
    with pytest.raises(BaselineError, match="lacks 1 baseline variant"):
        compare(baseline, partial)


def test_malformed_baselines_are_errors_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "baseline.json"
    broken.write_text("{oops")
    with pytest.raises(BaselineError, match="baseline.json is not valid JSON"):
        read_baseline(broken)
    broken.write_text(json.dumps({"version": 1, "entries": [{"technique": "x"}]}))
    with pytest.raises(BaselineError, match="baseline.json: entry 0 lacks"):
        read_baseline(broken)
    with pytest.raises(BaselineError, match="does not exist"):
        read_baseline(tmp_path / "absent.json")


def test_outputs_agree_on_the_regressions(baseline: dict[str, object]) -> None:
    findings = compare(baseline, summary_rows(selectin_queries=51.0))
    assert "1 regression(s)" in render_text(findings)
    assert "| REGRESSION | n_plus_one | selectin |" in render_markdown(findings)
    suite = ElementTree.fromstring(render_junit(findings).split("?>", 1)[1])
    assert suite.get("failures") == "1" and suite.get("tests") == str(len(findings))


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_run(tmp_path / "results" / "base", summary_rows())
    baseline_path = tmp_path / "baseline.json"
    assert cli.main(["baseline", str(base), "--output", str(baseline_path)]) == 0
    clean = write_run(tmp_path / "results" / "clean", summary_rows())
    assert cli.main(["check", "--baseline", str(baseline_path), str(clean)]) == 0
    worse = write_run(tmp_path / "results" / "worse", summary_rows(selectin_queries=51.0))
    assert cli.main(["check", "--baseline", str(baseline_path), str(worse)]) == 1
    assert (worse / "check.md").is_file() and (worse / "check.xml").is_file()
    baseline_path.write_text("[]")
    assert cli.main(["check", "--baseline", str(baseline_path), str(clean)]) == 2
    assert str(baseline_path) in capsys.readouterr().err


def test_a_baseline_takes_its_tolerances_from_reruns_too_and_refuses_an_incomplete_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "results" / "base", summary_rows())
    rerun = write_run(tmp_path / "results" / "rerun", summary_rows(selectin_speedup=2.6))
    baseline_path = tmp_path / "baseline.json"
    assert cli.main(["baseline", str(base), str(rerun), "--output", str(baseline_path)]) == 0
    written = json.loads(baseline_path.read_text())
    assert written["run_id"] == "base" and written["noise"]["runs"] == 2
    assert "1 rerun(s)" in capsys.readouterr().out
    manifest = json.loads((rerun / "manifest.json").read_text())
    (rerun / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    assert cli.main(["baseline", str(base), str(rerun), "--output", str(baseline_path)]) == 2
    assert f"{rerun} is an incomplete run" in capsys.readouterr().err


def test_given_reruns_a_baseline_takes_each_technique_from_its_typical_run(
    tmp_path: Path,
) -> None:
    """Of selectin at 3.3x, 2.7x and 3.0x, the baseline holds the 3.0x run's figures."""
    runs = [(name, summary_rows(speedup)) for name, speedup in [("a", 3.3), ("b", 2.7), ("c", 3.0)]]
    (first, first_summary), *reruns = [
        (write_run(tmp_path / name, frame), frame) for name, frame in runs
    ]
    baseline = make_baseline(first, first_summary, reruns)
    assert baseline["run_id"] == "a" and baseline["noise"]["typical_runs"] == {"n_plus_one": "c"}
    selectin = next(entry for entry in baseline["entries"] if entry["variant"] == "selectin")
    assert selectin["speedup_p50"] == 3.0
    assert regressions(baseline, summary_rows(2.7)) == []  # the lowest run passes against it


def with_new_variants(summary: pd.DataFrame) -> pd.DataFrame:
    """`summary` plus what a baseline made before them cannot know: a new variant of a
    gated technique and a whole new technique."""
    new = summary.iloc[[1, 1]].copy()
    new["variant"] = ["subquery", "redis"]
    new["technique"] = ["n_plus_one", "cache_aside"]
    new["point"] = ["authors=50", "days=30,limit=50"]
    return pd.concat([summary, new], ignore_index=True)


def test_variants_the_baseline_does_not_cover_are_named_not_gated(
    baseline: dict[str, object],
) -> None:
    summary = with_new_variants(summary_rows())
    findings = compare(baseline, summary)
    unchecked = not_gated(baseline, summary)
    assert [(v.technique, v.variant, v.point) for v in unchecked] == [
        ("n_plus_one", "subquery", "authors=50"),
        ("cache_aside", "redis", "days=30,limit=50"),
    ]
    assert not any(finding.regressed for finding in findings)
    assert {f.variant for f in findings} == {"naive", "selectin", "joined"}  # the new: unchecked
    text = render_text(findings, unchecked=unchecked)
    assert (
        "not gated: cache_aside/redis at days=30,limit=50: the baseline does not cover it" in text
    )
    assert text.endswith("no regression; 2 variant(s) not gated (not in the baseline)")
    markdown = render_markdown(findings, unchecked)
    assert ":warning:" in markdown and "### Not gated" in markdown
    assert "| n_plus_one | subquery | authors=50 | closed |" in markdown
    suite = ElementTree.fromstring(render_junit(findings, unchecked).split("?>", 1)[1])
    assert suite.get("skipped") == "2" and suite.get("tests") == str(len(findings) + 2)
    skipped = [case for case in suite if case.find("skipped") is not None]
    assert [case.get("classname") for case in skipped] == [
        "n_plus_one.subquery",
        "cache_aside.redis",
    ]


def test_a_baseline_gates_its_own_load_mode_and_names_the_others_not_gated(
    baseline: dict[str, object],
) -> None:
    closed = summary_rows()
    opened = summary_rows(selectin_speedup=0.5, selectin_queries=51.0)  # other figures
    summary = pd.concat([closed.assign(mode="closed"), opened.assign(mode="open")])
    assert regressions(baseline, summary) == []  # the open-loop rows are not compared
    unchecked = not_gated(baseline, summary)
    assert [(v.variant, v.mode) for v in unchecked] == [
        ("naive", "open"),
        ("selectin", "open"),
        ("joined", "open"),
    ]
    assert "not gated: n_plus_one/joined at authors=50 (open loop): the baseline" in (
        render_text(compare(baseline, summary), unchecked=unchecked)
    )
    only_open = opened.assign(mode="open")
    with pytest.raises(BaselineError, match=r"n_plus_one/naive/authors=50 \(closed loop\)"):
        compare(baseline, only_open)
    assert {entry["mode"] for entry in baseline["entries"]} == {"closed"}  # type: ignore[attr-defined]


def test_a_run_the_baseline_covers_has_nothing_not_gated(baseline: dict[str, object]) -> None:
    assert not_gated(baseline, summary_rows(selectin_queries=51.0)) == []
    assert "not gated" not in render_text(compare(baseline, summary_rows()))
    assert "Not gated" not in render_markdown(compare(baseline, summary_rows()))


def test_check_strict_fails_on_variants_not_gated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "results" / "base", summary_rows())
    baseline_path = tmp_path / "baseline.json"
    assert cli.main(["baseline", str(base), "--output", str(baseline_path)]) == 0
    grown = write_run(tmp_path / "results" / "grown", with_new_variants(summary_rows()))
    check = ["check", "--baseline", str(baseline_path), str(grown)]
    capsys.readouterr()
    assert cli.main(check) == 0
    out = capsys.readouterr().out
    assert "not gated: n_plus_one/subquery at authors=50" in out and "2 variant(s) not gated" in out
    assert "### Not gated" in (grown / "check.md").read_text()
    assert cli.main([*check, "--strict"]) == 1
    assert "2 variant(s) not gated and --strict" in capsys.readouterr().err
    clean = write_run(tmp_path / "results" / "clean", summary_rows())
    assert cli.main(["check", "--strict", "--baseline", str(baseline_path), str(clean)]) == 0


def test_a_variant_that_is_not_equivalent_fails_the_gate_baseline_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_run(tmp_path / "results" / "base", summary_rows())
    baseline_path = tmp_path / "baseline.json"
    assert cli.main(["baseline", str(base), "--output", str(baseline_path)]) == 0
    wrong = summary_rows()
    wrong.loc[wrong["variant"] == "joined", "equivalent"] = False
    run_dir = write_run(tmp_path / "results" / "wrong", wrong)
    detail = "authors=50: differs from naive at body[3].posts: 4 items vs 3"
    (run_dir / "equivalence.json").write_text(
        json.dumps({"n_plus_one": {"joined": {"equivalent": False, "detail": detail}}})
    )
    capsys.readouterr()
    assert cli.main(["check", "--baseline", str(baseline_path), str(run_dir)]) == 1
    out = capsys.readouterr().out
    assert "n_plus_one/joined at authors=50: equivalent" in out and detail in out
    suite = ElementTree.fromstring((run_dir / "check.xml").read_text().split("?>", 1)[1])
    failures = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("classname") for case in failures] == ["n_plus_one.joined"]
    assert detail in (failures[0].findtext("failure") or "")
    # Without a baseline file (an SLO-only check), the wrong answer still fails it.
    assert (
        cli.main(["check", "--baseline", str(tmp_path / "none.json"), "--slo", str(run_dir)]) == 1
    )
    assert cli.main(["check", "--baseline", str(baseline_path), str(base)]) == 0


# Tolerances from the noise the baseline run measured, not one default.


def test_a_baseline_records_its_noise_and_a_run_without_control_keeps_the_default(
    tmp_path: Path,
) -> None:
    noisy = noisy_summary(2.0, floor=0.08)
    measured = make_baseline(write_run(tmp_path / "a", noisy), noisy)
    assert measured["speedup_tolerances"] == {"n_plus_one": pytest.approx(0.105)}
    assert measured["noise"]["floor_half_width"] == 0.08
    unmeasured = noisy_summary(2.0, floor=None)
    old_style = make_baseline(write_run(tmp_path / "b", unmeasured), unmeasured)
    assert old_style["speedup_tolerances"] == {}  # compare() falls back to the default


def test_a_20_percent_fall_is_caught_that_the_old_default_let_pass(tmp_path: Path) -> None:
    baseline = make_baseline(write_run(tmp_path / "base", noisy_summary(2.0)), noisy_summary(2.0))
    assert not regressions(baseline, noisy_summary(2.0))  # unchanged code passes
    assert regressions(baseline, noisy_summary(2.0 / 1.25))
    with_default = {**baseline, "speedup_tolerances": {"*": DEFAULT_SPEEDUP_TOLERANCE}}
    assert not regressions(with_default, noisy_summary(2.0 / 1.25))


def test_a_run_noisier_than_its_baseline_widens_the_tolerances_by_the_difference_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A gate run on a busy machine (its A/A control +/-22% against the baseline's +/-2%)
    cannot tell a 20% fall from its noise; it still sees a halving, and says why it is
    lenient."""
    base = write_run(tmp_path / "base", noisy_summary(2.0))
    baseline = make_baseline(base, noisy_summary(2.0))
    fallen, fallen_in_noise = noisy_summary(2.0 / 1.25), noisy_summary(2.0 / 1.25, floor=0.22)
    assert regressions(baseline, fallen)  # in a run as quiet as the baseline's: caught
    assert noise_widening(baseline, fallen).points == 0.0
    assert noise_widening(baseline, fallen_in_noise).points == pytest.approx(0.20)
    assert not regressions(baseline, fallen_in_noise)
    assert regressions(baseline, noisy_summary(1.0, floor=0.22))
    baseline_path = tmp_path / "baseline.json"
    write_json(baseline_path, baseline)
    run = write_run(tmp_path / "noisy", fallen_in_noise)
    assert cli.main(["check", "--baseline", str(baseline_path), str(run)]) == 0
    said = "noise floor (its A/A control) is +/-22.0%, wider than the baseline's +/-2.0%"
    assert said in capsys.readouterr().out and said in (run / "check.md").read_text()


def test_a_tolerance_recorded_below_the_machines_minimum_is_held_to_it(tmp_path: Path) -> None:
    """A baseline from a run that happened to be quiet records a tolerance below what a
    speedup moves between jobs: the check holds it to the minimum, and still sees 20%."""
    tight_summary = noisy_summary(2.0, half_width=0.01)
    made = make_baseline(write_run(tmp_path / "base", tight_summary), tight_summary)
    baseline = {**made, "speedup_tolerances": {"n_plus_one": 0.01}}
    moved = 2.0 * (1 - MIN_SPEEDUP_TOLERANCE / 2)
    assert not regressions(baseline, noisy_summary(moved, half_width=0.01))
    assert regressions(baseline, noisy_summary(2.0 / 1.25, half_width=0.01))


def test_the_control_is_never_gated_even_if_its_baseline_came_out_faster(
    tmp_path: Path,
) -> None:
    lucky = noisy_summary(2.0).assign(connections_per_request=0.0)
    lucky.loc[lucky["variant"] == "b", ["speedup_ci_low", "verdict"]] = [1.01, "faster"]
    baseline = make_baseline(write_run(tmp_path / "base", lucky), lucky)
    pool_filling = noisy_summary(2.0).assign(connections_per_request=0.0)
    pool_filling.loc[pool_filling["technique"] == CONTROL_KEY, "connections_per_request"] = 0.06
    pool_filling.loc[pool_filling["technique"] == CONTROL_KEY, "speedup_ci_high"] = 0.5
    findings = compare(baseline, pool_filling)
    assert findings and not any(finding.technique == CONTROL_KEY for finding in findings)
    assert not any(finding.regressed for finding in findings)


# Each technique's headline is guarded; baselines from before headlines still read.


def with_read_tail(summary: pd.DataFrame, selectin_speedup: float) -> pd.DataFrame:
    """The summary with a readers' p99 headline: selectin's is `selectin_speedup` x better."""
    frame = summary.copy()
    frame["headline"], frame["headline_figure"], frame["headline_kind"] = (
        "read p99",
        "p99_ms",
        "read",
    )
    frame["headline_value"] = [120.0, 120.0 / selectin_speedup, 60.0]
    frame["headline_speedup"] = [1.0, selectin_speedup, 2.0]
    frame["headline_ci_low"] = [1.0, selectin_speedup * 0.9, 1.8]
    frame["headline_ci_high"] = [1.0, selectin_speedup * 1.1, 2.2]
    frame["headline_verdict"] = ["baseline", "faster", "faster"]
    return frame


def test_a_fall_of_the_headline_fails_though_p50_held(tmp_path: Path) -> None:
    before = with_read_tail(summary_rows(), 8.0)
    baseline = make_baseline(write_run(tmp_path / "base", before), before)
    assert regressions(baseline, before) == []
    tail_lost = with_read_tail(summary_rows(), 1.0)  # p50 columns unchanged
    found = regressions(baseline, tail_lost)
    assert any("selectin" in line and "headline speedup (read p99)" in line for line in found)


def test_a_version_1_baseline_is_read_and_gated_on_p50(tmp_path: Path) -> None:
    old = make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())
    old["version"] = 1
    for entry in old["entries"]:  # type: ignore[attr-defined]
        del entry["headline"]
    path = tmp_path / "baseline.json"
    write_json(path, old)
    document = read_baseline(path)
    current = with_read_tail(summary_rows(selectin_speedup=1.2), 8.0)  # headline fine, p50 fell
    found = regressions(document, current)
    assert any("selectin" in line and "speedup_p50" in line for line in found)


def with_growth(summary: pd.DataFrame, selectin_saves: float) -> pd.DataFrame:
    """The summary with a memory growth headline: selectin saves `selectin_saves` MB per 10k
    requests on its baseline (+/-1 MB), joined 10."""
    frame = summary.copy()
    frame["headline"], frame["headline_figure"], frame["headline_kind"] = (
        "memory growth per 10k requests",
        MEMORY_GROWTH,
        "target",
    )
    frame["headline_value"] = [20.0, 20.0 - selectin_saves, 10.0]
    frame["headline_speedup"] = [0.0, selectin_saves, 10.0]
    frame["headline_ci_low"] = [0.0, selectin_saves - 1.0, 9.0]
    frame["headline_ci_high"] = [0.0, selectin_saves + 1.0, 11.0]
    frame["headline_verdict"] = ["baseline", "faster", "faster"]
    frame.loc[1, "headline_verdict"] = (
        "faster" if selectin_saves > 1.0 else "no significant difference"
    )
    return frame


def test_a_growth_headline_is_gated_on_what_it_saves(tmp_path: Path) -> None:
    before = with_growth(summary_rows(selectin_queries=51.0), 19.8)  # no cost guards it
    baseline = make_baseline(write_run(tmp_path / "base", before), before)
    assert regressions(baseline, before) == []
    leaking_again = with_growth(summary_rows(selectin_queries=51.0), -0.5)  # p50 unchanged
    found = regressions(baseline, leaking_again)
    assert any("selectin" in line and "headline saving (memory growth" in line for line in found)
    assert any("beats its baseline variant" in line and "limit 0 (" in line for line in found)


def test_a_version_2_baselines_growth_ratio_is_gated_on_p50(tmp_path: Path) -> None:
    """Version 2 recorded a growth's ratio (floored at 0.5 MB), which no run computes now."""
    old = make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())
    old["version"] = 2
    for entry in old["entries"]:  # type: ignore[attr-defined]
        speedup = entry["speedup_p50"]
        entry["headline"] = {
            "figure": MEMORY_GROWTH,
            "kind": "target",
            "label": "memory growth per 10k requests",
            "speedup": 40.0,
            "ci_low": 36.0,
            "ci_high": 44.0,
            "verdict": "baseline" if speedup == 1.0 else "faster",
        }
    current = with_growth(summary_rows(), 19.8)  # a saving of 19.8 MB is no ratio of 40
    assert regressions(old, current) == []
    p50_fell = with_growth(summary_rows(selectin_speedup=1.2), 19.8)
    assert any("selectin" in line and "speedup_p50" in line for line in regressions(old, p50_fell))


@pytest.mark.parametrize("version", [0, 4])
def test_an_unknown_baseline_version_is_refused(tmp_path: Path, version: int) -> None:
    document = make_baseline(write_run(tmp_path / "base", summary_rows()), summary_rows())
    document["version"] = version
    write_json(tmp_path / "baseline.json", document)
    with pytest.raises(Exception, match="not a pairbench baseline"):
        read_baseline(tmp_path / "baseline.json")
