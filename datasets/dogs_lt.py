"""dogs-lt: Stanford Dogs made long-tailed from the official train list (the paper trains it from scratch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetBuilder, RawDataset
from .errors import DatasetError
from .flower_lt import load_mat
from .longtail import long_tailed_counts, long_tailed_subsample
from .registry import register_dataset


@register_dataset
@dataclass(frozen=True)
class DogsLT(DatasetBuilder):
    """Dogs-LT: Stanford Dogs (120 breeds; 12,000 train = 100 per class, 8,580 test).

    From the official train list, per class (seeded) hold out ``val_per_class`` images as
    val; the i-th class (index order) then keeps ``min(round(n_max * rho ** (-i / (C - 1))),
    available)`` of the rest (seeded draw), with n_max = 100 and ρ = 10. With 5 val images
    per class only 95 remain, so the first three classes are capped: 95, 95, 95, 94, 93, ... 10
    (realised n_max 95, ρ 9.5). The official test list is the test set, unchanged.
    Class names are the breed names of the ``Images/<wnid>-<breed>`` folders. Groups: thirds.
    """

    name = "dogs-lt"
    title = "Dogs-LT (Stanford Dogs)"
    image_type = "natural images (dog breeds)"
    source_url = "http://vision.stanford.edu/aditya86/ImageNetDogs/"
    license = "ImageNet terms: non-commercial research and educational use"
    raw_files = (
        "images.tar (extracted: Images/<wnid>-<breed>/*.jpg)",
        "lists.tar (extracted: lists/train_list.mat, lists/test_list.mat)",
    )
    default_size = 300
    group_thirds = True

    rho: float = 10.0
    n_max: int = 100
    val_per_class: int = 5

    def read(self, raw_root: Path | None) -> RawDataset:
        root = self.raw_folder(raw_root)
        lists = {}
        for split in ("train", "test"):
            fname = f"{split}_list.mat"
            path = next((p for p in (root / "lists" / fname, root / fname) if p.is_file()), None)
            if path is None:
                raise self.missing_files_error(raw_root, f"lists/{fname}")
            lists[split] = (path, *self._read_list(path))
        image_dir = root / "Images"
        if not image_dir.is_dir():
            raise self.missing_files_error(raw_root, "Images/")
        (train_mat, train_files, train_labels), (test_mat, test_files, test_labels) = lists["train"], lists["test"]
        num_classes = int(train_labels.max()) + 1
        self._check_labels(train_mat, train_labels, test_mat, test_labels, num_classes)
        folders = self._class_folders([(train_mat, train_files, train_labels), (test_mat, test_files, test_labels)])
        class_names = [folders[c].split("-", 1)[1] if "-" in folders[c] else folders[c] for c in range(num_classes)]
        files = train_files + test_files
        paths = [image_dir / f for f in files]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{self.id}: image {missing[0]} (in the file lists) not found{more}; extract images.tar into {root}"
            )

        rng = np.random.default_rng(self.seed)
        val, pool = [], []
        for c in range(num_classes):
            members = rng.permutation(np.flatnonzero(train_labels == c))
            val.append(members[: self.val_per_class])
            pool.append(members[self.val_per_class :])
        pool_idx = np.sort(np.concatenate(pool))
        order = list(range(num_classes))
        train = pool_idx[long_tailed_subsample(train_labels[pool_idx], order, self.n_max, self.rho, rng)]
        n_train = len(train_files)
        splits = {
            "train": train,
            "val": np.sort(np.concatenate(val)),
            "test": np.arange(n_train, n_train + len(test_files), dtype=np.int64),
        }
        available = np.bincount(train_labels[pool_idx], minlength=num_classes)
        target = long_tailed_counts(self.n_max, self.rho, num_classes)
        return RawDataset(
            class_names=class_names,
            labels=np.concatenate([train_labels, test_labels]),
            splits=splits,
            source_files=[train_mat, test_mat],
            image_paths=paths,
            construction={
                "class_order": order,
                "target_counts": target,
                "capped_classes": [c for c in order if target[c] > available[c]],
                "n_max_realised": int(min(self.n_max, available[0])),
            },
        )

    def _check_labels(
        self, train_mat: Path, train_labels: np.ndarray, test_mat: Path, test_labels: np.ndarray, num_classes: int
    ) -> None:
        """Every class keeps images for training after the validation draw; test labels are train labels."""
        train_counts = np.bincount(train_labels, minlength=num_classes)
        if train_counts.min() <= self.val_per_class:
            c = int(np.argmin(train_counts))
            raise DatasetError(
                f"{self.id}: {train_mat}: class {c + 1} has {train_counts[c]} train images;"
                f" needs more than val_per_class = {self.val_per_class}"
            )
        if test_labels.max() >= num_classes:
            raise DatasetError(
                f"{self.id}: {test_mat}: label {test_labels.max() + 1} not in the train list's 1..{num_classes}"
            )

    def _class_folders(self, lists: list[tuple[Path, list[str], np.ndarray]]) -> dict[int, str]:
        """Each label's image folder (``n02085620-Chihuahua``); a label split over two folders is refused."""
        folders: dict[int, str] = {}
        for mat, files, labels in lists:
            for f, y in zip(files, labels):
                folder = f.split("/", 1)[0]
                if folders.setdefault(int(y), folder) != folder:
                    raise DatasetError(
                        f"{self.id}: {mat}: {f} has label {y + 1}, but label {y + 1} is folder {folders[int(y)]}"
                    )
        return folders

    def _read_list(self, path: Path) -> tuple[list[str], np.ndarray]:
        """Relative image paths and 0-based labels of an official ``*_list.mat``."""
        mat = load_mat(path, ("file_list", "labels"), self.id)
        try:
            files = [str(np.ravel(cell)[0]).strip() for cell in np.ravel(mat["file_list"])]
            raw = np.asarray(mat["labels"], dtype=np.float64).reshape(-1)
        except (IndexError, TypeError, ValueError) as e:
            raise DatasetError(
                f"{self.id}: {path}: 'file_list' must be a cell array of paths and 'labels' numbers ({e})"
            ) from None
        if len(files) != len(raw) or not files:
            raise DatasetError(f"{self.id}: {path}: {len(files)} files but {len(raw)} labels")
        if raw.min() < 1 or np.any(raw != np.round(raw)):
            raise DatasetError(f"{self.id}: {path}: labels must be 1-based integers, got min {raw.min()}")
        return files, raw.astype(np.int64) - 1
