"""skin7: official ISIC 2018 Task 3 layout -> stratified 7.5 : 0.5 : 2, Table 1 reproduced."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.commands.datasets import dataset_stats
from datasets import DatasetError, create_builder
from tests.datasets.fake_raw import SKIN7_CLASSES, SKIN7_REAL_COUNTS, assert_images_match_labels, write_skin7


def test_skin7_tiny_counts_splits_classes_groups(tmp_path):
    counts = {"MEL": 20, "NV": 60, "BCC": 16, "AKIEC": 12, "BKL": 24, "DF": 8, "VASC": 14}
    write_skin7(tmp_path / "raw", counts)
    ds = create_builder("skin7", seed=3).prepare(
        tmp_path / "raw", tmp_path / "cache", size=8, workers=1, progress=False
    )
    assert ds.class_names == list(SKIN7_CLASSES)
    assert ds.image_size == 8 and ds.images.shape == (sum(counts.values()), 8, 8, 3)
    totals = [counts[c] for c in SKIN7_CLASSES]
    n_train = [
        int(np.floor(n * 0.75 + 0.5)) for n in totals
    ]  # train first, half-up (docs/datasets/skin7.md: 7.5 : 0.5 : 2)
    n_val = [int(np.floor(n * 0.05 + 0.5)) for n in totals]
    sc = ds.manifest["split_counts"]
    assert sc["train"] == n_train and sc["val"] == n_val
    assert sc["test"] == [t - a - b for t, a, b in zip(totals, n_train, n_val)]
    all_idx = np.concatenate([ds.splits[s] for s in ("train", "val", "test")])
    assert sorted(all_idx.tolist()) == list(range(len(ds.labels)))  # a partition, nothing lost
    assert ds.groups == {
        "major": [0, 1, 4],
        "medium": None,
        "minor": [3, 5],
    }  # top 3; bottom 2: DF 6, AKIEC 9 (VASC 10)
    assert_images_match_labels(ds, 7)
    # seeded: the same seed gives the same split, another seed another
    a, b, c = (create_builder("skin7", seed=s).read(tmp_path / "raw").splits["train"].tolist() for s in (3, 3, 4))
    assert a == b and a != c


def test_skin7_table1_real_counts(tmp_path):
    """10,015 tiny JPEGs with the real per-class counts: n_max 5029 (NV), n_min 86 (DF), ρ 58.5."""
    write_skin7(tmp_path / "raw", SKIN7_REAL_COUNTS)
    ds = create_builder("skin7").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=2, progress=False)
    train = dict(zip(ds.class_names, ds.train_counts))
    assert train["NV"] == 5029 and train["DF"] == 86
    assert max(train.values()) == 5029 and min(train.values()) == 86
    stats = dataset_stats(ds.manifest, ds.root)  # what `datasets info skin7 --json` prints
    assert (stats["n_max"], stats["n_max_class"], stats["n_min"], stats["n_min_class"]) == (5029, "NV", 86, "DF")
    assert stats["rho"] == 58.5 and stats["image_type"] == "dermoscopy" and stats["num_classes"] == 7
    assert len(ds.labels) == 10015
    assert {s: len(ds.splits[s]) for s in ("train", "val", "test")} == {"train": 7512, "val": 501, "test": 2002}
    assert ds.groups["major"] == [0, 1, 4] and ds.groups["minor"] == [5, 6]  # MEL NV BKL / DF VASC
    assert_images_match_labels(ds, 7)


def test_skin7_accepts_csv_inside_official_zip_folder(tmp_path):
    raw = tmp_path / "raw"
    write_skin7(raw, {c: 3 for c in SKIN7_CLASSES})
    (raw / "ISIC2018_Task3_Training_GroundTruth").mkdir()
    csv = raw / "ISIC2018_Task3_Training_GroundTruth.csv"
    csv.rename(raw / "ISIC2018_Task3_Training_GroundTruth" / csv.name)
    assert len(create_builder("skin7").read(raw).labels) == 21


def _row2(fn):
    """Edit the first data row (line 2) of the CSV text."""

    def edit(text):
        lines = text.split("\n")
        lines[1] = fn(lines[1])
        return "\n".join(lines)

    return edit


def _two_ones(row):
    cells = row.split(",")
    return ",".join([cells[0], *["1.0"] * 2, *cells[3:]])


@pytest.mark.parametrize(
    "edit, expect",
    [
        (
            lambda t: t.replace("image,MEL,NV,BCC,AKIEC,BKL,DF,VASC", "image,MEL,NV,BCC,AKIEC,BKL,VASC"),
            "missing column 'DF'",
        ),
        (lambda t: t.replace("image,", "img,", 1), "missing column 'image'"),
        (_row2(lambda r: r.replace("1.0", "0.0")), "not one-hot"),
        (_row2(_two_ones), "not one-hot"),
        (_row2(lambda r: r.replace("1.0", "0.5")), "not one-hot"),
        (_row2(lambda r: r.replace("0.0", "x", 1)), "non-numeric"),
    ],
)
def test_skin7_bad_csv(tmp_path, edit, expect):
    raw = tmp_path / "raw"
    write_skin7(raw, {c: 2 for c in SKIN7_CLASSES})
    csv = raw / "ISIC2018_Task3_Training_GroundTruth.csv"
    csv.write_text(edit(csv.read_text()))
    with pytest.raises(DatasetError) as e:
        create_builder("skin7").prepare(raw, tmp_path / "cache", size=8, workers=1, progress=False)
    msg = str(e.value)
    assert expect in msg and "ISIC2018_Task3_Training_GroundTruth.csv" in msg and "\n" not in msg
    if "column" not in expect:
        assert "line 2 (ISIC_0024306)" in msg  # names the row and the image
    assert not (tmp_path / "cache").exists()


def test_skin7_missing_image_named(tmp_path):
    raw = tmp_path / "raw"
    names = write_skin7(raw, {c: 2 for c in SKIN7_CLASSES})
    (raw / "ISIC2018_Task3_Training_Input" / f"{names[5]}.jpg").unlink()
    with pytest.raises(DatasetError, match=rf"{names[5]}\.jpg.*line 7 .*not found"):
        create_builder("skin7").read(raw)
