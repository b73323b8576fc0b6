"""flower-lt: Oxford Flowers-102 made long-tailed (our construction; the paper trains it from scratch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import DatasetBuilder, RawDataset
from .errors import DatasetError
from .longtail import long_tailed_counts, long_tailed_subsample
from .registry import register_dataset

#: Class names by label (1-based label i -> FLOWER_NAMES[i - 1]). The official files carry no
#: names; these are the widely used mapping that torchvision's ``Flowers102.classes`` ships.
FLOWER_NAMES = (
    "pink primrose",
    "hard-leaved pocket orchid",
    "canterbury bells",
    "sweet pea",
    "english marigold",
    "tiger lily",
    "moon orchid",
    "bird of paradise",
    "monkshood",
    "globe thistle",
    "snapdragon",
    "colt's foot",
    "king protea",
    "spear thistle",
    "yellow iris",
    "globe-flower",
    "purple coneflower",
    "peruvian lily",
    "balloon flower",
    "giant white arum lily",
    "fire lily",
    "pincushion flower",
    "fritillary",
    "red ginger",
    "grape hyacinth",
    "corn poppy",
    "prince of wales feathers",
    "stemless gentian",
    "artichoke",
    "sweet william",
    "carnation",
    "garden phlox",
    "love in the mist",
    "mexican aster",
    "alpine sea holly",
    "ruby-lipped cattleya",
    "cape flower",
    "great masterwort",
    "siam tulip",
    "lenten rose",
    "barbeton daisy",
    "daffodil",
    "sword lily",
    "poinsettia",
    "bolero deep blue",
    "wallflower",
    "marigold",
    "buttercup",
    "oxeye daisy",
    "common dandelion",
    "petunia",
    "wild pansy",
    "primula",
    "sunflower",
    "pelargonium",
    "bishop of llandaff",
    "gaura",
    "geranium",
    "orange dahlia",
    "pink-yellow dahlia",
    "cautleya spicata",
    "japanese anemone",
    "black-eyed susan",
    "silverbush",
    "californian poppy",
    "osteospermum",
    "spring crocus",
    "bearded iris",
    "windflower",
    "tree poppy",
    "gazania",
    "azalea",
    "water lily",
    "rose",
    "thorn apple",
    "morning glory",
    "passion flower",
    "lotus",
    "toad lily",
    "anthurium",
    "frangipani",
    "clematis",
    "hibiscus",
    "columbine",
    "desert-rose",
    "tree mallow",
    "magnolia",
    "cyclamen",
    "watercress",
    "canna lily",
    "hippeastrum",
    "bee balm",
    "ball moss",
    "foxglove",
    "bougainvillea",
    "camellia",
    "mallow",
    "mexican petunia",
    "bromelia",
    "blanket flower",
    "trumpet creeper",
    "blackberry lily",
)


def load_mat(path: Path, keys: Sequence[str], who: str) -> dict[str, Any]:
    """``scipy.io.loadmat`` with one-line errors naming the file and the missing key."""
    import scipy.io  # lazy: only this builder reads .mat files

    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as e:  # scipy raises ValueError, MatReadError, OSError, TypeError... on a bad file
        raise DatasetError(f"{who}: {path}: unreadable .mat file ({type(e).__name__}: {e})") from None
    for key in keys:
        if key not in mat:
            have = ", ".join(k for k in mat if not k.startswith("__"))
            raise DatasetError(f"{who}: {path}: missing key {key!r} (has {have or 'no variables'})")
    loaded: dict[str, Any] = mat
    return loaded


def largest_feasible_n_max(available: Sequence[int], rho: float) -> int:
    """The largest ``n_max`` whose profile ``round(n_max * rho ** (-i / (C - 1)))`` fits ``available``.

    ``available`` is per rank (largest class first). Searches down from ``max(available)``.
    """
    for n_max in range(int(max(available)), 0, -1):
        if all(t <= a for t, a in zip(long_tailed_counts(n_max, rho, len(available)), available)):
            return n_max
    return 0


@register_dataset
@dataclass(frozen=True)
class FlowerLT(DatasetBuilder):
    """Flower-LT: Oxford Flowers-102 (8,189 images, 40-258 per class) with a long-tailed train set.

    Our construction (the paper gives none): from ALL images, per class (seeded) hold out
    ``test_per_class`` test and ``val_per_class`` val images (class-balanced test and val);
    sort the classes by how many images remain (descending, ties by class id); the train
    set keeps ``round(n_max * rho ** (-i / (C - 1)))`` of the i-th class (seeded draw) with
    ρ = 10 and the largest ``n_max`` for which every class has enough images. The official
    ``setid.mat`` split is not used (it is validated when present). Groups: thirds.
    """

    name = "flower-lt"
    title = "Flower-LT (Oxford Flowers-102)"
    image_type = "natural images (flowers)"
    source_url = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    license = "no licence stated (Visual Geometry Group, University of Oxford; research use)"
    raw_files = ("102flowers.tgz (extracted: jpg/image_00001.jpg ...)", "imagelabels.mat", "setid.mat (optional)")
    default_size = 300
    group_thirds = True

    rho: float = 10.0
    test_per_class: int = 20
    val_per_class: int = 5

    def read(self, raw_root: Path | None) -> RawDataset:
        root = self.raw_folder(raw_root)
        labels_path = root / "imagelabels.mat"
        if not labels_path.is_file():
            raise self.missing_files_error(raw_root, "imagelabels.mat")
        if not (root / "jpg").is_dir():
            raise self.missing_files_error(raw_root, "jpg/")
        labels = self._read_labels(labels_path)
        num_classes = int(labels.max()) + 1
        counts = np.bincount(labels, minlength=num_classes)
        paths = [root / "jpg" / f"image_{i:05d}.jpg" for i in range(1, len(labels) + 1)]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{self.id}: image {missing[0]} not found{more}; imagelabels.mat lists {len(labels)}"
                f" images: extract 102flowers.tgz into {root}"
            )
        source_files = [labels_path]
        setid = root / "setid.mat"
        if setid.is_file():
            check_setid(setid, len(labels), self.id)
        hold = self.test_per_class + self.val_per_class
        short = [c for c in range(num_classes) if counts[c] <= hold]
        if short:
            c = short[0]
            raise DatasetError(
                f"{self.id}: {labels_path}: class {c + 1} ({FLOWER_NAMES[c]}) has {counts[c]} images;"
                f" needs more than test_per_class + val_per_class = {hold}"
            )

        rng = np.random.default_rng(self.seed)
        test, val, pool = [], [], []
        for c in range(num_classes):
            members = rng.permutation(np.flatnonzero(labels == c))
            test.append(members[: self.test_per_class])
            val.append(members[self.test_per_class : hold])
            pool.append(members[hold:])
        pool_idx = np.sort(np.concatenate(pool))
        remaining = np.bincount(labels[pool_idx], minlength=num_classes)
        order = sorted(range(num_classes), key=lambda c: (-remaining[c], c))
        n_max = largest_feasible_n_max([int(remaining[c]) for c in order], self.rho)
        train = pool_idx[long_tailed_subsample(labels[pool_idx], order, n_max, self.rho, rng)]
        splits = {"train": train, "val": np.sort(np.concatenate(val)), "test": np.sort(np.concatenate(test))}
        return RawDataset(
            class_names=list(FLOWER_NAMES[:num_classes]),
            labels=labels,
            splits=splits,
            source_files=source_files,
            image_paths=paths,
            construction={
                "class_order": order,
                "n_max_used": n_max,
                "remaining_per_class": remaining.astype(int).tolist(),
                "num_source_images": len(labels),
            },
        )

    def _read_labels(self, labels_path: Path) -> np.ndarray:
        """0-based labels of the official ``imagelabels.mat`` (1-based integers within the 102 flower names)."""
        raw_labels = np.asarray(load_mat(labels_path, ("labels",), self.id)["labels"]).reshape(-1)
        if raw_labels.size == 0:
            raise DatasetError(f"{self.id}: {labels_path}: 'labels' is empty")
        num_classes = int(raw_labels.max())
        if raw_labels.min() < 1 or num_classes > len(FLOWER_NAMES) or np.any(raw_labels != np.round(raw_labels)):
            raise DatasetError(
                f"{self.id}: {labels_path}: labels must be integers in 1..{len(FLOWER_NAMES)},"
                f" got {raw_labels.min()}..{raw_labels.max()}"
            )
        return raw_labels.astype(np.int64) - 1


def check_setid(path: Path, num_images: int, who: str) -> None:
    """The official split ids must be 1-based and partition 1..num_images (a check on the download)."""
    mat = load_mat(path, ("trnid", "valid", "tstid"), who)
    ids = np.concatenate([np.asarray(mat[k]).reshape(-1) for k in ("trnid", "valid", "tstid")]).astype(np.int64)
    if len(ids) != num_images or not np.array_equal(np.sort(ids), np.arange(1, num_images + 1)):
        raise DatasetError(
            f"{who}: {path}: trnid/valid/tstid do not partition image ids 1..{num_images}"
            f" of imagelabels.mat (mismatched download?)"
        )
