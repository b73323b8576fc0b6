"""MedMNIST made long-tailed: ``pathmnist-lt`` (the paper's) and ``medmnist-lt:<flag>`` (any 2-D set)."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .base import DatasetBuilder, RawDataset
from .errors import DatasetError
from .longtail import long_tailed_counts, long_tailed_subsample
from .registry import register_dataset

MEDMNIST_SIZES = (28, 64, 128, 224)
MEDMNIST_URL = "https://zenodo.org/records/10519652"


def medmnist_file(flag: str, size: int) -> str:
    """Official file name: ``pathmnist.npz`` at 28 px, ``pathmnist_224.npz`` etc. for MedMNIST+."""
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


@register_dataset
@dataclass(frozen=True)
class MedMNISTLT(DatasetBuilder):
    """Any 2-D multi-class MedMNIST set with a long-tailed training split.

    Read through the ``medmnist`` package from the official ``<flag>[_<size>].npz``.
    Official val and test are kept unchanged. The training split keeps, for the i-th class
    of ``class_order``, ``round(n_max * rho ** (-i / (C - 1)))`` images (seeded draw).
    Unless given, ``class_order`` is by decreasing official training count (ties by label)
    and ``n_max`` is the largest official training class. Where the caller allows downloads
    (the command line: ``MEDLT_ALLOW_DOWNLOAD=1``), medmnist downloads a missing file.
    """

    name = "medmnist-lt"
    title = "MedMNIST-LT"
    source_url = MEDMNIST_URL
    license = "CC BY 4.0 (varies per MedMNIST subset)"
    default_size = 28
    downloadable = True
    takes_argument: ClassVar[bool] = True

    flag: str = "pathmnist"
    rho: float = 100.0
    n_max: int | None = None
    class_order: tuple[int, ...] | None = None
    medmnist_size: int = 28

    @classmethod
    def from_argument(cls, argument: str, **params: Any) -> MedMNISTLT:
        return cls(flag=argument, **params)

    @property
    def id(self) -> str:
        return f"{self.name}:{self.flag}"

    @property
    def raw_files(self) -> tuple[str, ...]:  # type: ignore[override]  # a ClassVar elsewhere; here it depends on the flag
        return (medmnist_file(self.flag, self.medmnist_size),)

    @property
    def image_type(self) -> str:  # type: ignore[override]  # a ClassVar elsewhere; here it depends on the flag
        description: str = self._info().get("description", "")
        return description.split(".")[0][:80]

    def _info(self) -> dict[str, Any]:
        from medmnist import INFO  # lazy: only this builder needs medmnist

        if self.flag not in INFO:
            two_d = sorted(k for k, v in INFO.items() if not k.endswith("3d"))
            raise DatasetError(f"unknown MedMNIST flag {self.flag!r}; valid: {', '.join(two_d)}")
        info: dict[str, Any] = INFO[self.flag]
        if self.flag.endswith("3d") or info["task"] != "multi-class":
            raise DatasetError(
                f"{self.flag}: only 2-D multi-class MedMNIST sets can be made long-tailed (task is {info['task']!r})"
            )
        return info

    def expected_train_counts(self) -> dict[str, int] | None:
        """With ``n_max`` and ``class_order`` given (pathmnist-lt: 9366 ... 94), the profile's count per class."""
        if self.n_max is None or self.class_order is None:
            return None
        names = self._info()["label"]
        counts = long_tailed_counts(int(self.n_max), self.rho, len(self.class_order))
        return {names[str(c)]: n for c, n in zip(self.class_order, counts)}

    def download(self, raw_root: Path) -> None:
        """Let medmnist fetch the official npz into ``raw_root`` when it is not there (needs a network)."""
        import medmnist  # lazy: as in _info

        if not (raw_root / medmnist_file(self.flag, self.medmnist_size)).exists():
            cls = getattr(medmnist, self._info()["python_class"])
            cls(split="train", root=str(raw_root), download=True, size=self.medmnist_size)

    def read(self, raw_root: Path | None) -> RawDataset:
        import medmnist  # lazy: as in _info

        info = self._info()
        if self.medmnist_size not in MEDMNIST_SIZES:
            raise DatasetError(f"{self.id}: medmnist_size must be one of {MEDMNIST_SIZES}, got {self.medmnist_size}")
        fname = medmnist_file(self.flag, self.medmnist_size)
        path = self.raw_folder(raw_root) / fname
        if not path.exists():
            raise self.missing_files_error(raw_root, fname)
        cls = getattr(medmnist, info["python_class"])
        images, labels, splits, start = [], [], {}, 0
        for split in ("train", "val", "test"):
            try:
                ds = cls(split=split, root=str(raw_root), download=False, size=self.medmnist_size)
                imgs, labs = np.asarray(ds.imgs), np.asarray(ds.labels).reshape(-1)
            except KeyError as e:
                raise DatasetError(f"{path}: missing array {e} (not an official MedMNIST npz)") from None
            except (OSError, ValueError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise DatasetError(f"{path}: unreadable ({type(e).__name__}: {e})") from None
            if imgs.dtype != np.uint8 or len(imgs) != len(labs):
                raise DatasetError(f"{path}: {split}_images must be uint8 with one label per image")
            images.append(imgs)
            labels.append(labs.astype(np.int64))
            splits[split] = np.arange(start, start + len(labs), dtype=np.int64)
            start += len(labs)
        all_labels = np.concatenate(labels)
        num_classes = len(info["label"])
        train_counts = np.bincount(labels[0], minlength=num_classes)
        order = (
            list(self.class_order)
            if self.class_order is not None
            else sorted(range(num_classes), key=lambda c: (-train_counts[c], c))
        )
        if sorted(order) != list(range(num_classes)):
            raise DatasetError(f"{self.id}: class_order must be a permutation of 0..{num_classes - 1}, got {order}")
        n_max = int(self.n_max) if self.n_max is not None else int(train_counts.max())
        rng = np.random.default_rng(self.seed)
        splits["train"] = splits["train"][long_tailed_subsample(labels[0], order, n_max, self.rho, rng)]
        class_names = [info["label"][str(i)] for i in range(num_classes)]
        return RawDataset(
            class_names=class_names,
            labels=all_labels,
            splits=splits,
            source_files=[path],
            images=np.concatenate(images),
            construction={"class_order": order, "n_max_used": n_max},
        )


@register_dataset
@dataclass(frozen=True)
class PathMNISTLT(MedMNISTLT):
    """PathMNIST-LT, the paper's construction: ρ = 100, n_max = 9366, the first author's class order.

    Train counts 9366, 5267, 2962, 1666, 937, 527, 296, 167, 94 for adipose, background,
    debris, colorectal adenocarcinoma epithelium, mucus, normal colon mucosa,
    cancer-associated stroma, smooth muscle, lymphocytes. Official val/test unchanged.
    """

    name = "pathmnist-lt"
    title = "PathMNIST-LT"
    image_type = "colon pathology"
    takes_argument: ClassVar[bool] = False

    flag: str = "pathmnist"
    rho: float = 100.0
    n_max: int | None = 9366
    class_order: tuple[int, ...] | None = field(default=(0, 1, 2, 8, 4, 6, 7, 5, 3))

    @property
    def id(self) -> str:
        return self.name
