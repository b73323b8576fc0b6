"""xray9: ChestX-ray14 single-finding frontal X-rays, 9 classes, stratified (or patient-wise) 7.5 : 0.5 : 2."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .base import DatasetBuilder, RawDataset
from .errors import DatasetError
from .registry import register_dataset
from .splits import group_split, stratified_split, stratified_train_count

if TYPE_CHECKING:
    import pandas as pd  # lazy: only this builder reads a CSV with pandas

#: Tried in this order.
CSV_NAMES = ("Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv")
REQUIRED_COLUMNS = ("Image Index", "Finding Labels", "Patient ID")
#: The 14 ChestX-ray14 findings, plus the label of a normal image.
FINDINGS = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)
NO_FINDING = "No Finding"
#: The 9 kept classes, in the prepared dataset's order (the first author's configuration).
CLASSES = ("Atelectasis", "Effusion", "Nodule", "Pneumothorax", "Mass", "Cardiomegaly", "Emphysema", "Edema", "Hernia")
SPLITS = ("stratified", "patient")
#: Single-label rows per class that the card fixes (docs/datasets/xray9.md: the paper's n_max); the
#: other classes depend on the CSV version.
CARD_IMAGES = {"Atelectasis": 4210}


@register_dataset
@dataclass(frozen=True)
class XRay9(DatasetBuilder):
    """X-ray9: ChestX-ray14 images with exactly one finding, from 9 classes.

    Rows of ``Data_Entry_2017.csv`` (or ``Data_Entry_2017_v2020.csv``) whose ``Finding
    Labels`` is a single label among Atelectasis, Effusion, Nodule, Pneumothorax, Mass,
    Cardiomegaly, Emphysema, Edema, Hernia (that order); multi-label rows, the other five
    findings and "No Finding" are dropped. ``split="stratified"`` (default, the paper's):
    stratified random 7.5 : 0.5 : 2 per class, seeded (Atelectasis 4210 -> 3158 train,
    as the paper's Table 1). A patient can then appear in train and test.
    ``split="patient"``: all images of a patient in one split (``group_split``), not stratified.
    """

    name = "xray9"
    title = "X-ray9 (ChestX-ray14, single finding)"
    image_type = "x-ray"
    source_url = "https://nihcc.app.box.com/v/ChestXray-NIHCC"
    license = "unrestricted use with attribution (NIH Clinical Center; cite Wang et al., CVPR 2017)"
    raw_files = (
        "Data_Entry_2017.csv (or Data_Entry_2017_v2020.csv)",
        "images/*.png (the images_001..012 archives, extracted)",
    )
    default_size = 300

    split: str = "stratified"
    val_fraction: float = 0.05
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise DatasetError(f"{self.name}: split must be one of {', '.join(SPLITS)}, got {self.split!r}")

    def expected_train_counts(self) -> dict[str, int] | None:
        """Atelectasis 3158 train (the paper's n_max) with the stratified split; nothing for ``split="patient"``."""
        if self.split != "stratified":
            return None
        return {c: stratified_train_count(n, self.val_fraction, self.test_fraction) for c, n in CARD_IMAGES.items()}

    def read(self, raw_root: Path | None) -> RawDataset:
        root = self.raw_folder(raw_root)
        csv_path = next((root / n for n in CSV_NAMES if (root / n).is_file()), None)
        if csv_path is None:
            raise self.missing_files_error(raw_root, CSV_NAMES[0])
        table = read_data_entry(csv_path, self.id)
        findings = table["Finding Labels"]
        single = ~findings.str.contains("|", regex=False)
        keep = single & findings.isin(CLASSES)
        kept = table[keep]
        index = image_index(root)
        if not index:
            raise self.missing_files_error(raw_root, "images/ (no .png files in images/ or images_*/images/)")
        paths: list[Path] = []
        missing: list[tuple[str, int]] = []
        for name, line in zip(kept["Image Index"], kept.index):
            path = index.get(name)
            if path is None:
                missing.append((name, line))
            else:
                paths.append(path)
        if missing:
            name, line = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{self.id}: image {name} (line {line} of {csv_path}) not found under {root}/images"
                f" or {root}/images_*/images{more}; extract all images_*.tar.gz archives there"
            )
        labels = np.asarray([CLASSES.index(f) for f in kept["Finding Labels"]], dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        if self.split == "patient":
            splits = group_split(labels, kept["Patient ID"].to_numpy(), self.val_fraction, self.test_fraction, rng)
        else:
            splits = stratified_split(labels, self.val_fraction, self.test_fraction, rng)
        return RawDataset(
            class_names=list(CLASSES),
            labels=labels,
            splits=splits,
            source_files=[csv_path],
            image_paths=paths,
            construction={
                "class_order": list(range(len(CLASSES))),
                "csv": csv_path.name,
                "rows": int(len(table)),
                "kept_single_label": int(len(kept)),
                "dropped_multi_label": int((~single).sum()),
                "dropped_other_single_label": int((single & ~keep).sum()),
            },
        )


def read_data_entry(csv_path: Path, who: str = "xray9") -> pd.DataFrame:
    """The Data_Entry CSV as strings, indexed by CSV line number; validates columns and labels."""
    import pandas as pd  # lazy: only this builder reads a CSV with pandas

    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False, skipinitialspace=True, index_col=False)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise DatasetError(f"{who}: {csv_path}: unreadable CSV ({e})") from None
    table.columns = [str(c).strip() for c in table.columns]
    for col in REQUIRED_COLUMNS:
        if col not in table.columns:
            raise DatasetError(f"{who}: {csv_path}: missing column {col!r} (columns are {', '.join(table.columns)})")
    if table.empty:
        raise DatasetError(f"{who}: {csv_path}: no image rows")
    table = table.copy()
    table.index = np.arange(2, len(table) + 2)  # CSV line numbers (line 1 is the header)
    table["Image Index"] = table["Image Index"].str.strip()
    table["Finding Labels"] = table["Finding Labels"].str.strip()
    each = table["Finding Labels"].str.split("|").explode().str.strip()
    unknown = each[~each.isin((*FINDINGS, NO_FINDING))]
    if len(unknown):
        line = int(unknown.index[0])
        raise DatasetError(
            f"{who}: {csv_path} line {line} ({table.at[line, 'Image Index']}): unknown label"
            f" {unknown.iloc[0]!r} in {table.at[line, 'Finding Labels']!r}; expected '|'-separated"
            f" ChestX-ray14 findings or {NO_FINDING!r}"
        )
    dup = table["Image Index"].duplicated()
    if dup.any():
        line = int(table.index[dup.to_numpy()][0])
        raise DatasetError(f"{who}: {csv_path} line {line}: image {table.at[line, 'Image Index']} listed twice")
    return table


def image_index(root: Path) -> dict[str, Path]:
    """PNG file name -> path, from ``images/`` and the Kaggle layout ``images_*/images/``."""
    folders = [root / "images", *sorted(root.glob("images_*/images"))]
    index: dict[str, Path] = {}
    for folder in folders:
        if folder.is_dir():
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.name.endswith(".png"):
                        index.setdefault(entry.name, Path(entry.path))
    return index
