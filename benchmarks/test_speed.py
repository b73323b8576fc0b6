"""pytest-benchmark timings of the hot paths, side by side with their baselines.

Run with ``python -m pytest benchmarks/test_speed.py --benchmark-enable`` (the test suite
runs each once with benchmarking disabled). Compare the ``group`` rows: each pairs our path
with the baseline it replaces.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.metrics import confusion_matrix
from benchmark.training.augment import IMAGENET_MEAN, IMAGENET_STD, BatchAugmenter

BATCH = 32


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(BATCH):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (450, 600, 3), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


@pytest.mark.benchmark(group="training input: one batch of 32 at 224 px")
def test_prepared_batch_affine_warp(benchmark):
    images = torch.randint(0, 256, (BATCH, 300, 300, 3), dtype=torch.uint8)
    augment = BatchAugmenter(224, rotation=30.0, hflip=True)
    gen = torch.Generator().manual_seed(0)
    out = benchmark(lambda: augment(images, True, gen))
    assert out.shape == (BATCH, 3, 224, 224)


@pytest.mark.benchmark(group="training input: one batch of 32 at 224 px")
def test_per_image_pil_torchvision(benchmark, jpegs):
    from torchvision import transforms as T

    transform = T.Compose(
        [
            T.Resize((300, 300)),
            T.RandomRotation(30),
            T.RandomCrop(224),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )

    def batch():
        return torch.stack([transform(Image.open(io.BytesIO(b)).convert("RGB")) for b in jpegs])

    assert benchmark(batch).shape == (BATCH, 3, 224, 224)


@pytest.mark.benchmark(group="confusion matrix of 100k predictions")
def test_confusion_matrix_bincount(benchmark):
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 9, 100_000), rng.integers(0, 9, 100_000)
    assert benchmark(confusion_matrix, y, p, 9).sum() == 100_000


@pytest.mark.benchmark(group="confusion matrix of 100k predictions")
def test_confusion_matrix_sklearn(benchmark):
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 9, 100_000), rng.integers(0, 9, 100_000)
    assert benchmark(sk_confusion_matrix, y, p, labels=list(range(9))).sum() == 100_000
