"""The prepared dataset: what every builder writes once and training reads forever after.

On disk, one folder per (dataset, cache size)::

    images.npy      uint8 (N, S, S, 3), read memory-mapped
    labels.npy      int64 (N,)
    splits.npz      train / val / test int64 index arrays into images.npy
    manifest.json   identity (construction, counts, checksums) + build info

The folder is written under a temporary name and renamed into place, so a reader never
sees half a dataset and an interrupted prepare leaves only a ``.tmp-<host>-<pid>`` folder
that the next prepare removes once that process is dead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

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
    def load(cls, root: str | Path) -> PreparedDataset:
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
            raise DatasetError(
                f"{root}: prepared arrays unreadable ({e}); delete the folder and prepare again"
            ) from None
        problem = inconsistency(manifest, images, labels, splits)
        if problem:
            raise DatasetError(f"{root}: {problem}; delete the folder and prepare again")
        return cls(root=root, manifest=manifest, images=images, labels=labels, splits=splits)

    # -- identity and metadata ---------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.manifest["name"])

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
        labels: np.ndarray = self.labels[self.splits[split]]
        return labels


#: Manifest keys every load needs.
REQUIRED_KEYS = ("name", "class_names", "groups", "split_counts", "num_images")


def inconsistency(
    manifest: Any, images: np.ndarray, labels: np.ndarray, splits: Mapping[str, np.ndarray]
) -> str | None:
    """What is wrong between a manifest and its arrays, or None; cheap (shapes, counts, index ranges).

    The full checksums are :func:`datasets.verify.verify_prepared`'s job (``datasets verify``).
    """
    if not isinstance(manifest, dict):
        return f"{MANIFEST} is not a JSON object"
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        return f"{MANIFEST} has no {', '.join(repr(k) for k in missing)}"
    n, num_classes = len(labels), len(manifest["class_names"])
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        return f"images.npy is {images.dtype} {images.shape}, expected uint8 (N, S, S, 3)"
    if len(images) != n:
        return f"images.npy has {len(images)} rows but labels.npy {n}"
    if manifest["num_images"] != n:
        return f"{MANIFEST} says num_images {manifest['num_images']} but labels.npy has {n}"
    if "image_shape" in manifest and list(images.shape[1:]) != list(manifest["image_shape"]):
        return f"images.npy has images of {list(images.shape[1:])} but {MANIFEST} says {manifest['image_shape']}"
    if labels.ndim != 1 or (n and (labels.min() < 0 or labels.max() >= num_classes)):
        return f"labels.npy must hold one label in 0..{num_classes - 1} per image"
    counts = manifest["split_counts"]
    for s in SPLITS:
        idx = splits[s]
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            return f"splits.npz {s} indexes outside 0..{n - 1}"
        if (
            not isinstance(counts, dict)
            or not isinstance(counts.get(s), list)
            or len(counts[s]) != num_classes
            or not all(isinstance(c, int) and c >= 0 for c in counts[s])
        ):
            return f"{MANIFEST} split_counts.{s} is not a list of {num_classes} counts"
        if sum(counts[s]) != len(idx):
            return f"splits.npz {s} has {len(idx)} images but {MANIFEST} split_counts.{s} sums to {sum(counts[s])}"
    return None


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
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{socket.gethostname()}-{os.getpid()}")
    try:
        tmp.mkdir()
        np.save(tmp / "images.npy", images)
        np.save(tmp / "labels.npy", labels)
        split_arrays: dict[str, Any] = {s: np.asarray(splits[s], dtype=np.int64) for s in SPLITS}
        np.savez(tmp / "splits.npz", **split_arrays)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PreparedDataset.load(out_dir)


def remove_stale_temporaries(out_dir: Path) -> None:
    """Remove the ``<out_dir>.tmp-<host>-<pid>`` folders of interrupted prepares: those whose process is dead.

    A live process's folder is its work in progress, and one from another host (a shared cache)
    cannot be checked here, so both are left alone.
    """
    if out_dir.parent.exists():
        for stale in out_dir.parent.glob(f"{out_dir.name}.tmp-*"):
            if not _owner_may_be_alive(stale.name[len(out_dir.name) + len(".tmp-") :]):
                shutil.rmtree(stale, ignore_errors=True)


def _owner_may_be_alive(owner: str) -> bool:
    """``<host>-<pid>`` (or a bare ``<pid>``, the older name): could that process still be writing?"""
    host, _, pid = owner.rpartition("-")
    if not pid.isdigit() or host not in ("", socket.gethostname()):
        return True
    if int(pid) == os.getpid():
        return False  # ours from an earlier attempt: this process writes one folder at a time, under its lock
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True
