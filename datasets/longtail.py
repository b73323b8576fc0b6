"""The one long-tailed profile shared by every dataset (the cards in docs/datasets/)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def long_tailed_counts(n_max: int, rho: float, num_classes: int) -> list[int]:
    """Per-class counts ``n_i = round(n_max * rho ** (-i / (C - 1)))`` for i = 0..C-1.

    Rounding is half-up (``floor(x + 0.5)``), not Python's banker's rounding, so the
    counts do not depend on float ties.
    """
    if num_classes < 1:
        raise ValueError("num_classes must be >= 1")
    if num_classes == 1:
        return [int(n_max)]
    i = np.arange(num_classes, dtype=np.float64)
    counts = np.floor(n_max * float(rho) ** (-i / (num_classes - 1)) + 0.5)
    return [int(c) for c in counts]


def long_tailed_subsample(
    labels: np.ndarray,
    class_order: Sequence[int],
    n_max: int,
    rho: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Indices of a long-tailed subset of ``labels``.

    The i-th class of ``class_order`` keeps ``long_tailed_counts(...)[i]`` images, drawn
    without replacement by ``rng`` inside the class, and never more than the class has.
    Returns sorted int64 indices into ``labels``.
    """
    labels = np.asarray(labels)
    targets = long_tailed_counts(n_max, rho, len(class_order))
    keep: list[np.ndarray] = []
    for cls, n in zip(class_order, targets):
        members = np.flatnonzero(labels == cls)
        n = min(n, len(members))
        keep.append(rng.choice(members, size=n, replace=False))
    return np.sort(np.concatenate(keep)).astype(np.int64) if keep else np.zeros(0, np.int64)


def class_groups(
    train_counts: Sequence[int], n_major: int = 3, n_minor: int = 3, thirds: bool = False
) -> dict[str, list[int] | None]:
    """Class groups for the metrics, from training counts.

    ``thirds=False`` (the paper's Table 2): major = the ``n_major`` most frequent classes,
    minor = the ``n_minor`` least frequent, medium = None. ``thirds=True`` (Table 5):
    classes sorted by frequency and cut into three near-equal parts. Ties break by class id.
    """
    order = sorted(range(len(train_counts)), key=lambda c: (-train_counts[c], c))
    if thirds:
        k = len(order)
        a, b = round(k / 3), round(2 * k / 3)
        return {"major": sorted(order[:a]), "medium": sorted(order[a:b]), "minor": sorted(order[b:])}
    return {"major": sorted(order[:n_major]), "medium": None, "minor": sorted(order[len(order) - n_minor :])}
