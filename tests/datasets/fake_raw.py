"""Tiny raw datasets written in exactly the official file formats (names, headers, keys, shapes, layouts).

Images are tiny (4×4) and uniformly coloured by class, so a test can check that every
prepared image still sits next to its own label after splitting, compaction and decoding.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def class_color(c: int) -> tuple[int, int, int]:
    """A distinct RGB colour per class (distinguishable after JPEG and resizing)."""
    return (40 * (c % 6) + 20, 60 * ((c // 6) % 4) + 20, 80 * ((c // 24) % 3) + 20)


def gray_value(c: int) -> int:
    """A distinct gray level per class (grayscale sources such as ChestX-ray14)."""
    return 10 + (24 * c) % 240


def image_bytes(c: int, fmt: str = "JPEG", size: int = 4, gray: bool = False) -> bytes:
    im = Image.new("L", (size, size), gray_value(c)) if gray else Image.new("RGB", (size, size), class_color(c))
    buf = io.BytesIO()
    im.save(buf, format=fmt, quality=95) if fmt == "JPEG" else im.save(buf, format=fmt)
    return buf.getvalue()


class Blobs:
    """Encoded tiny images cached per (class, format): writing thousands of files stays fast."""

    def __init__(self, fmt: str = "JPEG", gray: bool = False):
        self.fmt, self.gray, self._cache = fmt, gray, {}

    def __call__(self, c: int) -> bytes:
        if c not in self._cache:
            self._cache[c] = image_bytes(c, self.fmt, gray=self.gray)
        return self._cache[c]


def write_file(path: Path, data: bytes | None) -> None:
    """``data`` None writes an empty stand-in (for tests of ``read`` that never decode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data or b"")


def assert_images_match_labels(ds, num_classes: int, gray: bool = False, tol: int = 8) -> None:
    """Every prepared image has its class's colour (checks the image/label alignment)."""
    if gray:
        colors = np.array([[gray_value(c)] * 3 for c in range(num_classes)], dtype=np.float64)
    else:
        colors = np.array([class_color(c) for c in range(num_classes)], dtype=np.float64)
    means = np.asarray(ds.images, dtype=np.float64).mean(axis=(1, 2))
    assert np.abs(means - colors[ds.labels]).max() <= tol


# -- skin7: ISIC 2018 Task 3 ----------------------------------------------------------
SKIN7_CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
SKIN7_REAL_COUNTS = {"MEL": 1113, "NV": 6705, "BCC": 514, "AKIEC": 327, "BKL": 1099, "DF": 115, "VASC": 142}


def write_skin7(root: Path, counts: dict[str, int], images: bool = True, shuffle_seed: int = 0) -> list[str]:
    """``ISIC2018_Task3_Training_GroundTruth.csv`` + ``ISIC2018_Task3_Training_Input/ISIC_xxxxxxx.jpg``."""
    labels = [c for c, name in enumerate(SKIN7_CLASSES) for _ in range(counts.get(name, 0))]
    labels = list(np.random.default_rng(shuffle_seed).permutation(labels))
    names = [f"ISIC_{24306 + i:07d}" for i in range(len(labels))]
    lines = ["image,MEL,NV,BCC,AKIEC,BKL,DF,VASC"]
    for name, y in zip(names, labels):
        lines.append(",".join([name, *("1.0" if c == y else "0.0" for c in range(7))]))
    root.mkdir(parents=True, exist_ok=True)
    (root / "ISIC2018_Task3_Training_GroundTruth.csv").write_text("\n".join(lines) + "\n")
    blobs = Blobs("JPEG")
    folder = root / "ISIC2018_Task3_Training_Input"
    folder.mkdir(exist_ok=True)
    for name, y in zip(names, labels):
        write_file(folder / f"{name}.jpg", blobs(int(y)) if images else None)
    return names


# -- xray9: ChestX-ray14 ----------------------------------------------------------------
XRAY_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)
XRAY9_CLASSES = (
    "Atelectasis",
    "Effusion",
    "Nodule",
    "Pneumothorax",
    "Mass",
    "Cardiomegaly",
    "Emphysema",
    "Edema",
    "Hernia",
)
XRAY9_REAL_COUNTS = {
    "Atelectasis": 4210,
    "Effusion": 3955,
    "Nodule": 2705,
    "Pneumothorax": 2194,
    "Mass": 2139,
    "Cardiomegaly": 1093,
    "Emphysema": 892,
    "Edema": 628,
    "Hernia": 110,
}


def write_xray9(
    root: Path,
    findings: Sequence[str],
    patients: Sequence[int] | None = None,
    images: bool = True,
    csv_name: str = "Data_Entry_2017.csv",
    layout: str = "images",
) -> list[str]:
    """``Data_Entry_2017.csv`` (2017: trailing comma on every line; v2020: none) + PNGs.

    ``layout="images"``: ``images/<name>.png``; ``"kaggle"``: ``images_001/images/...`` in blocks.
    """
    patients = list(patients) if patients is not None else list(range(1, len(findings) + 1))
    follow: dict[int, int] = {}
    names = []
    trail = "," if csv_name == "Data_Entry_2017.csv" else ""
    lines = [XRAY_HEADER + trail]
    for f, p in zip(findings, patients):
        k = follow.get(p, 0)
        follow[p] = k + 1
        name = f"{p:08d}_{k:03d}.png"
        names.append(name)
        lines.append(f"{name},{f},{k},{p},58,M,PA,2682,2749,0.14300000000000002,0.14300000000000002{trail}")
    root.mkdir(parents=True, exist_ok=True)
    (root / csv_name).write_text("\n".join(lines) + "\n")
    blobs = Blobs("PNG", gray=True)
    for i, (name, f) in enumerate(zip(names, findings)):
        c = XRAY9_CLASSES.index(f) if f in XRAY9_CLASSES else 0
        folder = root / "images" if layout == "images" else root / f"images_{i // 50 + 1:03d}" / "images"
        write_file(folder / name, blobs(c) if images else None)
    return names


