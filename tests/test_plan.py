"""What each profile measures: defaults always, sweeps probed (quick, standard) or loaded
(`--sweep load`)."""

import dataclasses

from bench_app.payment_uploads import payments_csv
from bench_app.techniques import all_techniques
from pairbench.plan import manifest_points, plan_points
from pairbench.profiles import PROFILES, SWEEP_LOAD


def test_smoke_measures_defaults_only() -> None:
    points = plan_points([all_techniques()["n_plus_one"]], PROFILES["smoke"])
    assert [point.label for point in points] == ["authors=50"]


def test_quick_and_standard_probe_the_sweep_and_sweep_load_loads_it() -> None:
    technique = all_techniques()["n_plus_one"]
    quick = plan_points([technique], PROFILES["quick"])
    assert [(point.label, point.swept, point.loaded) for point in quick] == [
        ("authors=50", None, True),
        ("authors=10", "authors", False),
        ("authors=100", "authors", False),
        ("authors=1000", "authors", False),
    ]
    standard = plan_points([technique], PROFILES["standard"])
    assert [point.loaded for point in standard] == [True, False, False, False]
    loaded = dataclasses.replace(PROFILES["standard"], sweep=SWEEP_LOAD)
    assert all(point.loaded for point in plan_points([technique], loaded))


def test_the_manifest_keeps_labels_params_and_what_each_point_sweeps() -> None:
    points = plan_points([all_techniques()["n_plus_one"]], PROFILES["quick"])
    recorded = manifest_points([points[0], points[1].with_params({"cursor": 7})])
    assert recorded == {
        "n_plus_one": [
            {"label": "authors=50", "params": {"authors": 50}, "swept": None, "loaded": True},
            {
                "label": "authors=10",  # run-time params keep the planned label
                "params": {"authors": 10, "cursor": 7},
                "swept": "authors",
                "loaded": False,
            },
        ]
    }


def test_a_sweep_of_sizes_the_harness_makes_grows_with_the_profiles_scale() -> None:
    technique = all_techniques()["csv_import"]  # rows: the size of the upload it is sent
    assert technique.sweep_scales
    quick, standard = (
        {point.label: point.loaded for point in plan_points([technique], PROFILES[name])}
        for name in ("quick", "standard")
    )
    assert quick == {"rows=10000": True, "rows=1000": False, "rows=120000": False}
    assert standard == {"rows=10000": True, "rows=100000": False, "rows=1200000": False}
    assert 95e6 < len(payments_csv(12_000)) * 100 < 110e6  # the largest: about 100 MB


def test_a_sweep_from_named_starts_plans_each_start_and_the_manifest_names_them() -> None:
    technique = all_techniques()["queue_concurrency"]
    points = plan_points([technique], PROFILES["quick"])
    default, swept = points[0], points[1:]
    assert default.swept is None and default.params == dict(technique.params)
    starts = {point.series for point in swept}
    assert starts == set(technique.sweep_from) and len(swept) == 2 * 6
    for point in swept:
        assert point.params == {
            **technique.params,
            **technique.sweep_from[str(point.series)],
            "concurrency": point.params["concurrency"],
        }
    entries = manifest_points(points)["queue_concurrency"]
    assert "series" not in entries[0] and "work_unit" not in entries[0]
    assert {(entry["series"], entry["work_unit"]) for entry in entries[1:]} == {
        (start, "jobs") for start in technique.sweep_from
    }
    assert [point.label for point in plan_points([technique], PROFILES["smoke"])] == [default.label]
