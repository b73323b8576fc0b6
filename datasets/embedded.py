"""Embedded datasets: a constructed dataset shipped inside the package as one file plus a manifest.

The file is a plain, uncompressed ``.npz`` (a zip of ``.npy`` arrays) written with fixed zip
timestamps, so the same arrays always give the same bytes and the manifest's SHA-256 can be
checked, and re-derived, on any machine:

    images  uint8 (N, H, W, 3)       labels  uint8 (N,)
    split   uint8 (N,): 0 train, 1 val, 2 test
    files   bytes (N,): the source file name of every image

The manifest (``<name>.json`` beside it) records the file's SHA-256, the source file's
SHA-256, the recipe and the per-split class counts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError

#: Where embedded files live inside the package.
EMBEDDED_DIR = Path(__file__).parent / "data"
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
ARRAYS = ("images", "labels", "split", "files")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp: the bytes depend on the arrays alone


@dataclass(frozen=True)
class EmbeddedArrays:
    """The four arrays of an embedded file."""

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    files: np.ndarray

    def split_indices(self) -> dict[str, np.ndarray]:
        """train / val / test index arrays (sorted int64)."""
        return {name: np.flatnonzero(self.split == code).astype(np.int64) for name, code in SPLIT_CODES.items()}


def embedded_bytes(arrays: EmbeddedArrays) -> bytes:
    """The embedded file's bytes: an uncompressed npz with fixed timestamps (bit-identical for equal arrays)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in ARRAYS:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(getattr(arrays, name)), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def read_embedded(path: Path, expected_sha256: str | None = None) -> EmbeddedArrays:
    """Read an embedded file; a missing, altered or malformed file is a DatasetError naming it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: embedded dataset file missing (reinstall the package)") from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise DatasetError(
            f"{path}: SHA-256 does not match its manifest (the file was altered or truncated); "
            "reinstall the package or regenerate it"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = EmbeddedArrays(**{name: z[name] for name in ARRAYS})
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: not a valid embedded dataset file ({e})") from None
    n = len(arrays.labels)
    if (
        arrays.images.dtype != np.uint8
        or arrays.images.ndim != 4
        or len(arrays.images) != n
        or len(arrays.split) != n
        or len(arrays.files) != n
    ):
        raise DatasetError(f"{path}: arrays disagree in length or type")
    return arrays


def read_manifest(path: Path) -> dict[str, Any]:
    """The embedded file's manifest (JSON); a DatasetError naming it when missing or corrupt."""
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
        return manifest
    except FileNotFoundError:
        raise DatasetError(f"{path}: embedded dataset manifest missing (reinstall the package)") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: corrupt manifest ({e})") from None


def write_embedded(out: Path, arrays: EmbeddedArrays, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``out`` (the npz) and ``out.with_suffix('.json')`` (the manifest, with the file's SHA-256).

    Both are written to temporary names and renamed, so an interrupted write leaves the old pair.
    """
    data = embedded_bytes(arrays)
    manifest = {**manifest, "file": out.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, payload in (
        (out, data),
        (out.with_suffix(".json"), (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()),
    ):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    return manifest
