"""xray9: ChestX-ray14 Data_Entry CSV -> single-finding 9-class set, stratified or patient-wise."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import DatasetError, create_builder
from tests.datasets.fake_raw import XRAY9_CLASSES, XRAY9_REAL_COUNTS, assert_images_match_labels, write_xray9

#: Rows that must be excluded: multi-label, dropped findings, normal images.
EXCLUDED = [
    "Atelectasis|Effusion",
    "Effusion|Infiltration",
    "Cardiomegaly|Emphysema|Hernia",
    "Infiltration",
    "Consolidation",
    "Fibrosis",
    "Pneumonia",
    "Pleural_Thickening",
    "No Finding",
]


def findings_for(counts: dict[str, int], excluded_each: int, seed: int = 0) -> list[str]:
    rows = [f for f, n in counts.items() for _ in range(n)] + [f for f in EXCLUDED for _ in range(excluded_each)]
    return [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]


def test_xray9_tiny_counts_splits_classes(tmp_path):
    counts = {c: 12 - i for i, c in enumerate(XRAY9_CLASSES)}
    findings = findings_for(counts, 2)
    write_xray9(tmp_path / "raw", findings)
    ds = create_builder("xray9").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=1, progress=False)
    assert ds.class_names == list(XRAY9_CLASSES)
    assert len(ds.labels) == sum(counts.values())  # every excluded row dropped
    totals = [counts[c] for c in XRAY9_CLASSES]
    sc = ds.manifest["split_counts"]
    assert sc["train"] == [int(np.floor(n * 0.75 + 0.5)) for n in totals]
    assert sc["val"] == [int(np.floor(n * 0.05 + 0.5)) for n in totals]
    assert [a + b + c for a, b, c in zip(sc["train"], sc["val"], sc["test"])] == totals
    assert ds.groups == {"major": [0, 1, 2], "medium": None, "minor": [6, 7, 8]}
    c = ds.manifest["construction"]
    assert c["split"] == "stratified" and c["kept_single_label"] == sum(totals)
    assert c["dropped_multi_label"] == 6 and c["dropped_other_single_label"] == 12
    assert_images_match_labels(ds, 9, gray=True)


def test_xray9_table1_real_counts(tmp_path):
    """4210 single-label Atelectasis rows (and the other classes' plausible counts) -> n_max 3158, as in Table 1."""
    findings = findings_for(XRAY9_REAL_COUNTS, 40)
    write_xray9(tmp_path / "raw", findings, images=False)  # read() never decodes: empty stand-ins
    raw = create_builder("xray9").read(tmp_path / "raw")
    assert np.bincount(raw.labels, minlength=9).tolist() == [XRAY9_REAL_COUNTS[c] for c in XRAY9_CLASSES]
    train = np.bincount(raw.labels[raw.splits["train"]], minlength=9)
    assert int(train[0]) == 3158 and train.argmax() == 0
    assert int(train.min()) == train[8] == 83  # Hernia: 0.75 * 110 = 82.5 -> 83 (half-up)
    assert len(raw.labels) == sum(XRAY9_REAL_COUNTS.values()) == 17926


def test_xray9_patient_split_keeps_patients_together(tmp_path):
    rng = np.random.default_rng(0)
    findings = findings_for({c: 20 for c in XRAY9_CLASSES}, 1)
    patients = rng.integers(1, 40, size=len(findings)).tolist()
    write_xray9(tmp_path / "raw", findings, patients=patients, images=False, csv_name="Data_Entry_2017_v2020.csv")
    raw = create_builder("xray9", split="patient").read(tmp_path / "raw")
    kept = [p for f, p in zip(findings, patients) if f in XRAY9_CLASSES]
    who = {s: {kept[i] for i in raw.splits[s]} for s in ("train", "val", "test")}
    assert not (who["train"] & who["test"]) and not (who["train"] & who["val"]) and not (who["val"] & who["test"])
    assert sum(len(v) for v in raw.splits.values()) == len(kept) == 180
    assert len(raw.splits["test"]) >= 0.2 * 180
    with pytest.raises(DatasetError, match="split must be one of"):
        create_builder("xray9", split="random")


def test_xray9_kaggle_layout_and_v2020_csv(tmp_path):
    findings = findings_for({c: 15 for c in XRAY9_CLASSES}, 1)
    write_xray9(tmp_path / "raw", findings, csv_name="Data_Entry_2017_v2020.csv", layout="kaggle")
    assert (tmp_path / "raw" / "images_003" / "images").is_dir()
    ds = create_builder("xray9").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=2, progress=False)
    assert len(ds.labels) == 135 and ds.manifest["construction"]["csv"] == "Data_Entry_2017_v2020.csv"
    assert_images_match_labels(ds, 9, gray=True)


def test_xray9_unknown_label_names_label_and_line(tmp_path):
    findings = findings_for({c: 3 for c in XRAY9_CLASSES}, 0)
    findings[4] = "Atelectasis|Pneumonitis"
    write_xray9(tmp_path / "raw", findings)
    with pytest.raises(DatasetError) as e:
        create_builder("xray9").prepare(tmp_path / "raw", tmp_path / "cache", size=8, workers=1, progress=False)
    msg = str(e.value)
    assert "'Pneumonitis'" in msg and "Data_Entry_2017.csv line 6" in msg and "\n" not in msg
    assert not (tmp_path / "cache").exists()


def test_xray9_missing_column_and_image(tmp_path):
    findings = findings_for({c: 3 for c in XRAY9_CLASSES}, 0)
    names = write_xray9(tmp_path / "raw", findings)
    (tmp_path / "raw" / "images" / names[2]).unlink()
    with pytest.raises(DatasetError, match=rf"{names[2]} \(line 4 of .*Data_Entry_2017.csv\) not found"):
        create_builder("xray9").read(tmp_path / "raw")
    csv = tmp_path / "raw" / "Data_Entry_2017.csv"
    csv.write_text(csv.read_text().replace("Patient ID", "PatientID", 1))
    with pytest.raises(DatasetError, match=r"Data_Entry_2017.csv: missing column 'Patient ID'"):
        create_builder("xray9").read(tmp_path / "raw")
