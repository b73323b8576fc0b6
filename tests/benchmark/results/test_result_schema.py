"""Schema version 2: the new metrics, the logits in the predictions file, old (version 1) results still
readable, ``report --metric`` and ``validate``'s recomputation of the new metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.metrics import evaluate_predictions, stored_logits
from benchmark.results.reader import load_results, results_frame
from benchmark.results.schema import SCHEMA_VERSION, Metrics, RunResult, metric_names, metric_specs
from benchmark.results.store import (
    ResultFileError,
    load_predictions,
    read_predictions,
    read_result,
    write_predictions,
    write_result,
)
from benchmark.results.validate import validate_results

# A result file exactly as schema version 1 wrote it: 4 classes, recalls 1, 0.5, 0.5, 0.
V1_RESULT = r"""{
 "schema_version": 1,
 "spec": {"dataset": "skin7", "method": "CE", "method_id": "ce", "backbone": "resnet50", "seed": 0,
          "protocol": "paper"},
 "status": "ok",
 "error": null,
 "description": "cross-entropy",
 "reference": "",
 "url": null,
 "hyperparameters": {},
 "two_stage": false,
 "rebalance": null,
 "metrics": {"mcr_all": 50.0, "mcr_major": 75.0, "mcr_minor": 25.0, "mcr_medium": null},
 "val_metrics": {"mcr_all": 40.0, "mcr_major": 60.0, "mcr_minor": "NaN", "mcr_medium": null},
 "per_class": {"class_names": ["a", "b", "c", "d"], "train_counts": [300, 120, 40, 12],
               "recall": [100.0, 50.0, 50.0, 0.0], "group": ["major", "major", "minor", "minor"]},
 "confusion_matrix": [[2, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [2, 0, 0, 0]],
 "predictions_file": "seed-0.preds.npz",
 "dataset_manifest_sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
 "dataset_params": null,
 "stage1_key": {"recipe": "ce"},
 "stage1_sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
 "method_source_sha256": null,
 "protocol_config": {},
 "provenance": {"package_version": "0.1.0", "git_commit": null, "torch_version": "2.3.0", "python_version": "3.11.9",
                "device": "cpu", "wall_seconds": 12.5, "started": "2024-05-01T10:00:00Z",
                "finished": "2024-05-01T10:00:12Z", "stage1_reused": false}
}
"""
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 3, 3])
Y_PRED = np.array([0, 0, 1, 0, 2, 1, 0, 0])
CE0 = Path("skin7/resnet50/paper/ce/seed-0.json")


@pytest.fixture()
def v1_dir(tmp_path) -> Path:
    root = tmp_path / "results"
    path = root / CE0
    path.parent.mkdir(parents=True)
    path.write_text(V1_RESULT)
    np.savez_compressed(
        path.with_name("seed-0.preds.npz"), y_true=Y_TRUE.astype(np.int32), y_pred=Y_PRED.astype(np.int32)
    )  # no logits, as version 1 wrote it
    return root


def _v2_result(root: Path, logits: np.ndarray | None = None) -> tuple[RunResult, np.ndarray]:
    """The version-1 run upgraded: every metric, computed from the stored (float16) logits, as ``run`` does."""
    data = json.loads(V1_RESULT)
    if logits is None:
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(8, 4))
        logits[np.arange(8), Y_PRED] += 6.0  # argmax = Y_PRED
    stored = stored_logits(logits)
    assert np.array_equal(stored.argmax(1), Y_PRED)
    m = evaluate_predictions(
        Y_TRUE,
        Y_PRED,
        4,
        {"major": [0, 1], "minor": [2, 3], "medium": None},
        logits=stored,
        train_counts=data["per_class"]["train_counts"],
    )
    data.update(schema_version=SCHEMA_VERSION, metrics={k: m[k] for k in metric_names()})
    result = RunResult.model_validate(data)
    path = root / CE0
    write_result(path, result)
    write_predictions(path.with_name("seed-0.preds.npz"), Y_TRUE, Y_PRED, stored)
    return result, stored


def _problems(root: Path, tmp_path: Path) -> list[str]:
    """validate's problems about metrics and the predictions file (skin7's manifest and the seed count
    cannot pass here and are not what these tests are about)."""
    report = validate_results(root, cache_dir=tmp_path / "cache")
    return [
        str(p) for p in report.problems if p.field and (p.field.startswith("metrics") or p.field == "predictions_file")
    ]


# -- version 1 results stay valid and readable -----------------------------------------------------------------------


def test_a_version_1_result_is_still_read(v1_dir, tmp_path, capsys):
    r = read_result(v1_dir / CE0)
    assert SCHEMA_VERSION == 2 and r.schema_version == 1
    assert r.metrics.mcr_all == 50.0 and r.metrics.accuracy is None and r.metrics.ece is None
    assert np.isnan(r.val_metrics.mcr_minor)
    frame = results_frame(load_results(v1_dir))
    assert list(frame.columns[6:-3]) == metric_names()  # every metric of the schema is a column
    assert frame.loc[0, "mcr_all"] == 50.0 and np.isnan(frame.loc[0, "accuracy"]) and np.isnan(frame.loc[0, "nll"])
    assert frame["accuracy"].dtype == np.float64
    p = load_predictions(v1_dir / CE0.with_name("seed-0.preds.npz"))
    assert p.logits is None and np.array_equal(p.y_pred, Y_PRED)
    assert _problems(v1_dir, tmp_path) == []
    assert main(["report", "--results", str(v1_dir)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split() == ["CE", "50.00", "±", "–", "75.00", "25.00"]
    assert main(["report", "--results", str(v1_dir), "--metric", "accuracy"]) == 2
    assert "schema version 2" in capsys.readouterr().err


def test_an_unknown_schema_version_is_refused(v1_dir):
    path = v1_dir / CE0
    path.write_text(V1_RESULT.replace('"schema_version": 1', '"schema_version": 3'))
    with pytest.raises(ValueError, match="schema_version"):
        read_result(path)


# -- version 2 ------------------------------------------------------------------------------------------------------


def test_a_version_2_result_round_trips_with_its_logits(tmp_path):
    root = tmp_path / "results"
    result, stored = _v2_result(root)
    back = read_result(root / CE0)
    assert back.model_dump_json() == result.model_dump_json() and back.schema_version == 2  # NaN != NaN: compare text
    assert back.metrics.accuracy == pytest.approx(50.0)  # 4 of 8 correct
    assert back.metrics.mcr_many_shot == pytest.approx(75.0)  # classes 0, 1 (> 100 training images)
    assert back.metrics.mcr_medium_shot == pytest.approx(50.0)  # class 2 (40)
    assert back.metrics.mcr_few_shot == pytest.approx(0.0)  # class 3 (12)
    assert all(getattr(back.metrics, k) is not None for k in ("macro_f1", "macro_auc", "ece", "nll"))
    p = load_predictions(root / CE0.with_name("seed-0.preds.npz"), num_classes=4)
    assert p.logits.dtype == np.float16 and np.array_equal(p.logits, stored)
    y_true, y_pred = read_predictions(root / CE0.with_name("seed-0.preds.npz"))  # the old reader still works
    assert np.array_equal(y_true, Y_TRUE) and np.array_equal(y_pred, Y_PRED)
    assert _problems(root, tmp_path) == []


def test_json_schema_documents_units_and_directions():
    specs = metric_specs()
    assert list(specs) == list(Metrics.model_fields)
    assert specs["nll"].unit == "nats" and not specs["nll"].higher_is_better
    assert specs["ece"].unit == "percent" and not specs["ece"].higher_is_better and "15" in specs["ece"].description
    lower = ("ece", "nll", "ece_calibrated", "nll_calibrated")
    assert all(s.higher_is_better == (n not in lower) for n, s in specs.items())
    assert specs["nll_calibrated"].unit == "nats" and specs["ece_calibrated"].unit == "percent"
    assert all(s.description for s in specs.values())


@pytest.mark.parametrize(
    "bad,problem",
    [
        (np.zeros(8, np.float16), r"float16 array of shape \(8,\)"),
        (np.zeros((8, 3), np.float16), r"shape \(8, 3\); expected a float array of shape \(8, 4\)"),
        (np.zeros((7, 4), np.float16), r"shape \(7, 4\); expected"),
        (np.zeros((8, 4), np.int32), "int32 array"),
    ],
)
def test_malformed_logits_are_refused_naming_the_file(tmp_path, bad, problem):
    root = tmp_path / "results"
    _v2_result(root)
    preds = root / CE0.with_name("seed-0.preds.npz")
    np.savez_compressed(preds, y_true=Y_TRUE.astype(np.int32), y_pred=Y_PRED.astype(np.int32), logits=bad)
    with pytest.raises(ResultFileError, match=problem) as e:
        load_predictions(preds, num_classes=4)
    assert str(e.value).startswith(f"{preds}: logits:")
    assert any("predictions_file: seed-0.preds.npz: logits:" in p for p in _problems(root, tmp_path))


def test_validate_recomputes_the_new_metrics(tmp_path):
    root = tmp_path / "results"
    _v2_result(root)
    path = root / CE0
    original = path.read_text()

    def tampered(**change: float) -> list[str]:
        data = json.loads(original)
        for name, delta in change.items():
            data["metrics"][name] += delta
        path.write_text(json.dumps(data))
        return _problems(root, tmp_path)

    for name in ("accuracy", "macro_f1", "mcr_many_shot", "mcr_medium_shot", "mcr_few_shot"):
        problems = tampered(**{name: 1e-5})
        assert (
            len(problems) == 1
            and f"metrics.{name}:" in problems[0]
            and "disagrees with seed-0.preds.npz" in problems[0]
        )
    for name in ("macro_auc", "ece", "nll"):
        problems = tampered(**{name: 1e-5})
        assert len(problems) == 1 and f"metrics.{name}:" in problems[0]
        assert "disagrees with the logits in seed-0.preds.npz" in problems[0]
    assert tampered(ece=5e-7) == []  # within the tolerance of 1e-6
    path.write_text(original)
    # other logits than those the metrics came from (rows in reverse order)
    _, stored = _v2_result(root)
    np.savez_compressed(
        path.with_name("seed-0.preds.npz"),
        y_true=Y_TRUE.astype(np.int32),
        y_pred=Y_PRED.astype(np.int32),
        logits=stored[::-1],
    )
    problems = _problems(root, tmp_path)
    assert {p.split(": ")[1] for p in problems} == {"metrics.macro_auc", "metrics.ece", "metrics.nll"}
    # metrics that need logits, with a predictions file that has none: they cannot be checked
    np.savez_compressed(
        path.with_name("seed-0.preds.npz"), y_true=Y_TRUE.astype(np.int32), y_pred=Y_PRED.astype(np.int32)
    )
    problems = _problems(root, tmp_path)
    assert len(problems) == 3 and all("cannot be checked: seed-0.preds.npz holds no logits" in p for p in problems)


# -- report --metric ----------------------------------------------------------------------------------------------


def _metrics(all_: float, **extra: float) -> dict:
    return {"mcr_all": all_, "mcr_major": all_, "mcr_minor": all_, **extra}


@pytest.fixture()
def v2_synthetic(tmp_path, synthetic_result) -> Path:
    root = tmp_path / "results"
    rows = {"CE": (80.0, 3.0, 0.9), "Focal": (82.0, 1.0, 0.7), "CE→cRW": (81.0, 2.0, 0.5)}  # all, ece, nll
    for method, (a, ece, nll) in rows.items():
        for seed, delta in enumerate((-0.5, 0.0, 0.5)):
            synthetic_result(
                root,
                dataset="skin7",
                method=method,
                seed=seed,
                metrics=_metrics(a, accuracy=a + 5 + delta, ece=ece + delta, nll=nll),
            )
    return root


def test_report_metric_shows_any_schema_metric(v2_synthetic, capsys):
    assert main(["report", "--results", str(v2_synthetic), "--metric", "accuracy"]) == 0
    text = capsys.readouterr().out
    assert "accuracy, %, mean over seeds" in text and "skin7 accuracy" in text
    assert "87.00 ± 0.50 *" in text and "86.00 ± 0.50 _" in text  # Focal best, CE→cRW second
    assert main(["report", "--results", str(v2_synthetic), "--metric", "ece", "--format", "csv"]) == 0
    rows = {r.split(",")[2]: r.split(",")[3:] for r in capsys.readouterr().out.splitlines()[1:]}
    assert rows["Focal"] == ["1.0000", "0.5000"]  # mean, std
    assert main(["report", "--results", str(v2_synthetic), "--metric", "ece", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "lower is better" in md and "**1.00 ± 0.50**" in md and "<u>2.00 ± 0.50</u>" in md  # lowest ECE best
    assert main(["report", "--results", str(v2_synthetic), "--metric", "nll", "--table", "4"]) == 0
    assert "nll, nats, lower is better" in capsys.readouterr().out
    assert main(["report", "--results", str(v2_synthetic)]) == 0  # the default headline is still MCR
    assert capsys.readouterr().out.splitlines()[1].split() == [
        "Method",
        "skin7",
        "All",
        "skin7",
        "Major",
        "skin7",
        "Minor",
    ]


def test_report_metric_unknown_name_lists_the_valid_ones(v2_synthetic, capsys):
    assert main(["report", "--results", str(v2_synthetic), "--metric", "f1"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'f1'; valid: " + ", ".join(metric_names()) in err


def test_report_metric_needs_every_seed_of_a_cell(v2_synthetic, synthetic_result, capsys):
    synthetic_result(v2_synthetic, dataset="skin7", method="RW", seed=0, metrics=_metrics(70.0, accuracy=71.0))
    synthetic_result(v2_synthetic, dataset="skin7", method="RW", seed=1, metrics=_metrics(70.0))  # a v1-like run
    assert main(["report", "--results", str(v2_synthetic), "--metric", "accuracy", "--format", "csv"]) == 0
    rows = {r.split(",")[2]: r.split(",")[3:] for r in capsys.readouterr().out.splitlines()[1:]}
    assert rows["RW"] == ["", ""]


# -- what run writes ------------------------------------------------------------------------------------------------


def test_run_writes_logits_and_every_metric(smoke_results):
    path = smoke_results / "digits-lt/test_resnet/smoke/ce-crw/seed-1.json"
    r = read_result(path)
    assert r.schema_version == 2
    p = load_predictions(path.with_name("seed-1.preds.npz"), num_classes=10)
    assert p.logits is not None and p.logits.dtype == np.float16 and p.logits.shape == (len(p.y_true), 10)
    assert np.mean(p.logits.argmax(1) == p.y_pred) > 0.95  # float16 rounding may only flip near-ties
    recomputed = evaluate_predictions(
        p.y_true,
        p.y_pred,
        10,
        {"major": [0, 1, 2], "minor": [7, 8, 9], "medium": None},
        logits=p.logits,
        train_counts=r.per_class.train_counts,
        temperature=r.calibration_temperature,  # fitted on the validation logits, recorded in the result
    )
    assert r.calibration_temperature is not None
    for name in metric_names():
        got = getattr(r.metrics, name)
        if name in ("mcr_medium", "mcr_many_shot"):  # digits-lt: no medium group, no class above 100 images
            assert got is None
            continue
        assert got == recomputed[name], name  # the same computation on the same stored logits
    assert r.val_metrics is not None and r.val_metrics.nll is not None and r.val_metrics.accuracy is not None
