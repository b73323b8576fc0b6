"""Training-input throughput: prepared uint8 arrays + batch affine augmentation vs per-image PIL.

Both pipelines deliver the paper's training input — random rotation in [-30°, 30°],
300×300 images, random 224×224 crop, horizontal flip, ImageNet normalisation — as float
batches (B, 3, 224, 224) to the model, from the same JPEG images:

* ``prepared``: the images decoded once into a uint8 array (what ``datasets prepare`` writes),
  memory-mapped; batches are gathered and augmented as one affine warp per sample
  (``benchmark.training.augment``), in the training process, on the training device.
* ``pil``: the usual ``Dataset`` that opens each JPEG with PIL and applies torchvision
  transforms (Resize 300, RandomRotation 30, RandomCrop 224, RandomHorizontalFlip,
  ToTensor, Normalize), through a ``DataLoader`` with one worker per core.

Prints images/s for each and the ratio. Usage::

    python benchmarks/input_pipeline.py [--images 512] [--batch-size 32] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.training.augment import IMAGENET_MEAN, IMAGENET_STD, BatchAugmenter
from benchmark.training.inputs import ImageBank, batches
from datasets.base import decode_files


def write_jpegs(folder: Path, n: int, rng: np.random.Generator) -> list[Path]:
    """Skin7-like 600×450 JPEGs with smooth structure (so they compress like photos)."""
    from PIL import Image

    paths = []
    yy, xx = np.mgrid[0:450, 0:600]
    for i in range(n):
        f = rng.uniform(0.005, 0.03, size=3)
        img = np.stack([127 + 100 * np.sin(f[c] * (xx + yy * (c + 1)) + i) for c in range(3)], -1)
        img += rng.normal(0, 8, img.shape)
        p = folder / f"ISIC_{i:07d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, quality=90)
        paths.append(p)
    return paths


class PILDataset(torch.utils.data.Dataset):
    def __init__(self, paths: list[Path]):
        from torchvision import transforms as T

        self.paths = paths
        self.transform = T.Compose(
            [
                T.Resize((300, 300)),
                T.RandomRotation(30),
                T.RandomCrop(224),
                T.RandomHorizontalFlip(),
                T.ToTensor(),
                T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
            ]
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from PIL import Image

        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert("RGB")), 0


def time_pil(paths: list[Path], batch_size: int, workers: int, epochs: int) -> float:
    loader = torch.utils.data.DataLoader(
        PILDataset(paths),
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    n = 0
    for _ in range(1):  # warm-up epoch (worker start-up, page cache)
        for _batch in loader:
            pass
    t0 = time.perf_counter()
    for _ in range(epochs):
        for x, _ in loader:
            n += x.shape[0]
    return n / (time.perf_counter() - t0)


def time_prepared(images: np.ndarray, batch_size: int, device: torch.device, epochs: int) -> float:
    bank = ImageBank(images, np.arange(len(images)), device)
    augment = BatchAugmenter(224, rotation=30.0, hflip=True)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    n = 0
    for epoch in range(epochs + 1):  # first epoch is warm-up
        if epoch == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        for pos in batches(rng.permutation(len(bank)), batch_size):
            x = augment(bank.gather(pos), True, gen)
            n += x.shape[0] if epoch else 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="DataLoader workers for the PIL pipeline"
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_jpegs(Path(tmp), args.images, np.random.default_rng(0))
        t0 = time.perf_counter()
        prepared = decode_files(paths, 300, workers=args.workers)
        prepare_s = time.perf_counter() - t0
        np.save(Path(tmp) / "images.npy", prepared)
        images = np.load(Path(tmp) / "images.npy", mmap_mode="r")
        pil = time_pil(paths, args.batch_size, args.workers, args.epochs)
        fast = time_prepared(images, args.batch_size, device, args.epochs)
    print(
        f"{args.images} JPEGs 600x450 -> batches of {args.batch_size} x 3 x 224 x 224 "
        f"(rotation ±30°, crop, flip), torch threads {torch.get_num_threads()}, device {device}"
    )
    print(f"{'pipeline':<44} {'images/s':>10}")
    print(f"{f'per-image PIL + torchvision, {args.workers} workers':<44} {pil:>10.1f}")
    print(f"{'prepared uint8 array + batch affine warp':<44} {fast:>10.1f}")
    print(f"{'ratio':<44} {fast / pil:>9.1f}x")
    print(f"(one-off prepare: decode + resize of {args.images} JPEGs took {prepare_s:.1f} s)")


if __name__ == "__main__":
    main()
