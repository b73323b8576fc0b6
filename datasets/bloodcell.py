"""bloodcell-lt: real peripheral-blood-cell microscopy images (PBC / BloodMNIST, 28 px), the embedded default.

The constructed set ships inside the package (``datasets/data/bloodcell_lt.npz`` and its
manifest ``bloodcell_lt.json``), so it needs no download. :func:`build_bloodcell_lt`
re-derives it bit-identically from a BloodMNIST-format npz (``bloodmnist_pbc_28.npz`` in
``shared/data/bloodcell/``, or the official ``bloodmnist.npz``, whose split and counts
differ and which has no file names). The card is ``docs/datasets/bloodcell-lt.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import DatasetBuilder, RawDataset
from .embedded import EMBEDDED_DIR, SPLIT_CODES, EmbeddedArrays, read_embedded, read_manifest, write_embedded
from .errors import DatasetError
from .longtail import long_tailed_counts, long_tailed_subsample
from .prepared import file_sha256
from .registry import register_dataset

#: BloodMNIST's labels 0..7, named as the PBC folders name them.
CLASS_NAMES = (
    "basophil",
    "eosinophil",
    "erythroblast",
    "immature granulocyte",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)
SHIPPED_FILE = EMBEDDED_DIR / "bloodcell_lt.npz"


@dataclass(frozen=True)
class BloodCellRecipe:
    """How the embedded set is drawn from a BloodMNIST-format npz (every choice, and why, in the card).

    ``class_order``: head to tail by how often a cell type is met in a normal peripheral smear
    (neutrophil, lymphocyte, platelet, monocyte, eosinophil), then the cells that are rare or
    pathological there (immature granulocyte, erythroblast, basophil). ``n_max`` and ``rho``
    give 400 … 10 training images with the shared profile; val and test are class-balanced.
    """

    class_order: tuple[int, ...] = (6, 4, 7, 5, 1, 3, 2, 0)
    n_max: int = 400
    rho: float = 40.0
    val_per_class: int = 40
    test_per_class: int = 120
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "class_order": list(self.class_order),
            "n_max": self.n_max,
            "rho": self.rho,
            "val_per_class": self.val_per_class,
            "test_per_class": self.test_per_class,
            "seed": self.seed,
        }


def _source_split(z: Any, path: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, file names) of one split of a BloodMNIST-format npz."""
    try:
        images, labels = np.asarray(z[f"{split}_images"]), np.asarray(z[f"{split}_labels"]).reshape(-1)
    except KeyError as e:
        raise DatasetError(f"{path}: missing array {e} (not a BloodMNIST-format npz)") from None
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28, 3) or len(images) != len(labels):
        raise DatasetError(
            f"{path}: {split}_images must be uint8 (N, 28, 28, 3) with one label each, "
            f"got {images.dtype} {images.shape} and {len(labels)} labels"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise DatasetError(f"{path}: {split}_labels outside 0..{len(CLASS_NAMES) - 1}")
    # the official file has no file names: name each image by its split and index there
    files = (
        np.asarray(z[f"{split}_files"]).astype(str)
        if f"{split}_files" in z.files
        else np.array([f"{split}/{i:05d}" for i in range(len(labels))])
    )
    return images, labels.astype(np.int64), files


def _balanced_draw(labels: np.ndarray, per_class: int, rng: np.random.Generator, path: Path, split: str) -> np.ndarray:
    keep = []
    for c in range(len(CLASS_NAMES)):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DatasetError(
                f"{path}: {split} has {len(members)} {CLASS_NAMES[c]} images, the recipe needs {per_class}"
            )
        keep.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(keep))


