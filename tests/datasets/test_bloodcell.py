"""bloodcell-lt: the shipped file, its checksum, its re-derivation, the official-format path, the default."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import datasets
from benchmark.cli import main
from datasets import bloodcell
from datasets.bloodcell import CLASS_NAMES, SHIPPED_FILE, BloodCellRecipe, build_bloodcell_lt
from datasets.embedded import embedded_bytes, read_embedded
from datasets.longtail import long_tailed_counts
from tests import ROOT

SHARED_SOURCE = ROOT.parent / "shared" / "data" / "bloodcell" / "bloodmnist_pbc_28.npz"
MANIFEST = json.loads(SHIPPED_FILE.with_suffix(".json").read_text())


def test_shipped_file_matches_the_sha256_in_its_manifest():
    data = SHIPPED_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == MANIFEST["sha256"]
    assert len(data) == MANIFEST["bytes"] <= 6_000_000


def test_shipped_arrays_follow_the_recipe():
    arrays = read_embedded(SHIPPED_FILE, MANIFEST["sha256"])
    recipe = BloodCellRecipe()
    splits = arrays.split_indices()
    train = np.bincount(arrays.labels[splits["train"]], minlength=8)
    assert train[list(recipe.class_order)].tolist() == long_tailed_counts(recipe.n_max, recipe.rho, 8)
    assert train.tolist() == MANIFEST["split_counts"]["train"] == [10, 49, 17, 29, 236, 82, 400, 139]
    assert np.bincount(arrays.labels[splits["val"]], minlength=8).tolist() == [recipe.val_per_class] * 8
    assert np.bincount(arrays.labels[splits["test"]], minlength=8).tolist() == [recipe.test_per_class] * 8
    assert arrays.images.shape == (len(arrays.labels), 28, 28, 3)
    # every image keeps its PBC source name, in the folder of its class, and no image is used twice
    names = [f.decode() for f in arrays.files]
    assert len(set(names)) == len(names)
    folders = {
        "basophil": 0,
        "eosinophil": 1,
        "erythroblast": 2,
        "ig": 3,
        "lymphocyte": 4,
        "monocyte": 5,
        "neutrophil": 6,
        "platelet": 7,
    }
    assert all(folders[n.split("/")[0]] == y for n, y in zip(names, arrays.labels))


def test_embedded_bytes_are_a_function_of_the_arrays():
    arrays = read_embedded(SHIPPED_FILE)
    assert embedded_bytes(arrays) == SHIPPED_FILE.read_bytes()


@pytest.mark.skipif(not SHARED_SOURCE.exists(), reason=f"the shared source {SHARED_SOURCE} is not on this machine")
def test_rederived_from_the_shared_source_bit_identically(tmp_path):
    assert (
        main(["datasets", "embed", "bloodcell-lt", "--source", str(SHARED_SOURCE), "--out", str(tmp_path / "b.npz")])
        == 0
    )
    assert (tmp_path / "b.npz").read_bytes() == SHIPPED_FILE.read_bytes()
    rebuilt = json.loads((tmp_path / "b.json").read_text())
    assert {k: v for k, v in rebuilt.items() if k != "file"} == {k: v for k, v in MANIFEST.items() if k != "file"}


def write_official_format(path: Path, per_class: dict[str, int], seed: int = 0) -> None:
    """A tiny npz with exactly the official ``bloodmnist.npz`` keys (no file names), random pixels."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in per_class.items():
        labels = np.repeat(np.arange(8, dtype=np.uint8), n).reshape(-1, 1)
        arrays[f"{split}_images"] = rng.integers(0, 256, (len(labels), 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = labels
    np.savez(path, **arrays)


def test_builds_from_an_official_format_file_without_file_names(tmp_path):
    source = tmp_path / "bloodmnist.npz"
    write_official_format(source, {"train": 420, "val": 40, "test": 120})
    arrays, manifest = build_bloodcell_lt(source)
    assert manifest["split_counts"]["train"] == [10, 49, 17, 29, 236, 82, 400, 139]
    assert arrays.files[0].decode().startswith("train/")
    again, _ = build_bloodcell_lt(source)
    assert embedded_bytes(again) == embedded_bytes(arrays)


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "not found"),
        ("few", "the recipe needs 40"),
        ("keys", "missing array"),
    ],
)
def test_bad_sources_are_one_line_errors(tmp_path, capsys, case, message):
    source = tmp_path / "bloodmnist.npz"
    if case == "few":
        write_official_format(source, {"train": 420, "val": 10, "test": 120})
    elif case == "keys":
        np.savez(source, images=np.zeros((1, 28, 28, 3), np.uint8))
    out = tmp_path / "out.npz"
    assert main(["datasets", "embed", "bloodcell-lt", "--source", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_an_altered_shipped_file_is_refused(tmp_path, monkeypatch):
    altered = tmp_path / "bloodcell_lt.npz"
    data = bytearray(SHIPPED_FILE.read_bytes())
    data[-100] ^= 0xFF
    altered.write_bytes(bytes(data))
    shutil.copy(SHIPPED_FILE.with_suffix(".json"), altered.with_suffix(".json"))
    monkeypatch.setattr(bloodcell, "SHIPPED_FILE", altered)
    with pytest.raises(datasets.DatasetError, match="SHA-256 does not match"):
        datasets.create_builder("bloodcell-lt").prepare(None, cache_root=tmp_path / "cache")


def test_prepared_bloodcell_lt_is_the_default_and_loads_offline(tmp_path):
    assert datasets.DEFAULT_DATASET == "bloodcell-lt"
    ds = datasets.load(size=28, cache_root=tmp_path, progress=False)
    assert ds.class_names == list(CLASS_NAMES) and ds.train_counts == MANIFEST["split_counts"]["train"]
    assert ds.groups == {"major": [4, 6, 7], "medium": None, "minor": [0, 2, 3]}
    assert not ds.manifest["demo"] and ds.manifest["construction"]["embedded_sha256"] == MANIFEST["sha256"]
    arrays = read_embedded(SHIPPED_FILE)
    assert np.array_equal(ds.images[ds.splits["test"]], arrays.images[arrays.split_indices()["test"]])


@pytest.mark.skipif(not SHARED_SOURCE.exists(), reason=f"the shared source {SHARED_SOURCE} is not on this machine")
def test_medmnist_lt_bloodmnist_reads_the_shared_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bloodmnist.npz").symlink_to(SHARED_SOURCE)
    ds = datasets.load("medmnist-lt:bloodmnist", size=28, cache_root=tmp_path / "cache", raw_root=raw, progress=False)
    # ρ = 100 over the source's train split, head class neutrophil (2329 images)
    assert max(ds.train_counts) == 2329 and min(ds.train_counts) == 23
    assert len(ds.splits["test"]) == 3415 and len(ds.splits["val"]) == 1707