# -- pathmnist-lt / medmnist-lt: MedMNIST npz ------------------------------------------
PATHMNIST_REAL_TRAIN = (9366, 9509, 10360, 10401, 8006, 12182, 7886, 9401, 12885)


def write_medmnist(
    root: Path,
    flag: str,
    train_counts: Sequence[int],
    val_counts: Sequence[int],
    test_counts: Sequence[int],
    size: int = 28,
    hw: int = 4,
    channels: int = 3,
) -> Path:
    """``<flag>.npz`` (``<flag>_<size>.npz`` for MedMNIST+): ``{split}_images`` N×H×W[×3] uint8,
    ``{split}_labels`` N×1."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, counts in (("train", train_counts), ("val", val_counts), ("test", test_counts)):
        labels = rng.permutation(np.repeat(np.arange(len(counts)), counts)).astype(np.uint8)
        colors = np.array([class_color(c) for c in range(len(counts))], dtype=np.uint8)
        px = colors[labels][:, None, None, :channels] if channels == 3 else colors[labels][:, None, None, 0]
        shape = (len(labels), hw, hw, 3) if channels == 3 else (len(labels), hw, hw)
        arrays[f"{split}_images"] = np.ascontiguousarray(np.broadcast_to(px, shape))
        arrays[f"{split}_labels"] = labels.reshape(-1, 1)
    root.mkdir(parents=True, exist_ok=True)
    path = root / (f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz")
    np.savez(path, **arrays)
    return path


# -- flower-lt: Oxford Flowers-102 -------------------------------------------------------
def write_flowers(
    root: Path, per_class: Sequence[int], images: bool = True, setid: bool = True, shuffle_seed: int = 0
) -> np.ndarray:
    """``jpg/image_00001.jpg`` ..., ``imagelabels.mat`` (``labels`` uint8 (1, N), 1-based), ``setid.mat``."""
    import scipy.io

    labels = np.random.default_rng(shuffle_seed).permutation(np.repeat(np.arange(1, len(per_class) + 1), per_class))
    root.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "imagelabels.mat", {"labels": labels.astype(np.uint8).reshape(1, -1)})
    if setid:
        ids = np.random.default_rng(1).permutation(np.arange(1, len(labels) + 1))
        a, b = len(ids) // 8, len(ids) // 4
        scipy.io.savemat(
            root / "setid.mat",
            {
                "trnid": np.sort(ids[:a]).astype(np.uint16).reshape(1, -1),
                "valid": np.sort(ids[a:b]).astype(np.uint16).reshape(1, -1),
                "tstid": np.sort(ids[b:]).astype(np.uint16).reshape(1, -1),
            },
        )
    blobs = Blobs("JPEG")
    (root / "jpg").mkdir(exist_ok=True)
    for i, y in enumerate(labels, start=1):
        write_file(root / "jpg" / f"image_{i:05d}.jpg", blobs(int(y) - 1) if images else None)
    return labels - 1


# -- dogs-lt: Stanford Dogs ---------------------------------------------------------------
DOG_FOLDERS = (
    "n02085620-Chihuahua",
    "n02085782-Japanese_spaniel",
    "n02085936-Maltese_dog",
    "n02086079-Pekinese",
    "n02086240-Shih-Tzu",
    "n02086646-Blenheim_spaniel",
    "n02086910-papillon",
    "n02087046-toy_terrier",
)


def dog_folder(c: int) -> str:
    return DOG_FOLDERS[c] if c < len(DOG_FOLDERS) else f"n{2090000 + c:08d}-breed_{c}"


def _cell(strings: Sequence[str]) -> np.ndarray:
    cell = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cell[i, 0] = np.array([s])
    return cell


def write_dogs(
    root: Path,
    train_per_class: Sequence[int],
    test_per_class: Sequence[int],
    images: bool = True,
    lists_dir: str = "lists",
) -> None:
    """``Images/<wnid>-<breed>/<wnid>_<n>.jpg`` + ``lists/{train,test}_list.mat``.

    The lists hold ``file_list`` and ``annotation_list`` (cell arrays, N×1) and ``labels``
    (N×1 double, 1-based), as in the official ``lists.tar``.
    """
    import scipy.io

    blobs = Blobs("JPEG")
    counter = 0
    out = root / lists_dir if lists_dir else root
    out.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        files, labels = [], []
        for c, n in enumerate(per_class):
            folder = dog_folder(c)
            wnid = folder.split("-", 1)[0]
            for _ in range(n):
                counter += 1
                rel = f"{folder}/{wnid}_{counter}.jpg"
                files.append(rel)
                labels.append(c + 1)
                write_file(root / "Images" / rel, blobs(c) if images else None)
        scipy.io.savemat(
            out / f"{split}_list.mat",
            {
                "file_list": _cell(files),
                "annotation_list": _cell([f[:-4] for f in files]),
                "labels": np.asarray(labels, dtype=np.float64).reshape(-1, 1),
            },
        )
