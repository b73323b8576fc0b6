"""Each named check of ``validate`` (:data:`benchmark.results.validate.CHECKS`) fires on the input it is meant for.

Every case tampers with a copy of what ``run`` writes in one way and expects a problem from its check, with
its message. Tests in test_validate.py, test_result_schema_v2.py and test_reliability_table.py pin more of
the messages.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import benchmark.results.validate as validate
from benchmark.results.validate import CHECKS, Check, Problem, checks, validate_results

CE = "digits-lt/test_resnet/smoke/ce"
CE0 = f"{CE}/seed-0.json"


@pytest.fixture()
def results(smoke_results: Path, tmp_path: Path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    return root


def _edit(root: Path, change: Callable[[dict], object], where: str = CE0) -> None:
    path = root / where
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _shift_metric(name: str, by: float) -> Callable[[Path], None]:
    return lambda root: _edit(root, lambda d: d["metrics"].__setitem__(name, d["metrics"][name] + by))


def _swap_two_predictions(root: Path) -> None:
    """One correct and one wrong prediction swapped for other classes: same count, another matrix."""
    preds = root / CE0.replace(".json", ".preds.npz")
    with np.load(preds) as z:
        arrays = {k: z[k].copy() for k in z.files}
    right = int(np.flatnonzero(arrays["y_pred"] == arrays["y_true"])[0])
    arrays["y_pred"][right] = (arrays["y_pred"][right] + 1) % 10
    np.savez_compressed(preds, **arrays)


def _duplicate(root: Path) -> None:
    copy = root / "digits-lt/test_resnet/smoke/ce-copy"
    copy.mkdir()
    for name in ("seed-0.json", "seed-0.preds.npz"):
        shutil.copy(root / CE / name, copy / name)


def _drop_seed_2(root: Path) -> None:
    for suffix in (".json", ".preds.npz"):
        (root / f"{CE}/seed-2{suffix}").unlink()


def _empty(root: Path) -> None:
    shutil.rmtree(root)
    root.mkdir()


#: check name -> (tampering, expected problem as printed, exactly or as a prefix ending in "…")
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "schema": (lambda root: (root / CE0).write_text("[]"), f"{CE0}: expected a JSON object, got list"),
    "finished": (
        lambda root: _edit(root, lambda d: d.update(status="failed", error="RuntimeError: boom\n  at x")),
        f"{CE0}: status: run failed (RuntimeError: boom); re-run it before submitting",
    ),
    "metrics_defined": (
        lambda root: _edit(root, lambda d: d["metrics"].update(macro_f1="NaN")),
        f"{CE0}: metrics.macro_f1: NaN (undefined); a submitted run needs every metric",
    ),
    "tables_complete": (
        lambda root: _edit(root, lambda d: d.update(confusion_matrix=None)),
        f"{CE0}: confusion_matrix: required when status is 'ok'",
    ),
    "metrics_match_confusion": (
        _shift_metric("mcr_minor", 1.0),
        f"{CE0}: metrics.mcr_minor: …disagrees with the confusion matrix",
    ),
    "recall_matches_confusion": (
        lambda root: _edit(root, lambda d: d["per_class"]["recall"].__setitem__(0, d["per_class"]["recall"][0] + 0.5)),
        f"{CE0}: per_class.recall[0]: …for '0' disagrees with the confusion matrix",
    ),
    "predictions_file": (
        lambda root: _edit(root, lambda d: d.update(predictions_file="../seed-0.preds.npz")),
        f"{CE0}: predictions_file: '../seed-0.preds.npz' is outside the submission; …",
    ),
    "predictions_reproduce": (
        _swap_two_predictions,
        f"{CE0}: predictions_file: seed-0.preds.npz does not reproduce the confusion matrix …",
    ),
    "metrics_reproduce": (
        _shift_metric("accuracy", 0.5),
        f"{CE0}: metrics.accuracy: …disagrees with seed-0.preds.npz",
    ),
    "provenance": (
        lambda root: _edit(root, lambda d: d["provenance"].update(device=" ")),
        f"{CE0}: provenance.device: empty",
    ),
    "protocol_known": (
        lambda root: _edit(root, lambda d: d["spec"].update(protocol="fast")),
        f"{CE0}: spec.protocol: unknown protocol 'fast'; valid: …",
    ),
    "dataset_known": (
        lambda root: _edit(root, lambda d: d["spec"].update(dataset="no-such-set")),
        f"{CE0}: spec.dataset: unknown dataset 'no-such-set'; valid: …",
    ),
    "location": (
        lambda root: _edit(root, lambda d: d["spec"].update(seed=7)),
        f"{CE0}: spec: the file's path disagrees with its spec: expected {CE}/seed-7.json",
    ),
    "duplicates": (
        _duplicate,
        f"digits-lt/test_resnet/smoke/ce-copy/seed-0.json: spec: duplicate run: CE (ce) seed 0 on "
        f"digits-lt/test_resnet/smoke is also in {CE0}",
    ),
    "ranges": (
        lambda root: _edit(root, lambda d: d["metrics"].update(mcr_all=150.0)),
        f"{CE0}: metrics.mcr_all: 150.0 is outside 0..100 (a percentage)",
    ),
    "sizes": (
        lambda root: _edit(root, lambda d: d.update(description="x" * 20_000)),
        f"{CE0}: description: 20,000 characters; at most 10,000",
    ),
    "not_empty": (_empty, "…: no result files (seed-*.json) found"),
    "one_configuration": (
        lambda root: _edit(root, lambda d: d["protocol_config"].update(epochs=40), where=f"{CE}/seed-1.json"),
        f"{CE}/seed-1.json: protocol_config: differs from {CE0} in the same column "
        "(protocol: {epochs: 4 there, 40 here}): one row must be one configuration",
    ),
    "min_seeds": (_drop_seed_2, "digits-lt/test_resnet/smoke: CE: 2 seeds (0, 1); at least 3 are required"),
    "manifest_hash": (
        lambda root: _edit(root, lambda d: d.update(dataset_manifest_sha256="0" * 64)),
        f"{CE0}: dataset_manifest_sha256: 000000000000… does not match the registered construction of "
        "digits-lt at 20 px …",
    ),
    "class_counts": (
        lambda root: _edit(root, lambda d: d["per_class"]["class_names"].__setitem__(2, "two")),
        f"{CE0}: per_class.class_names: class 2 is 'two' in the result, '2' in the dataset manifest",
    ),
}


def _matches(problem: Problem, expected: str) -> bool:
    """``expected`` is the whole message, or its "…"-separated pieces in order (the first one a prefix)."""
    text, at = str(problem), 0
    pieces = expected.split("…")
    if len(pieces) == 1:
        return text == expected
    if not text.startswith(pieces[0]):
        return False
    for piece in pieces:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def test_every_check_has_a_case_a_name_and_a_description():
    names = [c.name for c in CHECKS]
    assert len(set(names)) == len(names)
    assert sorted(CASES) == sorted(names)
    for check in CHECKS:
        assert check.scope in ("file", "directory", "dataset") and check.description, check.name
        assert f"* ``{check.name}`` ({check.scope}): " in (validate.__doc__ or "")
    assert checks("file")[0].name == "schema"  # a file that is not a result is checked no further
    assert [c.scope for c in CHECKS] == sorted((c.scope for c in CHECKS), key=["file", "directory", "dataset"].index)


@pytest.mark.parametrize("name", list(CASES))
def test_check_fires_on_its_input(name: str, results: Path, cache_dir: Path):
    tamper, expected = CASES[name]
    tamper(results)
    report = validate_results(results, cache_dir=cache_dir)
    mine = [p for p in report.problems if p.check == name]
    assert any(_matches(p, expected) for p in mine), "\n".join(map(str, report.problems))
    assert not report.ok


def test_the_untouched_results_pass_every_check(results: Path, cache_dir: Path):
    report = validate_results(results, cache_dir=cache_dir)
    assert report.ok, "\n".join(map(str, report.problems))


def test_a_check_runs_alone(results: Path):
    """A :class:`Check` is usable on its own: ``run`` marks its problems with its name."""
    from benchmark.results.validate import ResultFile, Submission, ValidationReport

    _edit(results, lambda d: d["provenance"].update(started=""))
    [check] = [c for c in CHECKS if c.name == "provenance"]
    assert isinstance(check, Check)
    sub = Submission(results, results, {}, 3, ValidationReport(results), ["smoke"])
    [problem] = check.run(sub, ResultFile(results, results / CE0))
    assert (str(problem), problem.check) == (f"{CE0}: provenance.started: empty", "provenance")
