"""Prepared data is what it claims to be: built from the raw files given now, consistent with its card and
its manifest (checked on every load, and in full by `datasets verify`), and `run -p` uses the `prepare -p` data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import datasets
from benchmark.cli import main
from benchmark.results.store import read_result
from datasets import DatasetError, PreparedDataset, create_builder
from datasets.card import count_mismatch
from tests.datasets.fake_raw import SKIN7_CLASSES, write_medmnist

BLOOD = [30, 27, 23, 20, 17, 15, 13, 11]  # 8 BloodMNIST classes, each above the rho-3 profile 30 ... 10


def blood_raw(root: Path, train=BLOOD) -> Path:
    return write_medmnist(root, "bloodmnist", train, [2] * 8, [3] * 8)


# -- 2. another raw file than the one the prepared folder came from ------------------------------
def test_switching_raw_file_is_refused(tmp_path):
    builder = create_builder("medmnist-lt:bloodmnist", rho=3)
    blood_raw(tmp_path / "a")
    first = builder.load(tmp_path / "cache", size=8, raw_root=tmp_path / "a", progress=False)
    blood_raw(tmp_path / "b", train=[b + 1 for b in BLOOD])  # another official-looking file
    with pytest.raises(DatasetError) as e:
        builder.load(tmp_path / "cache", size=8, raw_root=tmp_path / "b", progress=False)
    msg = str(e.value)
    assert "\n" not in msg and str(first.root) in msg and str(tmp_path / "b" / "bloodmnist.npz") in msg
    assert "datasets prepare medmnist-lt:bloodmnist --raw" in msg and "-p rho=3" in msg and "delete" in msg
    # the same bytes elsewhere (another mtime: hashed, equal) and a root without the file load as before
    shutil.copy(tmp_path / "a" / "bloodmnist.npz", tmp_path / "c.npz")
    (tmp_path / "c").mkdir()
    os.replace(tmp_path / "c.npz", tmp_path / "c" / "bloodmnist.npz")
    assert builder.load(tmp_path / "cache", size=8, raw_root=tmp_path / "c", progress=False).root == first.root
    (tmp_path / "empty").mkdir()
    assert builder.load(tmp_path / "cache", size=8, raw_root=tmp_path / "empty", progress=False).root == first.root


def test_run_with_another_raw_root_is_refused(tmp_path, capsys):
    blood_raw(tmp_path / "a")
    blood_raw(tmp_path / "b", train=[b + 1 for b in BLOOD])
    argv = [
        "run",
        "--dataset",
        "medmnist-lt:bloodmnist",
        "-p",
        "rho=3",
        "--method",
        "CE",
        "--seeds",
        "0",
        "--protocol",
        "smoke",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--results",
        str(tmp_path / "results"),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    assert main(argv + ["--raw-root", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main(argv + ["--raw-root", str(tmp_path / "b")]) == 2  # finished results, other raw file: not "done"
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was prepared from another bloodmnist.npz" in err


# -- 3. prepared data that contradicts its card ---------------------------------------------------
def test_class_without_training_image_is_refused(tmp_path):
    blood_raw(tmp_path / "raw", train=[30, 27, 23, 20, 0, 15, 13, 11])
    with pytest.raises(DatasetError) as e:
        create_builder("medmnist-lt:bloodmnist", rho=3).prepare(
            tmp_path / "raw", tmp_path / "cache", size=8, progress=False
        )
    msg = str(e.value)
    assert "\n" not in msg and "has no training image" in msg and "bloodmnist.npz" in msg
    assert "'lymphocyte'" in msg  # BloodMNIST's class 4, by name


def test_rho_of_one_warns(tmp_path, capsys):
    blood_raw(tmp_path / "raw", train=[6] * 8)  # every class below the profile 600 ... 6: all capped at 6, rho 1
    ds = create_builder("medmnist-lt:bloodmnist", rho=100, n_max=600).prepare(
        tmp_path / "raw", tmp_path / "cache", size=8, progress=False
    )
    assert set(ds.train_counts) == {6}
    err = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in err if line.startswith("warning:")]
    assert len(warnings) == 1 and "rho = 6/6 = 1.0" in warnings[0] and "rho = 100" in warnings[0]
    assert "bloodmnist.npz" in warnings[0]


def test_profile_within_rounding_does_not_warn(tmp_path, capsys):
    blood_raw(tmp_path / "raw")
    create_builder("medmnist-lt:bloodmnist", rho=3).prepare(
        tmp_path / "raw", tmp_path / "cache", size=8, progress=False
    )
    assert "warning" not in capsys.readouterr().err


def test_counts_against_the_card():
    skin7 = create_builder("skin7")
    card = [835, 5029, 386, 245, 824, 86, 107]  # docs/datasets/skin7.md
    assert count_mismatch(skin7, list(SKIN7_CLASSES), card) is None
    problem = count_mismatch(skin7, list(SKIN7_CLASSES), [835, 5000, 386, 245, 824, 86, 107])
    assert problem and "NV 5000 (card: 5029)" in problem
    path = create_builder("pathmnist-lt")
    assert list(path.expected_train_counts().values()) == [9366, 5267, 2962, 1666, 937, 527, 296, 167, 94]
    assert create_builder("xray9").expected_train_counts() == {"Atelectasis": 3158}
    assert create_builder("xray9", split="patient").expected_train_counts() is None


def test_prepare_cli_warns_on_counts_other_than_the_card(tmp_path, capsys):
    from tests.datasets.fake_raw import write_skin7

    write_skin7(tmp_path / "raw", {c: 8 for c in SKIN7_CLASSES})
    assert (
        main(
            [
                "datasets",
                "prepare",
                "skin7",
                "--raw-root",
                str(tmp_path / "raw"),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--size",
                "8",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(err) == 1 and "differ from the card's" in err[0] and "ISIC2018_Task3_Training_GroundTruth.csv" in err[0]


# -- 4. run -p uses the dataset prepared with datasets prepare -p ----------------------------------
def test_run_dataset_param(tmp_path, capsys):
    cache, results = tmp_path / "cache", tmp_path / "results"
    assert main(["datasets", "prepare", "digits-lt", "-p", "rho=5", "--size", "20", "--cache-dir", str(cache)]) == 0
    prepared = PreparedDataset.load(create_builder("digits-lt", rho=5).folder(cache, 20))
    argv = [
        "run",
        "--dataset",
        "digits-lt",
        "--method",
        "CE",
        "--seeds",
        "0",
        "--protocol",
        "smoke",
        "--cache-dir",
        str(cache),
        "--results",
        str(results),
        "--device",
        "cpu",
        "--quiet",
        "--no-site",
    ]
    assert main(argv + ["-p", "rho=5"]) == 0
    result = read_result(results / "digits-lt/test_resnet/smoke/ce/seed-0.json")
    assert result.dataset_manifest_sha256 == prepared.manifest_sha256  # the prepared folder was used
    assert result.dataset_params["rho"] == 5 and result.per_class.train_counts == prepared.train_counts
    assert len(list(cache.glob("digits-lt-*"))) == 1  # nothing else was prepared
    capsys.readouterr()
    # the same results directory, other parameters: refused, not "already done"
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dataset params" in err and "'rho': 5" in err
    assert main(argv + ["-p", "nosuch=1"]) == 2
    assert "bad dataset parameter ['nosuch']" in capsys.readouterr().err


# -- 5. checks on every load and `datasets verify` --------------------------------------------------
@pytest.fixture()
def digits_copy(tmp_path, cache_dir) -> Path:
    folder = datasets.load("digits-lt", size=20, cache_root=cache_dir, progress=False).root
    copy = tmp_path / "digits"
    shutil.copytree(folder, copy)
    return copy


def _edit_manifest(folder: Path, edit) -> None:
    path = folder / "manifest.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))


@pytest.mark.parametrize(
    "break_it, expect",
    [
        (lambda f: _edit_manifest(f, lambda m: m.pop("split_counts")), "manifest.json has no 'split_counts'"),
        (lambda f: _edit_manifest(f, lambda m: m.update(num_images=3)), "num_images 3"),
        (
            lambda f: _edit_manifest(f, lambda m: m.update(image_shape=[32, 32, 3])),
            "but manifest.json says [32, 32, 3]",
        ),
        (lambda f: _edit_manifest(f, lambda m: m["split_counts"].update(val=[0] * 10)), "split_counts.val sums to 0"),
        (
            lambda f: _edit_manifest(f, lambda m: m["split_counts"].update(test=[1, 2])),
            "split_counts.test is not a list of 10",
        ),
        (lambda f: np.save(f / "labels.npy", np.load(f / "labels.npy")[:-1]), "images.npy has"),
        (lambda f: np.save(f / "labels.npy", np.load(f / "labels.npy") + 20), "labels.npy must hold one label in 0..9"),
        (
            lambda f: np.savez(
                f / "splits.npz", train=np.array([10**6]), val=np.zeros(0, np.int64), test=np.zeros(0, np.int64)
            ),
            "splits.npz train indexes outside",
        ),
    ],
)
def test_load_checks_manifest_and_arrays(digits_copy, break_it, expect):
    PreparedDataset.load(digits_copy)  # intact
    break_it(digits_copy)
    with pytest.raises(DatasetError) as e:
        PreparedDataset.load(digits_copy)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(digits_copy)) and expect in msg and "prepare again" in msg


def test_verify_reports_ok_or_the_mismatch(tmp_path, capsys):
    cache = tmp_path / "cache"
    blood_raw(tmp_path / "raw")
    ds = create_builder("medmnist-lt:bloodmnist", rho=3).prepare(tmp_path / "raw", cache, size=8, progress=False)
    argv = ["datasets", "verify", "medmnist-lt:bloodmnist", "-p", "rho=3", "--size", "8", "--cache-dir", str(cache)]
    capsys.readouterr()
    assert main(argv + ["--raw-root", str(tmp_path / "raw")]) == 0
    assert capsys.readouterr().out.startswith(f"OK {ds.root}: labels, 3 splits, split counts, 1 source files")
    # two labels swapped: counts, shapes and ranges still agree (load passes), the checksum does not
    labels = np.load(ds.root / "labels.npy")
    i, j = int(np.flatnonzero(labels != labels[0])[0]), 0
    labels[[i, j]] = labels[[j, i]]
    np.save(ds.root / "labels.npy", labels)
    blood_raw(tmp_path / "raw", train=[b + 1 for b in BLOOD])
    assert main(argv + ["--raw-root", str(tmp_path / "raw")]) == 1
    err = capsys.readouterr().err
    assert "mismatch:" in err and "labels: sha256" in err and "source file" in err and "bloodmnist.npz" in err
    assert main(["datasets", "verify", "digits-lt", "--size", "7", "--cache-dir", str(cache)]) == 2  # not prepared
