"""The run manifest: one typed record, read by field, old runs converted, nothing lost."""

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

from pairbench import results
from pairbench.manifest import LEGACY_KEYS, Manifest, Rounds
from tests.synthetic_run import write_run

PACKAGE = Path(__file__).resolve().parents[1] / "pairbench"
POINTS = {
    "n_plus_one": [
        {"label": "authors=10", "params": {"authors": 10}, "swept": "authors", "loaded": False},
        {"label": "authors=50", "params": {"authors": 50}, "swept": None, "loaded": True},
    ]
}


def test_a_manifest_reads_back_as_it_was_written(tmp_path: Path) -> None:
    written = Manifest(
        run_id="run-1",
        profile="quick",
        techniques=["n_plus_one"],
        users=4,
        rounds=Rounds(round_s=0.75, min_rounds=3, max_rounds=10),
        points=POINTS,
        stages={"load": 12.5},
        slos={"p95_ms": 200.0, "error_rate": None},
    )
    tmp_path.joinpath("run-1").mkdir()
    results.write_manifest(tmp_path / "run-1", written)
    assert results.read_manifest(tmp_path / "run-1") == written
    document = json.loads((tmp_path / "run-1" / results.MANIFEST).read_text())
    assert document["rounds"]["min_rounds"] == 3 and document["profile"] == "quick"
    assert "unknown" not in document


def test_an_old_manifests_legacy_keys_become_todays_fields(tmp_path: Path) -> None:
    """The synthetic run's manifest is of the older shape: repetitions, duration_s, warmup_s."""
    write_run(tmp_path / "old", stats=False)
    document = json.loads((tmp_path / "old" / results.MANIFEST).read_text())
    assert {"repetitions", "duration_s", "warmup_s"} <= set(document)
    manifest = results.read_manifest(tmp_path / "old")
    assert manifest.rounds == Rounds(
        round_s=document["duration_s"],
        warmup_max_s=document["warmup_s"],
        min_rounds=document["repetitions"],
    )
    assert not set(LEGACY_KEYS) & set(manifest.to_json()) and not manifest.unknown


def test_keys_a_newer_pairbench_wrote_are_kept_through_a_rewrite(tmp_path: Path) -> None:
    run_dir = tmp_path / "newer"
    run_dir.mkdir()
    newer = {"run_id": "newer", "profile": "quick", "noise_floor": {"ci_half_width": 0.02}}
    (run_dir / results.MANIFEST).write_text(json.dumps(newer))
    results.record_stage_time(run_dir, "report", 1.234)
    document = json.loads((run_dir / results.MANIFEST).read_text())
    assert document["noise_floor"] == {"ci_half_width": 0.02}
    assert document["stages"] == {"report": 1.23} and document["profile"] == "quick"


def test_a_manifest_of_nothing_but_its_run_id_reads_with_every_default() -> None:
    """Every field but run_id has a default, so a field added later reads from older runs."""
    manifest = Manifest.from_json({"run_id": "bare"})
    assert manifest == Manifest(run_id="bare")
    assert [item.name for item in fields(Manifest) if item.name != "run_id"]


def test_a_manifest_that_is_no_manifest_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / results.MANIFEST).write_text(json.dumps({"profile": "quick"}))
    with pytest.raises(results.ResultsError, match="manifest.json has no run_id"):
        results.read_manifest(tmp_path)
    (tmp_path / results.MANIFEST).write_text(json.dumps({"run_id": "x", "techniques": "a,b"}))
    with pytest.raises(results.ResultsError, match="techniques should be a JSON array"):
        results.read_manifest(tmp_path)


def test_the_default_point_is_the_planned_point_not_swept() -> None:
    manifest = Manifest(run_id="run", points=POINTS)
    assert manifest.default_point("n_plus_one") == "authors=50"
    assert manifest.default_point("projection") is None
    assert manifest.default_points() == {"n_plus_one": "authors=50"}


def test_the_manifest_file_is_written_in_one_place() -> None:
    """Only results.write_manifest writes manifest.json; everyone else passes a Manifest."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "results.py":
            continue
        names = {
            node.attr if isinstance(node, ast.Attribute) else node.id
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute | ast.Name)
        }
        assert "MANIFEST" not in names, f"{path.name} names the manifest's file"
