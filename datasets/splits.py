"""Seeded stratified splitting shared by the builders that make their own splits."""

from __future__ import annotations

from typing import Any

import numpy as np


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Split indices per class: ``round(n * train_fraction)`` train, ``round(n * val_fraction)`` val, the rest test.

    ``train_fraction = 1 - val_fraction - test_fraction``; rounding is half-up per class,
    train first, which reproduces the paper's Table 1 exactly for 7.5 : 0.5 : 2: Skin7
    NV 6705 -> 5029 and DF 115 -> 86, X-ray9 Atelectasis 4210 -> 3158 training images.
    Returns sorted int64 indices.
    """
    labels = np.asarray(labels)
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_train = stratified_train_count(len(members), val_fraction, test_fraction)
        n_val = min(int(np.floor(len(members) * val_fraction + 0.5 + 1e-9)), len(members) - n_train)
        out["train"].append(members[:n_train])
        out["val"].append(members[n_train : n_train + n_val])
        out["test"].append(members[n_train + n_val :])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) if v else np.zeros(0, np.int64) for k, v in out.items()}


def stratified_train_count(n: int, val_fraction: float, test_fraction: float) -> int:
    """Training images that :func:`stratified_split` keeps of a class of ``n`` (half-up rounding)."""
    return int(np.floor(n * (1.0 - val_fraction - test_fraction) + 0.5 + 1e-9))


def group_split(
    labels: np.ndarray, groups: np.ndarray, val_fraction: float, test_fraction: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Split so that all images of one group (e.g. a patient) land in the same split.

    Groups are shuffled and assigned greedily until each split holds its fraction of images.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    unique = rng.permutation(np.unique(groups))
    sizes = {g: n for g, n in zip(*np.unique(groups, return_counts=True))}
    total = len(labels)
    targets = {"test": test_fraction * total, "val": val_fraction * total}
    assign: dict[str, list[Any]] = {"train": [], "val": [], "test": []}
    filled = {"test": 0, "val": 0}
    for g in unique:
        for split in ("test", "val"):
            if filled[split] < targets[split]:
                assign[split].append(g)
                filled[split] += sizes[g]
                break
        else:
            assign["train"].append(g)
    return {s: np.sort(np.flatnonzero(np.isin(groups, assign[s]))).astype(np.int64) for s in assign}
