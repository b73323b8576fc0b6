"""A real builder end to end: PathMNIST-LT from an official-format npz through `run --raw-root`."""

from __future__ import annotations

import json

from benchmark.cli import main
from tests.datasets.fake_raw import write_medmnist


def test_run_pathmnist_lt_from_official_npz(tmp_path, capsys):
    # 100 official training images per class; PathMNIST-LT keeps min(n_i, 100) of class order[i]
    write_medmnist(tmp_path / "raw", "pathmnist", [100] * 9, [5] * 9, [6] * 9)
    argv = [
        "run",
        "--dataset",
        "pathmnist-lt",
        "--method",
        "CE",
        "--method",
        "ce-crw",
        "--seeds",
        "0",
        "--protocol",
        "smoke",
        "--raw-root",
        str(tmp_path / "raw"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--results",
        str(tmp_path / "results"),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    assert main(argv) == 0
    assert "pathmnist-lt All" in capsys.readouterr().out
    result = json.loads((tmp_path / "results/pathmnist-lt/test_resnet/smoke/ce-crw/seed-0.json").read_text())
    assert result["status"] == "ok" and len(result["per_class"]["class_names"]) == 9
    # long-tailed train in the first author's order: adipose, background, debris, ADE (label 8), ...
    counts = result["per_class"]["train_counts"]
    assert [counts[c] for c in (0, 1, 2, 8, 4, 6, 7, 5, 3)] == [100, 100, 100, 100, 100, 100, 100, 100, 94]
    assert sum(sum(row) for row in result["confusion_matrix"]) == 54  # the official test split, unchanged
    # the prepared folder is reused: a second dataset load needs no raw files
    (tmp_path / "raw" / "pathmnist.npz").unlink()
    assert main(_with_method(argv, "RW")) == 0


def _with_method(argv: list[str], method: str) -> list[str]:
    """``argv`` with its --method options replaced by one."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--method":
            next(it)
            continue
        out.append(a)
    return out + ["--method", method]


def test_run_without_raw_files_says_what_to_download(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--dataset",
                "pathmnist-lt",
                "--method",
                "CE",
                "--raw-root",
                str(tmp_path),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--results",
                str(tmp_path / "r"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pathmnist.npz not found" in err and "zenodo" in err