def build_bloodcell_lt(
    source: Path, recipe: BloodCellRecipe = BloodCellRecipe()
) -> tuple[EmbeddedArrays, dict[str, Any]]:
    """Draw the embedded set from ``source`` (a BloodMNIST-format npz); returns the arrays and the manifest.

    One seeded generator draws, in order: the long-tailed train subset (shared profile, inside
    each class), then ``val_per_class`` per class from val, then ``test_per_class`` from test.
    """
    source = Path(source)
    if not source.is_file():
        raise DatasetError(
            f"{source}: not found. Use shared/data/bloodcell/bloodmnist_pbc_28.npz or the official "
            "bloodmnist.npz (https://zenodo.org/records/10519652)"
        )
    rng = np.random.default_rng(recipe.seed)
    try:
        z = np.load(source, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{source}: unreadable npz ({e})") from None
    with z:
        parts = {s: _source_split(z, source, s) for s in SPLIT_CODES}
    train_labels = parts["train"][1]
    available = np.bincount(train_labels, minlength=len(CLASS_NAMES))
    chosen = {"train": long_tailed_subsample(train_labels, recipe.class_order, recipe.n_max, recipe.rho, rng)}
    chosen["val"] = _balanced_draw(parts["val"][1], recipe.val_per_class, rng, source, "val")
    chosen["test"] = _balanced_draw(parts["test"][1], recipe.test_per_class, rng, source, "test")
    arrays = EmbeddedArrays(
        images=np.concatenate([parts[s][0][chosen[s]] for s in SPLIT_CODES]),
        labels=np.concatenate([parts[s][1][chosen[s]] for s in SPLIT_CODES]).astype(np.uint8),
        split=np.concatenate([np.full(len(chosen[s]), code, np.uint8) for s, code in SPLIT_CODES.items()]),
        files=np.concatenate([parts[s][2][chosen[s]] for s in SPLIT_CODES]).astype("S"),
    )
    counts = {
        s: np.bincount(arrays.labels[arrays.split == code], minlength=len(CLASS_NAMES)).tolist()
        for s, code in SPLIT_CODES.items()
    }
    realised = [counts["train"][c] for c in recipe.class_order]
    if realised != long_tailed_counts(recipe.n_max, recipe.rho, len(recipe.class_order)):
        raise DatasetError(
            f"{source}: too few training images for the recipe (source train counts {available.tolist()})"
        )
    manifest = {
        "name": "bloodcell-lt",
        "class_names": list(CLASS_NAMES),
        "recipe": recipe.as_dict(),
        "source": {"file": source.name, "sha256": file_sha256(source)},
        "split_counts": counts,
    }
    return arrays, manifest


def write_bloodcell_lt(source: Path, out: Path = SHIPPED_FILE) -> dict[str, Any]:
    """Build from ``source`` and write ``out`` and its manifest; returns the manifest."""
    arrays, manifest = build_bloodcell_lt(source)
    return write_embedded(Path(out), arrays, manifest)


@register_dataset
@dataclass(frozen=True)
class BloodCellLT(DatasetBuilder):
    """Real blood-cell microscopy (PBC, 8 classes, 28 px) made long-tailed; shipped, no download.

    Train 400, 236, 139, 82, 49, 29, 17, 10 images (neutrophil … basophil; ρ = 40), val 40
    and test 120 images per class. Built by :func:`build_bloodcell_lt`; see the card.
    """

    name = "bloodcell-lt"
    title = "BloodCell-LT"
    image_type = "peripheral blood cell microscopy (28 px)"
    source_url = "https://doi.org/10.17632/snkd93bnjr.1"
    license = "CC BY 4.0 (PBC dataset, Acevedo et al. 2020; recipe after MedMNIST v2)"
    needs_raw = False
    shipped = True
    default_size = 28
    note = (
        "Real peripheral-blood-cell microscopy (PBC dataset, 8 classes), small and low resolution: "
        "28 px images from one hospital's smears, 962 training images (ρ = 40), 120 test images per class. "
        "It ranks methods on real medical images in minutes on a CPU; it does not replace the "
        "full-resolution datasets."
    )

    def read(self, raw_root: Path | None) -> RawDataset:
        if self.seed != BloodCellRecipe().seed:
            raise DatasetError(
                f"{self.id} is embedded with seed {BloodCellRecipe().seed}; for other draws use "
                "medmnist-lt:bloodmnist with --raw-root"
            )
        manifest = read_manifest(SHIPPED_FILE.with_suffix(".json"))
        arrays = read_embedded(SHIPPED_FILE, manifest["sha256"])
        return RawDataset(
            class_names=list(manifest["class_names"]),
            labels=arrays.labels.astype(np.int64),
            splits=arrays.split_indices(),
            source_files=[],
            images=arrays.images,
            construction={
                "embedded_sha256": manifest["sha256"],
                "source": manifest["source"],
                "recipe": manifest["recipe"],
                "files_sha256": hashlib.sha256(b"\n".join(arrays.files)).hexdigest(),
            },
        )
