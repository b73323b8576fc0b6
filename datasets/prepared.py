"""The prepared dataset: what every builder writes once and training reads forever after.

On disk, one folder per (dataset, cache size)::

    images.npy      uint8 (N, S, S, 3), read memory-mapped
    labels.npy      int64 (N,)
    splits.npz      train / val / test int64 index arrays into images.npy
    manifest.json   identity (construction, counts, checksums) + build info

The folder is written under a temporary name and renamed into place, so a reader never
sees half a dataset and an interrupted prepare leaves only a ``.tmp-*`` folder that the
next prepare removes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import DatasetError

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
#: Manifest keys that describe one build (time, software) rather than the dataset's identity.
BUILD_KEY = "build"


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace) for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """The dataset's identity: sha256 of the manifest without its ``build`` section.

    It covers the construction parameters, the source-file checksums, the class names and
    counts, and checksums of the labels and split indices, but not the decoded pixels
    (which depend on the image library's resampling), so two machines that build the same
    construction from the same files agree.
    """
    identity = {k: v for k, v in manifest.items() if k != BUILD_KEY}
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes."""
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class PreparedDataset:
    """A prepared long-tailed dataset, loaded without decoding a single image."""

    root: Path
    manifest: dict[str, Any]
    images: np.ndarray  # memory-mapped uint8 (N, S, S, 3)
    labels: np.ndarray  # int64 (N,)
    splits: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str | Path) -> "PreparedDataset":
        """Open a prepared folder; raises DatasetError naming the file that is missing or corrupt."""
        root = Path(root)
        manifest_path = root / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{manifest_path}: not found (prepare the dataset first)") from None
        except json.JSONDecodeError as e:
            raise DatasetError(f"{manifest_path}: corrupt JSON ({e})") from None
        try:
            images = np.load(root / "images.npy", mmap_mode="r")
            labels = np.load(root / "labels.npy")
            with np.load(root / "splits.npz") as z:
                splits = {s: z[s].astype(np.int64) for s in SPLITS}
        except (OSError, ValueError, KeyError) as e:
            raise DatasetError(f"{root}: prepared arrays unreadable ({e}); delete the folder and prepare again") from None
        if len(images) != len(labels):
            raise DatasetError(f"{root}: images.npy has {len(images)} rows but labels.npy {len(labels)}")
        return cls(root=root, manifest=manifest, images=images, labels=labels, splits=splits)

    # -- identity and metadata ---------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest["name"]

    @cached_property
    def manifest_sha256(self) -> str:
        return manifest_sha256(self.manifest)

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest["class_names"])

    @property
    def num_classes(self) -> int:
        return len(self.manifest["class_names"])

    @property
    def train_counts(self) -> list[int]:
        return list(self.manifest["split_counts"]["train"])

    @property
    def groups(self) -> dict[str, list[int] | None]:
        return dict(self.manifest["groups"])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    def split_labels(self, split: str) -> np.ndarray:
        return self.labels[self.splits[split]]


def write_prepared(
    out_dir: str | Path,
    images: np.ndarray,
    labels: np.ndarray,
    splits: Mapping[str, np.ndarray],
    manifest: dict[str, Any],
) -> PreparedDataset:
    """Write a prepared dataset atomically and return it loaded.

    ``manifest`` gets ``split_counts``, ``num_images``, ``image_shape`` and the label /
    split checksums filled in here, so they always agree with the arrays.
    """
    out_dir = Path(out_dir)
    labels = np.asarray(labels, dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    num_classes = len(manifest["class_names"])
    manifest = dict(manifest)
    manifest["num_images"] = int(len(labels))
    manifest["image_shape"] = list(images.shape[1:])
    manifest["split_counts"] = {
        s: np.bincount(labels[np.asarray(splits[s])], minlength=num_classes).astype(int).tolist() for s in SPLITS
    }
    manifest["checksums"] = {
        "labels": array_sha256(labels),
        **{f"split_{s}": array_sha256(np.asarray(splits[s], dtype=np.int64)) for s in SPLITS},
    }
    manifest.setdefault(BUILD_KEY, {})["prepared_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir()
        np.save(tmp / "images.npy", images)
        np.save(tmp / "labels.npy", labels)
        np.savez(tmp / "splits.npz", **{s: np.asarray(splits[s], dtype=np.int64) for s in SPLITS})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PreparedDataset.load(out_dir)


def remove_stale_temporaries(out_dir: Path) -> None:
    """Remove ``<out_dir>.tmp-*`` folders left by an interrupted prepare."""
    if out_dir.parent.exists():
        for stale in out_dir.parent.glob(f"{out_dir.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
