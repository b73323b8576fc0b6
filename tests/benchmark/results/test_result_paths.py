"""A result's path is built from its spec: a component that is not one safe folder name is refused."""

from __future__ import annotations

import pytest

from benchmark.files import path_component_problem
from benchmark.results.schema import RunSpec
from benchmark.results.store import result_path

GOOD = dict(dataset="digits-lt", method="CE", method_id="ce", backbone="test_resnet", seed=0, protocol="smoke")


@pytest.mark.parametrize(
    "field,value",
    [
        ("method_id", ".."),
        ("method_id", "."),
        ("method_id", ""),
        ("method_id", "a/b"),
        ("method_id", "../../x"),
        ("method_id", "a\\b"),
        ("method_id", "a\0b"),
        ("method_id", ".stage1"),
        ("protocol", ".."),
        ("protocol", ""),
        ("protocol", "a/b"),
        ("protocol", "x\nnew"),
        ("dataset", ".."),
        ("dataset", ""),
        ("backbone", "../x"),
        ("backbone", "."),
    ],
)
def test_unsafe_component_is_refused(field, value, tmp_path):
    with pytest.raises(ValueError, match="one folder name"):
        result_path(tmp_path, RunSpec(**{**GOOD, field: value}))
    assert not any(tmp_path.iterdir())


def test_names_of_outside_things_keep_their_layout(tmp_path):
    """Dataset flags and timm hub names carry ':' and '/' by design; they map to '_' as before."""
    spec = RunSpec(**{**GOOD, "dataset": "medmnist-lt:bloodmnist", "backbone": "hf-hub:timm/resnet18"})
    assert result_path(tmp_path, spec) == (
        tmp_path / "medmnist-lt_bloodmnist" / "hf-hub_timm_resnet18" / "smoke" / "ce" / "seed-0.json"
    )
    assert result_path(tmp_path, RunSpec(**{**GOOD, "method_id": "ce+sc-crw"})).parent.name == "ce+sc-crw"


@pytest.mark.parametrize(
    "name,ok", [("smoke", True), ("my protocol v2", True), ("..", False), ("a/b", False), ("a\tb", False), ("", False)]
)
def test_path_component_problem(name, ok):
    assert (path_component_problem(name) is None) == ok


def test_validate_reports_a_submitted_spec_with_a_path_name(tmp_path, synthetic_result):
    """A submission whose spec says method_id '..' is a problem validate reports, not a crash."""
    import json

    from benchmark.results.validate import validate_results

    metrics = dict(mcr_all=50.0, mcr_major=60.0, mcr_minor=40.0)
    path = synthetic_result(
        tmp_path,
        dataset="synthetic-set",
        method="CE",
        seed=0,
        metrics=metrics,
        backbone="test_resnet",
        protocol="smoke",
    )
    data = json.loads(path.read_text())
    data["spec"]["method_id"] = ".."
    path.write_text(json.dumps(data))
    report = validate_results(tmp_path, cache_dir=tmp_path / "cache")
    assert any("'..'" in p.message and "one folder name" in p.message for p in report.problems)


@pytest.mark.parametrize("bad_id", ["..", ".", "a/b", "a\\b", "", "x:y", ".hidden", "a b"])
def test_register_method_refuses_an_id_that_is_not_a_folder_name(bad_id):
    from methods import Method, method_entries, register_method

    before = len(method_entries())
    cls = type("Bad", (Method,), {"name": "Bad name", "id": bad_id, "__module__": __name__})
    with pytest.raises(ValueError):
        register_method(cls)
    assert len(method_entries()) == before
