"""skin7: ISIC 2018 Task 3 (HAM10000) dermoscopy, 7 classes, stratified 7.5 : 0.5 : 2 split."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetBuilder, RawDataset
from .errors import DatasetError
from .registry import register_dataset
from .splits import stratified_split, stratified_train_count

GROUND_TRUTH = "ISIC2018_Task3_Training_GroundTruth.csv"
#: The official zip extracts the CSV into a folder of this name; both places are accepted.
GROUND_TRUTH_DIR = "ISIC2018_Task3_Training_GroundTruth"
IMAGE_DIR = "ISIC2018_Task3_Training_Input"
#: The CSV's class columns, in the CSV's order (the class order of the prepared dataset).
CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
#: Images per class in the official CSV (docs/datasets/skin7.md, "Counts").
CARD_IMAGES = {"MEL": 1113, "NV": 6705, "BCC": 514, "AKIEC": 327, "BKL": 1099, "DF": 115, "VASC": 142}


@register_dataset
@dataclass(frozen=True)
class Skin7(DatasetBuilder):
    """Skin7: the 10,015 dermoscopy images of ISIC 2018 Task 3 (HAM10000), 7 classes.

    Classes in the ground-truth CSV's column order (MEL, NV, BCC, AKIEC, BKL, DF, VASC).
    Stratified random 7.5 : 0.5 : 2 split (``stratified_split(labels, 0.05, 0.2, rng)``,
    half-up per class), seeded: train NV 5029 ... DF 86, ρ = 58.5 as in the paper's Table 1.
    No further subsampling: the dataset is long-tailed as published. Groups: major = the 3
    most frequent training classes, minor = the 2 least frequent.
    """

    name = "skin7"
    title = "Skin7 (ISIC 2018 Task 3 / HAM10000)"
    image_type = "dermoscopy"
    source_url = "https://challenge.isic-archive.com/data/#2018"
    license = "CC BY-NC 4.0 (HAM10000 / ISIC 2018)"
    raw_files = (GROUND_TRUTH, f"{IMAGE_DIR}/ (ISIC_xxxxxxx.jpg)")
    default_size = 300
    n_minor = 2

    val_fraction: float = 0.05
    test_fraction: float = 0.2

    def expected_train_counts(self) -> dict[str, int]:
        """The card's train counts (NV 5029 ... DF 86 at 7.5 : 0.5 : 2), from the official class sizes."""
        return {c: stratified_train_count(n, self.val_fraction, self.test_fraction) for c, n in CARD_IMAGES.items()}

    def read(self, raw_root: Path | None) -> RawDataset:
        root = self.raw_folder(raw_root)
        csv_path = next((p for p in (root / GROUND_TRUTH, root / GROUND_TRUTH_DIR / GROUND_TRUTH) if p.is_file()), None)
        if csv_path is None:
            raise self.missing_files_error(raw_root, GROUND_TRUTH)
        image_dir = root / IMAGE_DIR
        if not image_dir.is_dir():
            raise self.missing_files_error(raw_root, f"{IMAGE_DIR}/")
        names, labels, lines = read_ground_truth(csv_path, self.id)
        paths = [image_dir / f"{n}.jpg" for n in names]
        missing = [i for i, p in enumerate(paths) if not p.is_file()]
        if missing:
            i = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{self.id}: image {paths[i]} listed on line {lines[i]} of {csv_path} not found{more};"
                f" re-extract {IMAGE_DIR}.zip into {root}"
            )
        rng = np.random.default_rng(self.seed)
        splits = stratified_split(labels, self.val_fraction, self.test_fraction, rng)
        return RawDataset(
            class_names=list(CLASSES),
            labels=labels,
            splits=splits,
            source_files=[csv_path],
            image_paths=paths,
            construction={
                "class_order": list(range(len(CLASSES))),
                "split": "stratified",
                "num_source_images": len(labels),
            },
        )


def read_ground_truth(csv_path: Path, who: str = "skin7") -> tuple[list[str], np.ndarray, list[int]]:
    """Image ids, class indices (into :data:`CLASSES`) and CSV line numbers from the one-hot CSV.

    Raises DatasetError naming the file and the column, line or image at fault.
    """
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            for col in ("image", *CLASSES):
                if col not in header:
                    raise DatasetError(f"{who}: {csv_path}: missing column {col!r} (header is {','.join(header)!r})")
            pos = {col: header.index(col) for col in ("image", *CLASSES)}
            names: list[str] = []
            labels: list[int] = []
            lines: list[int] = []
            seen: dict[str, int] = {}
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) < len(header):
                    raise DatasetError(f"{who}: {csv_path} line {line}: {len(row)} fields, expected {len(header)}")
                image = row[pos["image"]].strip()
                try:
                    values = [float(row[pos[c]]) for c in CLASSES]
                except ValueError:
                    raise DatasetError(
                        f"{who}: {csv_path} line {line} ({image}): non-numeric class value"
                        f" {[row[pos[c]] for c in CLASSES]}"
                    ) from None
                ones = [i for i, v in enumerate(values) if v == 1.0]
                if len(ones) != 1 or any(v != 0.0 for i, v in enumerate(values) if i != ones[0]):
                    shown = ",".join(f"{c}={row[pos[c]].strip()}" for c in CLASSES)
                    raise DatasetError(f"{who}: {csv_path} line {line} ({image}): label is not one-hot ({shown})")
                if image in seen:
                    raise DatasetError(
                        f"{who}: {csv_path} line {line}: image {image} already listed on line {seen[image]}"
                    )
                seen[image] = line
                names.append(image)
                labels.append(ones[0])
                lines.append(line)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{who}: {csv_path}: unreadable CSV ({e})") from None
    if not names:
        raise DatasetError(f"{who}: {csv_path}: no image rows")
    return names, np.asarray(labels, dtype=np.int64), lines
