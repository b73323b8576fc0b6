"""flower-lt and dogs-lt: official .mat / folder layouts -> long-tailed train, balanced or official test."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from datasets import DatasetError, create_builder, long_tailed_counts
from datasets.flower_lt import FLOWER_NAMES
from tests.datasets.fake_raw import assert_images_match_labels, write_dogs, write_flowers


def expected_n_max(available_by_rank, rho):
    """Independent brute force: the largest n_max whose profile fits every class."""
    best = 0
    for n in range(1, max(available_by_rank) + 1):
        if all(t <= a for t, a in zip(long_tailed_counts(n, rho, len(available_by_rank)), available_by_rank)):
            best = n
    return best


# -- flower-lt --------------------------------------------------------------------------
def test_flower_lt_tiny_construction(tmp_path):
    per_class = [40, 60, 45, 80, 50, 70]
    labels = write_flowers(tmp_path / "raw", per_class)
    ds = create_builder("flower-lt").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=2, progress=False)
    assert ds.class_names == list(FLOWER_NAMES[:6])
    sc = ds.manifest["split_counts"]
    assert sc["test"] == [20] * 6 and sc["val"] == [5] * 6  # class-balanced held-out sets
    remaining = [n - 25 for n in per_class]  # 15, 35, 20, 55, 25, 45
    order = sorted(range(6), key=lambda c: (-remaining[c], c))
    assert order == [3, 5, 1, 4, 2, 0] == ds.manifest["construction"]["class_order"]
    n_max = expected_n_max([remaining[c] for c in order], 10)
    assert ds.manifest["construction"]["n_max_used"] == n_max
    assert [sc["train"][c] for c in order] == long_tailed_counts(n_max, 10, 6)
    assert ds.groups == {"major": sorted(order[:2]), "medium": sorted(order[2:4]), "minor": sorted(order[4:])}
    assert np.bincount(labels).tolist() == per_class
    assert_images_match_labels(ds, 6)


def test_flower_lt_102_classes_realistic_counts(tmp_path):
    """102 classes with 40..258 images each (8,189 in all, like the real set): read() only, stub files."""
    rng = np.random.default_rng(5)
    while True:  # 40 each plus a skewed share of the other 4,109 images, at most 258 per class
        per_class = 40 + rng.multinomial(8189 - 40 * 102, rng.dirichlet(np.full(102, 0.7)))
        if per_class.max() <= 258:
            break
    assert per_class.min() >= 40 and per_class.sum() == 8189
    write_flowers(tmp_path / "raw", per_class.tolist(), images=False)
    raw = create_builder("flower-lt").read(tmp_path / "raw")
    assert len(raw.class_names) == 102 and raw.class_names[-1] == "blackberry lily"
    count = {s: np.bincount(raw.labels[raw.splits[s]], minlength=102) for s in raw.splits}
    assert (count["test"] == 20).all() and (count["val"] == 5).all()
    remaining = per_class - 25
    order = raw.construction["class_order"]
    assert [remaining[c] for c in order] == sorted(remaining.tolist(), reverse=True)
    n_max = expected_n_max([int(remaining[c]) for c in order], 10)
    assert raw.construction["n_max_used"] == n_max
    assert [int(count["train"][c]) for c in order] == long_tailed_counts(n_max, 10, 102)
    avail = [int(remaining[c]) for c in order]  # n_max + 1 would ask some class for more than it has
    assert any(t > a for t, a in zip(long_tailed_counts(n_max + 1, 10, 102), avail))
    # disjoint splits
    sets = [set(raw.splits[s].tolist()) for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


def test_flower_lt_bad_files(tmp_path):
    raw = tmp_path / "raw"
    write_flowers(raw, [30, 30, 30], images=False)
    with pytest.raises(DatasetError, match=r"imagelabels\.mat: missing key 'labels'"):
        scipy.io.savemat(raw / "imagelabels.mat", {"label": np.ones((1, 90), np.uint8)})
        create_builder("flower-lt").read(raw)
    (raw / "imagelabels.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DatasetError, match=r"imagelabels\.mat: unreadable \.mat file"):
        create_builder("flower-lt").read(raw)
    write_flowers(raw, [25, 30, 30], images=False)
    scipy.io.savemat(
        raw / "setid.mat",
        {
            "trnid": np.arange(1, 10, dtype=np.uint16).reshape(1, -1),
            "valid": np.zeros((1, 0), np.uint16),
            "tstid": np.zeros((1, 0), np.uint16),
        },
    )
    with pytest.raises(DatasetError, match=r"setid\.mat: trnid/valid/tstid do not partition"):
        create_builder("flower-lt").read(raw)
    (raw / "setid.mat").unlink()  # optional
    with pytest.raises(DatasetError, match=r"class 1 \(pink primrose\) has 25 images"):
        create_builder("flower-lt").read(raw)
    assert len(create_builder("flower-lt", test_per_class=10).read(raw).labels) == 85
    (raw / "jpg" / "image_00007.jpg").unlink()
    with pytest.raises(DatasetError, match=r"image_00007\.jpg not found"):
        create_builder("flower-lt", test_per_class=10).read(raw)


# -- dogs-lt ----------------------------------------------------------------------------
def test_dogs_lt_tiny_construction(tmp_path):
    write_dogs(tmp_path / "raw", [100] * 6, [7, 8, 9, 10, 11, 12])
    mat = scipy.io.loadmat(tmp_path / "raw" / "lists" / "train_list.mat")
    assert mat["file_list"].shape == (600, 1) and mat["labels"].shape == (600, 1)
    assert str(mat["file_list"][0, 0][0]) == "n02085620-Chihuahua/n02085620_1.jpg"
    ds = create_builder("dogs-lt").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=2, progress=False)
    assert ds.class_names == [
        "Chihuahua",
        "Japanese_spaniel",
        "Maltese_dog",
        "Pekinese",
        "Shih-Tzu",
        "Blenheim_spaniel",
    ]
    sc = ds.manifest["split_counts"]
    assert sc["train"] == [min(t, 95) for t in long_tailed_counts(100, 10, 6)] == [95, 63, 40, 25, 16, 10]
    assert sc["val"] == [5] * 6 and sc["test"] == [7, 8, 9, 10, 11, 12]  # official test unchanged
    assert ds.groups == {"major": [0, 1], "medium": [2, 3], "minor": [4, 5]}
    assert ds.manifest["construction"]["capped_classes"] == [0]
    assert_images_match_labels(ds, 6)


def test_dogs_lt_120_classes_official_sizes(tmp_path):
    """12,000 train (100 per class) and 8,580 test: read() only, stub files, lists at the top level."""
    test = [71] * 60 + [72] * 60
    write_dogs(tmp_path / "raw", [100] * 120, test, images=False, lists_dir="")
    raw = create_builder("dogs-lt").read(tmp_path / "raw")
    train = np.bincount(raw.labels[raw.splits["train"]], minlength=120).tolist()
    assert train[:6] == [95, 95, 95, 94, 93, 91] and train[-1] == 10
    assert train == [min(t, 95) for t in long_tailed_counts(100, 10, 120)]
    assert len(raw.splits["test"]) == 8580 and len(raw.splits["val"]) == 600
    assert raw.construction["n_max_realised"] == 95 and raw.construction["capped_classes"] == [0, 1, 2]


def test_dogs_lt_bad_files(tmp_path):
    raw = tmp_path / "raw"
    write_dogs(raw, [8, 8], [2, 2], images=False)
    (raw / "lists" / "test_list.mat").unlink()
    with pytest.raises(DatasetError, match=r"lists/test_list\.mat not found in .*Download"):
        create_builder("dogs-lt").read(raw)
    write_dogs(raw, [8, 8], [2, 2], images=False)
    f = raw / "Images" / "n02085782-Japanese_spaniel" / "n02085782_12.jpg"
    f.unlink()
    with pytest.raises(DatasetError, match=r"n02085782_12\.jpg \(in the file lists\) not found"):
        create_builder("dogs-lt").read(raw)
    scipy.io.savemat(raw / "lists" / "train_list.mat", {"file_list": np.zeros((0, 1), object)})
    with pytest.raises(DatasetError, match=r"train_list\.mat: missing key 'labels'"):
        create_builder("dogs-lt").read(raw)
