"""``validate``: accepts what ``run`` writes; rejects each problem with a precise message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.results.validate import validate_results


@pytest.fixture()
def results(smoke_results, tmp_path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    return root


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _validate(root: Path, cache_dir: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["validate", str(root), "--cache-dir", str(cache_dir), *extra])
    return code, capsys.readouterr().out


CE0 = "digits-lt/test_resnet/smoke/ce/seed-0.json"


def test_accepts_what_run_writes(results, cache_dir, capsys):
    code, out = _validate(results, cache_dir, capsys)
    assert code == 0, out
    assert len(out.strip().splitlines()) == 1
    assert out.startswith("OK: 9 result files, 3 cells") and "manifests verified: digits-lt at 20 px" in out
    assert "class counts verified: digits-lt at 20 px" in out and "not checked" not in out


def test_rejects_a_missing_field(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d.pop("stage1_sha256"))
    _edit(results / CE0.replace("ce/", "rw/"), lambda d: d["provenance"].pop("torch_version"))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert f"{CE0}: stage1_sha256: required field is missing" in out
    assert "rw/seed-0.json: provenance.torch_version: required field is missing" in out


def test_rejects_a_wrong_type(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d["spec"].update(seed="zero"))
    _edit(results / CE0.replace("seed-0", "seed-1"), lambda d: d["metrics"].update(mcr_all=[1]))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert f"{CE0}: spec.seed: Input should be a valid integer" in out and "(got 'zero')" in out
    assert "ce/seed-1.json: metrics.mcr_all: Input should be a valid number" in out


def test_rejects_two_seeds(results, cache_dir, capsys):
    for suffix in (".json", ".preds.npz"):
        (results / CE0.replace("seed-0.json", f"seed-2{suffix}")).unlink()
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert "digits-lt/test_resnet/smoke: CE: 2 seeds (0, 1); at least 3 are required" in out
    assert "CE→cRW" not in out  # the other cells are complete


def test_rejects_an_unknown_protocol(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d["spec"].update(protocol="fast"))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert f"{CE0}: spec.protocol: unknown protocol 'fast'; valid: authors, paper, quick, smoke" in out
    assert (
        f"{CE0}: spec: the file's path disagrees with its spec: expected digits-lt/test_resnet/fast/ce/seed-0.json"
        in out
    )


def test_rejects_a_manifest_hash_mismatch(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d.update(dataset_manifest_sha256="0" * 64))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    lines = [line for line in out.splitlines() if "dataset_manifest_sha256" in line]
    assert len(lines) == 1
    assert (
        lines[0]
        .strip()
        .startswith(
            f"{CE0}: dataset_manifest_sha256: 000000000000… does not match the registered "
            "construction of digits-lt at 20 px (expected "
        )
    )


def test_rejects_a_duplicate_run(results, cache_dir, capsys):
    copy = results / "digits-lt/test_resnet/smoke/ce-copy/seed-0.json"
    copy.parent.mkdir()
    shutil.copy(results / CE0, copy)
    shutil.copy(results / CE0.replace(".json", ".preds.npz"), copy.parent)
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert (
        f"digits-lt/test_resnet/smoke/ce-copy/seed-0.json: spec: duplicate run: CE (ce) seed 0 on "
        f"digits-lt/test_resnet/smoke is also in {CE0}"
    ) in out


def test_rejects_failed_runs_tampered_metrics_and_missing_predictions(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d["metrics"].update(mcr_all=99.0))
    (results / CE0.replace("seed-0.json", "seed-1.preds.npz")).unlink()
    _edit(results / CE0.replace("ce/", "rw/"), lambda d: d.update(status="failed", error="RuntimeError: boom\n  at x"))
    (results / "digits-lt/test_resnet/smoke/ce-crw/seed-0.json").write_text("{not json")
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert f"{CE0}: metrics.mcr_all: 99.0 disagrees with the confusion matrix" in out
    assert "ce/seed-1.json: predictions_file: seed-1.preds.npz not found next to the result file" in out
    assert "rw/seed-0.json: status: run failed (RuntimeError: boom)" in out
    assert (
        "ce-crw/seed-0.json: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"
        in out
    )


def test_unverifiable_manifest_needs_manifest_option(tmp_path, cache_dir, synthetic_result):
    for seed in range(3):
        synthetic_result(
            tmp_path,
            dataset="skin7",
            method="CE",
            seed=seed,
            protocol="paper",
            metrics={"mcr_all": 50.0, "mcr_major": 50.0, "mcr_minor": 50.0},
        )
    for p in tmp_path.rglob("seed-*.json"):  # synthetic files carry no predictions; this test is about manifests
        _edit(p, lambda d: d.update(predictions_file=None))
    report = validate_results(tmp_path, cache_dir=cache_dir)
    messages = [str(p) for p in report.problems if p.field == "dataset_manifest_sha256"]
    assert messages == [
        f"skin7: dataset_manifest_sha256: cannot verify the manifest hash at 300 px (aaaaaaaaaaaa): "
        f"pass --manifest skin7=SHA256 or prepare skin7 into --cache-dir {cache_dir}"
    ]
    report = validate_results(tmp_path, cache_dir=cache_dir, manifests={"skin7": "a" * 64})
    assert not [p for p in report.problems if p.field == "dataset_manifest_sha256"]
    # no manifest here: the counts cannot be checked, and the report says so and why
    assert report.notes == [
        f"class counts of skin7 at 300 px not checked: no dataset manifest here (not prepared in {cache_dir})"
    ]
    assert report.notes[0] in report.summary() and not report.verified_counts
    report = validate_results(tmp_path, cache_dir=cache_dir, manifests={"skin7": "c" * 64})
    assert any("does not match the registered construction of skin7 at 300 px" in str(p) for p in report.problems)


def test_empty_directory_is_a_problem(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 1
    assert "no result files (seed-*.json) found" in capsys.readouterr().out


def test_rejects_evidence_that_contradicts_the_table(results, cache_dir, capsys):
    """A predictions file that does not reproduce the confusion matrix, a per-class recall off the
    matrix, an MCR off by 1e-5: each is named."""
    import numpy as np

    preds = results / CE0.replace(".json", ".preds.npz")
    with np.load(preds) as z:
        y_true, y_pred = z["y_true"].copy(), z["y_pred"].copy()
    wrong = int(np.flatnonzero(y_pred == y_true)[0])
    y_pred[wrong] = (y_pred[wrong] + 1) % 10  # one correct prediction made wrong: same count, other matrix
    np.savez_compressed(preds, y_true=y_true, y_pred=y_pred)
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1 and f"{CE0}: predictions_file: seed-0.preds.npz does not reproduce the confusion matrix" in out
    np.savez_compressed(preds, y_true=y_true, y_pred=np.where(np.arange(len(y_pred)) == wrong, y_true, y_pred))
    ce1 = results / CE0.replace("seed-0", "seed-1")
    _edit(ce1, lambda d: d["per_class"]["recall"].__setitem__(0, d["per_class"]["recall"][0] + 0.5))
    _edit(results / CE0, lambda d: d["metrics"].__setitem__("mcr_all", d["metrics"]["mcr_all"] + 1e-5))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert "ce/seed-1.json: per_class.recall[0]:" in out and "disagrees with the confusion matrix" in out
    assert f"{CE0}: metrics.mcr_all:" in out and "does not reproduce" not in out


def test_rejects_train_counts_that_differ_from_the_dataset_manifest(results, cache_dir, capsys):
    before = json.loads((results / CE0).read_text())["per_class"]["train_counts"][3]
    _edit(results / CE0, lambda d: d["per_class"]["train_counts"].__setitem__(3, before + 2))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    lines = [line.strip() for line in out.splitlines() if "dataset manifest" in line]
    assert lines == [
        (f"{CE0}: per_class.train_counts: class 3 '3' has {before + 2} in the result, {before} in the dataset manifest")
    ]


def _add_one_test_image(data: dict, path: Path, cls: int) -> None:
    """One more correctly classified test image of ``cls``, in the predictions file (with a logits row
    predicting it) and in the confusion matrix; the recall and every metric the result has are recomputed
    from the new file as ``run`` would, so only the test count disagrees with the dataset."""
    import numpy as np

    from benchmark.metrics import evaluate_predictions

    preds = path.with_name(data["predictions_file"])
    with np.load(preds) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["y_true"] = np.append(arrays["y_true"], cls).astype(arrays["y_true"].dtype)
    arrays["y_pred"] = np.append(arrays["y_pred"], cls).astype(arrays["y_pred"].dtype)
    if "logits" in arrays:
        row = np.zeros((1, arrays["logits"].shape[1]), dtype=arrays["logits"].dtype)
        row[0, cls] = 8.0
        arrays["logits"] = np.vstack([arrays["logits"], row])
    np.savez_compressed(preds, **arrays)
    per_class = data["per_class"]
    groups = {g: [i for i, x in enumerate(per_class["group"]) if x == g] or None for g in ("major", "medium", "minor")}
    metrics = evaluate_predictions(
        arrays["y_true"],
        arrays["y_pred"],
        len(per_class["class_names"]),
        groups,
        logits=arrays.get("logits"),
        train_counts=per_class["train_counts"],
        temperature=data.get("calibration_temperature"),
    )
    data["confusion_matrix"] = np.asarray(metrics["confusion_matrix"]).tolist()
    per_class["recall"] = [float(x) for x in metrics["recall"]]
    data["metrics"].update({k: metrics[k] for k in data["metrics"] if metrics.get(k) is not None})


def test_rejects_a_confusion_matrix_row_that_differs_from_the_test_counts(results, cache_dir, capsys):
    path = results / CE0
    before = sum(json.loads(path.read_text())["confusion_matrix"][5])
    _edit(path, lambda d: _add_one_test_image(d, path, 5))
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    problems = [line.strip() for line in out.splitlines()[1:]]
    # the tampering is otherwise consistent: nothing else fails
    assert problems == [
        (
            f"{CE0}: confusion_matrix: class 5 '5' has {before + 1} test images (row sum) in the "
            f"result, {before} in the dataset manifest"
        )
    ]


def test_rejects_class_names_that_differ_from_the_dataset_manifest(results, cache_dir, capsys):
    _edit(results / CE0, lambda d: d["per_class"]["class_names"].__setitem__(2, "two"))
    _edit(
        results / CE0.replace("ce/", "rw/"),
        lambda d: [d["per_class"][k].pop() for k in ("class_names", "train_counts", "recall", "group")],
    )
    code, out = _validate(results, cache_dir, capsys)
    assert code == 1
    assert f"{CE0}: per_class.class_names: class 2 is 'two' in the result, '2' in the dataset manifest" in out
    assert "rw/seed-0.json: per_class.class_names: 9 classes in the result, 10 in the dataset manifest" in out


def test_count_problems_against_the_shipped_bloodcell_manifest():
    """The shipped default dataset's manifest (datasets/data/bloodcell_lt.json) is always available."""
    from benchmark.results.validate import RunCounts, count_problems
    from datasets.embedded import EMBEDDED_DIR, read_manifest

    manifest = read_manifest(EMBEDDED_DIR / "bloodcell_lt.json")
    names, train, test = (manifest["class_names"], manifest["split_counts"]["train"], manifest["split_counts"]["test"])
    assert count_problems(RunCounts("r.json", "x", names, train, test), manifest) == []
    fewer = list(train)
    fewer[5] -= 2
    [problem] = count_problems(RunCounts("r.json", "x", names, fewer, test), manifest)
    assert str(problem) == (
        f"r.json: per_class.train_counts: class 5 'monocyte' has {train[5] - 2} in the result, "
        f"{train[5]} in the dataset manifest"
    )
