"""The results store and its readers facing corrupt, NaN-bearing or escaping files, and the user's umask."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.files import atomic_write_bytes
from benchmark.results.reader import load_results
from benchmark.results.store import read_result, write_predictions, write_result

METRICS = {"mcr_all": 80.0, "mcr_major": 85.0, "mcr_minor": 75.0}


def _synthetic_grid(root: Path, synthetic_result, **extra) -> list[Path]:
    """CE and RW, seeds 0-2, on skin7 (no predictions unless ``extra`` names them)."""
    return [
        synthetic_result(root, dataset="skin7", method=m, seed=s, metrics=dict(METRICS), **extra)
        for m in ("CE", "RW")
        for s in range(3)
    ]


def _one_error_line(err: str, *needles: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and all(n in lines[0] for n in needles), err
    return lines[0]


# 1 -- a corrupt JSON of an unrelated run -------------------------------------------------------
def test_run_summary_skips_a_corrupt_unrelated_result_and_publishers_refuse(smoke_results, cache_dir, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    bad = root / "digits-lt" / "other" / "smoke" / "ce" / "seed-0.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"spec": {"dataset": "digits-lt", "meth')  # truncated
    capsys.readouterr()
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--method",
        "CE",
        "--protocol",
        "smoke",
        "--results",
        str(root),
        "--cache-dir",
        str(cache_dir),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    assert main(argv) == 0  # its own runs are saved and summarised; the unrelated file is named and left out
    out, err = capsys.readouterr()
    assert "3 already done" in err, err
    warnings_ = [line for line in err.splitlines() if str(bad) in line]
    assert len(warnings_) == 1 and warnings_[0].startswith("warning: ") and "left out" in warnings_[0], err
    assert "CE" in out and "Traceback" not in err
    for command in (
        ["report", "--results", str(root)],
        ["check", "--results", str(root)],
        ["leaderboard", "--results", str(root), "--site", str(tmp_path / "site")],
    ):
        assert main(command) == 2, command  # publishing a table or a site from a broken directory is refused
        _one_error_line(capsys.readouterr().err, str(bad), "not a valid result file", "line 1")
    with pytest.raises(ValueError, match="not a valid result file"):
        load_results(root)
    left_out = []
    valid = load_results(root, on_invalid=left_out.append)
    assert len(valid) == len(list(root.rglob("seed-*.json"))) - 1 and [e.path for e in left_out] == [bad]


# 2 -- a truncated predictions file ------------------------------------------------------------------
def test_truncated_predictions_file_is_named(smoke_results, cache_dir, tmp_path, capsys):
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    preds = next(root.rglob("seed-1.preds.npz"))
    preds.write_bytes(preds.read_bytes()[:60])  # a zip header and nothing else: BadZipFile in numpy
    capsys.readouterr()
    assert main(["validate", str(root), "--cache-dir", str(cache_dir)]) == 1  # listed with every other problem
    out = capsys.readouterr().out
    rel = preds.relative_to(root).as_posix().replace(".preds.npz", ".json")
    assert f"{rel}: predictions_file: " in out and "seed-1.preds.npz" in out and "not a readable" in out, out
    assert main(["leaderboard", "--results", str(root), "--site", str(tmp_path / "site")]) == 2
    _one_error_line(capsys.readouterr().err, str(preds), "not a readable predictions file")
    assert not (tmp_path / "site").exists()


# 3 -- a NaN metric ------------------------------------------------------------------------------------
def test_nan_metric_round_trips_is_refused_by_validate_and_skipped_by_stats(synthetic_result, tmp_path, capsys):
    from benchmark.analysis.stats import cell_stats
    from benchmark.results.reader import results_frame

    root = tmp_path / "results"
    paths = _synthetic_grid(root, synthetic_result)
    r = read_result(paths[0])
    r.metrics.mcr_minor = float("nan")  # e.g. a group with no test image
    write_result(paths[0], r)
    json.loads(paths[0].read_text())  # still strict JSON (no bare NaN token)
    assert math.isnan(read_result(paths[0]).metrics.mcr_minor)  # round-trips instead of failing to load
    cells = cell_stats(results_frame(load_results(root)))
    ce = cells[cells["method"] == "CE"].iloc[0]
    assert ce["minor_mean"] == pytest.approx(75.0) and ce["all_mean"] == pytest.approx(80.0)  # NaN skipped
    assert main(["validate", str(root), "--manifest", "skin7=" + "a" * 64]) == 1
    out = capsys.readouterr().out
    rel = paths[0].relative_to(root).as_posix()
    assert f"{rel}: metrics.mcr_minor: NaN" in out, out
    from leaderboard import build_site

    index = build_site(root, tmp_path / "site")
    pages = [p.read_text() for p in (tmp_path / "site").rglob("*.html")]
    assert index.exists() and not [p for p in pages if re.search(r"(?i)\bnan\b", p)]  # shown as missing
    runs = json.loads((tmp_path / "site" / "results.json").read_text())["runs"]
    assert any(run["metrics"]["mcr_minor"] is None for run in runs)  # the download says missing, not NaN


# 5 -- permissions follow the umask -------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_store_files_honour_the_umask(umask, synthetic_result, tmp_path):
    old = os.umask(umask)
    try:
        path = _synthetic_grid(tmp_path / "results", synthetic_result)[0]
        write_predictions(path.with_name("seed-0.preds.npz"), np.array([0, 1]), np.array([0, 0]))
        atomic_write_bytes(tmp_path / ".stage1" / "x.pt", b"checkpoint")  # checkpoints are written this way
    finally:
        os.umask(old)
    for f in (path, path.with_name("seed-0.preds.npz"), tmp_path / ".stage1" / "x.pt"):
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f


# 6 -- a predictions file outside the submission --------------------------------------------------------
@pytest.mark.parametrize("value", ["../../etc/x.npz", "/etc/x.npz", "sub/../../../x.npz"])
def test_validate_refuses_predictions_outside_the_submission(value, smoke_results, cache_dir, tmp_path, capsys):
    root = tmp_path / "submission" / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    path = next(root.rglob("seed-0.json"))
    np.savez(tmp_path / "x.npz", y_true=np.zeros(1), y_pred=np.zeros(1))  # something to find if it looked
    data = json.loads(path.read_text())
    data["predictions_file"] = value
    path.write_text(json.dumps(data))
    assert main(["validate", str(root), "--cache-dir", str(cache_dir)]) == 1
    out = capsys.readouterr().out
    rel = path.relative_to(root).as_posix()
    assert f"{rel}: predictions_file: {value!r} is outside the submission" in out, out


# -- finished results of other settings are refused, never reused as this run's -------------------------
@pytest.mark.parametrize(
    "method,field,edit,needles",
    [
        ("ce", "hyperparameters", lambda d: d.update(scale=99.0), ["hyper-parameters", "scale: 99.0 -> now <absent>"]),
        ("ce", "protocol_config", lambda d: d.update(epochs=99), ["settings of protocol 'smoke'", "epochs: 99 -> now"]),
        (
            "ce-crw",
            "stage2_settings",
            lambda d: d.update(sampling="class_balanced"),
            ["other stage-2 settings", "sampling: 'class_balanced' -> now 'instance'"],
        ),
    ],
)
def test_finished_results_of_other_settings_are_refused(
    method, field, edit, needles, smoke_results, cache_dir, tmp_path, capsys
):
    """A result left by an earlier version of a method's defaults, of a stage-2 kind or of a protocol file (an
    upgrade, an edit) is not "already done" for today's run: the run refuses with one line naming what differs."""
    root = tmp_path / "results"
    shutil.copytree(smoke_results, root, ignore=shutil.ignore_patterns(".stage1"))
    path = root / "digits-lt" / "test_resnet" / "smoke" / method / "seed-1.json"
    data = json.loads(path.read_text())
    edit(data[field])
    path.write_text(json.dumps(data))
    argv = ["run", "--dataset", "digits-lt", "--method", method, "--protocol", "smoke", "--results", str(root)]
    argv += ["--cache-dir", str(cache_dir), "--device", "cpu", "--quiet", "--no-site"]
    capsys.readouterr()
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, str(path.parent), *needles)
    assert json.loads(path.read_text())[field] == data[field]  # nothing rewritten
