"""digits-lt: scikit-learn's embedded handwritten digits, made long-tailed (the default dataset)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import DatasetBuilder, RawDataset
from .longtail import long_tailed_subsample
from .prepared import array_sha256
from .registry import register_dataset
from .splits import stratified_split


@register_dataset
@dataclass(frozen=True)
class DigitsLT(DatasetBuilder):
    """The 1,797 8×8 digits of ``sklearn.datasets.load_digits``: a demonstration set.

    Stratified 60 : 10 : 30 split, then a long-tailed train set over classes 0..9 in order
    (``n_max`` = 100, ρ = 10: 100, 77, 60, 46, 36, 28, 22, 17, 13, 10). It needs no
    download, so the whole pipeline runs on a fresh machine; it says nothing about
    medical images.
    """

    name = "digits-lt"
    title = "Digits-LT (demonstration)"
    image_type = "handwritten digits (demo)"
    source_url = "https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset"
    license = "CC BY 4.0 (UCI ML hand-written digits)"
    needs_raw = False
    shipped = True
    demo = True
    default_size = 32

    rho: float = 10.0
    n_max: int = 100
    val_fraction: float = 0.1
    test_fraction: float = 0.3

    def read(self, raw_root: Path | None) -> RawDataset:
        from sklearn.datasets import load_digits  # lazy: only this builder needs scikit-learn's data

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)  # 0..16 -> 0..255
        labels = digits.target.astype(np.int64)
        rng = np.random.default_rng(self.seed)
        splits = stratified_split(labels, self.val_fraction, self.test_fraction, rng)
        train = splits["train"]
        splits["train"] = train[long_tailed_subsample(labels[train], list(range(10)), self.n_max, self.rho, rng)]
        return RawDataset(
            class_names=[str(d) for d in range(10)],
            labels=labels,
            splits=splits,
            source_files=[],
            images=images,
            construction={
                "source": "sklearn.datasets.load_digits",
                "source_sha256": array_sha256(images),
                "class_order": list(range(10)),
            },
        )
