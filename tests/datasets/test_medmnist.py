"""pathmnist-lt and medmnist-lt:<flag>: official npz files (all MedMNIST+ sizes), Table 1 reproduced."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.commands.datasets import dataset_stats
from datasets import DatasetError, create_builder, long_tailed_counts
from tests.datasets.fake_raw import PATHMNIST_REAL_TRAIN, assert_images_match_labels, write_medmnist


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.delenv("MEDLT_ALLOW_DOWNLOAD", raising=False)


def test_pathmnist_lt_table1_real_counts(tmp_path):
    """An npz with PathMNIST's real per-class train counts -> 9366, 5267, ..., 94 (n_min 94, ρ 99.6)."""
    write_medmnist(tmp_path / "raw", "pathmnist", PATHMNIST_REAL_TRAIN, [3] * 9, [5] * 9)
    ds = create_builder("pathmnist-lt").prepare(tmp_path / "raw", tmp_path / "cache", size=8, progress=False)
    order = ds.manifest["construction"]["class_order"]
    assert order == [0, 1, 2, 8, 4, 6, 7, 5, 3]
    assert [ds.train_counts[c] for c in order] == [9366, 5267, 2962, 1666, 937, 527, 296, 167, 94]
    stats = dataset_stats(ds.manifest, ds.root)  # what `datasets info pathmnist-lt --json` prints
    assert (stats["n_max"], stats["n_min"], stats["rho"]) == (9366, 94, 99.6)
    assert stats["image_type"] == "colon pathology" and stats["images"]["train"] == 21282
    assert ds.manifest["split_counts"]["val"] == [3] * 9 and ds.manifest["split_counts"]["test"] == [5] * 9
    assert ds.class_names[0] == "adipose" and ds.class_names[8].startswith("colorectal adenocarcinoma")
    assert ds.groups == {"major": [0, 1, 2], "medium": None, "minor": [3, 5, 7]}
    assert len(ds.labels) == 21282 + 27 + 45  # compacted: unused train images are not cached
    assert_images_match_labels(ds, 9)


@pytest.mark.parametrize("size", [64, 128, 224])
def test_pathmnist_lt_medmnist_plus_file_names(tmp_path, size):
    with pytest.raises(DatasetError, match=rf"pathmnist_{size}\.npz not found"):
        create_builder("pathmnist-lt", medmnist_size=size).prepare(tmp_path, tmp_path / "cache", size=8, progress=False)
    write_medmnist(tmp_path / "raw", "pathmnist", [30, 20, 20, 12, 12, 12, 12, 12, 12], [2] * 9, [2] * 9, size=size)
    assert (tmp_path / "raw" / f"pathmnist_{size}.npz").is_file()
    # rho 10: with the default 100, n_max 20 leaves the smallest classes without a training image (refused)
    ds = create_builder("pathmnist-lt", medmnist_size=size, n_max=20, rho=10).prepare(
        tmp_path / "raw", tmp_path / "cache", size=8, progress=False
    )
    targets = long_tailed_counts(20, 10, 9)  # never more than a class has
    assert [ds.train_counts[c] for c in (0, 1, 2, 8, 4, 6, 7, 5, 3)] == targets
    assert list(ds.manifest["source_checksums"]) == [f"pathmnist_{size}.npz"]


def test_medmnist_lt_flag_with_rho(tmp_path):
    train = [120, 300, 150, 260, 90, 110, 330, 200]  # BloodMNIST has 8 classes
    write_medmnist(tmp_path / "raw", "bloodmnist", train, [4] * 8, [6] * 8)
    b = create_builder("medmnist-lt:bloodmnist", rho=10)
    assert b.id == "medmnist-lt:bloodmnist" and b.raw_files == ("bloodmnist.npz",)
    ds = b.prepare(tmp_path / "raw", tmp_path / "cache", size=8, progress=False)
    order = sorted(range(8), key=lambda c: (-train[c], c))
    assert ds.manifest["construction"]["class_order"] == order
    assert [ds.train_counts[c] for c in order] == [
        min(t, train[c]) for t, c in zip(long_tailed_counts(330, 10, 8), order)
    ]
    assert ds.name == "medmnist-lt:bloodmnist" and ds.class_names[0] == "basophil"
    assert "medmnist-lt_bloodmnist-" in str(ds.root)
    # rho is part of the identity: another rho is another folder
    assert b.folder(tmp_path, 8) != create_builder("medmnist-lt:bloodmnist", rho=100).folder(tmp_path, 8)
    assert_images_match_labels(ds, 8)


def test_medmnist_lt_rejects_bad_flags(tmp_path):
    write_medmnist(tmp_path / "raw", "bloodmnist", [5] * 8, [1] * 8, [1] * 8)
    with pytest.raises(DatasetError, match="unknown MedMNIST flag 'nosuchmnist'"):
        create_builder("medmnist-lt:nosuchmnist").prepare(tmp_path / "raw", tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match="multi-class"):
        create_builder("medmnist-lt:chestmnist").prepare(tmp_path / "raw", tmp_path / "cache", progress=False)
    npz = tmp_path / "raw" / "bloodmnist.npz"
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files if k != "test_labels"}
    np.savez(npz, **arrays)
    with pytest.raises(DatasetError, match=r"bloodmnist\.npz: missing array"):
        create_builder("medmnist-lt:bloodmnist").prepare(tmp_path / "raw", tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache").exists()
