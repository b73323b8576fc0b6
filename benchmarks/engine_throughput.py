"""Stage-1 training throughput: the engine against a plain PyTorch loop, same model, batch and resolution.

Both train the protocol's timm backbone (``quick``: ``test_resnet`` from scratch) with a linear
head, SGD with momentum and cross-entropy, on the training split of the default dataset
(bloodcell-lt), at the protocol's batch size and resolution:

* ``engine``: ``benchmark.stage1.train_stage1`` with the CE method, exactly as ``run`` trains:
  per-epoch seeded sampling, batch affine augmentation (rotation, crop, flip), warmup + cosine
  learning rate, the method interface, and an epoch checkpoint for resuming.
* ``plain``: the textbook loop: a shuffled permutation, the centre crop of the uint8 batch
  scaled and normalised, forward, loss, backward, step — no augmentation, no schedule, no checkpoint.

Each is timed over the same number of epochs after one warm-up epoch, alternating, and the best
of ``--repeats`` is kept. Prints images/s for each and the ratio engine / plain (the engine's
overhead budget: keep it >= 0.8). Usage::

    python benchmarks/engine_throughput.py [--epochs 3] [--repeats 3] [--dataset bloodcell-lt] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datasets
from benchmark.protocol import load_protocol
from benchmark.training import inputs, stage1
from benchmark.training.augment import IMAGENET_MEAN, IMAGENET_STD
from benchmark.training.backbones import create_backbone
from benchmark.training.inputs import ImageBank
from methods import create_method


def engine_epochs(data, protocol, epochs: int, device: torch.device) -> float:
    """Seconds for ``epochs`` epochs of ``stage1.train_stage1`` (CE), after one warm-up epoch."""
    import dataclasses

    method = create_method("CE")
    train = data.splits["train"]
    split = inputs.TrainSplit(
        bank=ImageBank(data.images, train, device),
        labels=data.labels[train],
        class_counts=torch.tensor(data.train_counts, dtype=torch.float32, device=device),
    )
    torch.manual_seed(0)
    backbone, feat_dim = create_backbone(protocol.backbone, False)
    model = method.build(backbone, feat_dim, data.num_classes, split.class_counts.cpu())
    with tempfile.TemporaryDirectory() as tmp:
        stage1.train_stage1(method, model, split, dataclasses.replace(protocol, epochs=1), device, 0, None)
        t0 = time.perf_counter()
        stage1.train_stage1(
            method, model, split, dataclasses.replace(protocol, epochs=epochs), device, 0, Path(tmp) / "resume.pt"
        )
        return time.perf_counter() - t0


def plain_epochs(data, protocol, epochs: int, device: torch.device) -> float:
    """Seconds for ``epochs`` epochs of the textbook loop on the same model, batch and resolution."""
    train = data.splits["train"]
    images = torch.from_numpy(np.ascontiguousarray(data.images[train])).to(device)
    labels = torch.as_tensor(data.labels[train], device=device)
    torch.manual_seed(0)
    backbone, feat_dim = create_backbone(protocol.backbone, False)
    model = torch.nn.Sequential(backbone, torch.nn.Linear(feat_dim, data.num_classes)).to(device)
    opt = torch.optim.SGD(
        model.parameters(), lr=protocol.lr, momentum=protocol.momentum, weight_decay=protocol.weight_decay
    )
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255
    off = (images.shape[1] - protocol.image_size) // 2
    crop = slice(off, off + protocol.image_size)

    def epoch() -> None:
        model.train()
        order = torch.randperm(len(labels), device=device)
        for start in range(0, len(order) - protocol.batch_size + 1, protocol.batch_size):
            idx = order[start : start + protocol.batch_size]
            x = (images[idx][:, crop, crop].permute(0, 3, 1, 2).float() - mean) / std
            loss = F.cross_entropy(model(x), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default=datasets.DEFAULT_DATASET)
    parser.add_argument("--protocol", default="quick")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    protocol = load_protocol(args.protocol).for_dataset(args.dataset)
    data = datasets.load(args.dataset, size=protocol.cache_size, progress=False)
    n = len(data.splits["train"]) // protocol.batch_size * protocol.batch_size * args.epochs
    best = {"engine": float("inf"), "plain": float("inf")}
    for _ in range(args.repeats):
        best["plain"] = min(best["plain"], plain_epochs(data, protocol, args.epochs, device))
        best["engine"] = min(best["engine"], engine_epochs(data, protocol, args.epochs, device))
    rate = {k: n / v for k, v in best.items()}
    print(
        f"{args.dataset}, protocol {protocol.name}: {protocol.backbone}, batch {protocol.batch_size}, "
        f"{protocol.image_size} px, {len(data.splits['train'])} training images, {args.epochs} epochs, "
        f"best of {args.repeats}, torch threads {torch.get_num_threads()}, device {device}"
    )
    print(f"{'loop':<8} {'images/s':>10}")
    for k in ("plain", "engine"):
        print(f"{k:<8} {rate[k]:>10.0f}")
    print(f"ratio engine / plain: {rate['engine'] / rate['plain']:.2f}")


if __name__ == "__main__":
    main()
