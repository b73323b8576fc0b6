"""Per-class loss weights: inverse frequency, class-balanced (Cui et al.), DRW.

All weights are returned as tensors of the default float dtype (float32 unless a
protocol asks for float64) of shape ``(C,)`` scaled so that
they sum to ``C`` (the number of classes), as in docs/methods.md#class-weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "as_counts",
    "inverse_frequency_weights",
    "class_balanced_weights",
    "drw_start_epoch",
    "drw_weights",
]

ClassCounts = Sequence[int] | Tensor | np.ndarray


def as_counts(class_counts: ClassCounts) -> np.ndarray:
    """Validate ``class_counts`` and return it as a 1-D float64 numpy array.

    Raises ``ValueError`` when the counts are empty, not 1-D, or contain a class
    with no training image (its weight would be infinite).
    """
    if isinstance(class_counts, Tensor):
        counts = class_counts.detach().cpu().to(torch.float64).numpy()
    else:
        counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"class_counts must be a non-empty 1-D sequence, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts <= 0):
        raise ValueError(f"every class count must be a positive number, got {counts.tolist()}")
    return counts


def _scale_to_num_classes(weights: np.ndarray) -> Tensor:
    """Scale ``weights`` (float64) so they sum to ``C`` and cast to the default float dtype."""
    scaled = weights / weights.sum() * weights.size
    return torch.from_numpy(scaled).to(torch.get_default_dtype())


def inverse_frequency_weights(class_counts: ClassCounts) -> Tensor:
    """Inverse-frequency weights ``w_c ∝ 1 / n_c``, scaled so ``Σ w_c = C``.

    Example: counts ``[1, 3]`` give ``[1.5, 0.5]``.
    """
    counts = as_counts(class_counts)
    return _scale_to_num_classes(1.0 / counts)


def class_balanced_weights(class_counts: ClassCounts, beta: float = 0.9999) -> Tensor:
    """Class-balanced weights of Cui et al. (CVPR 2019), scaled so ``Σ w_c = C``.

    ``w_c = (1 - β) / (1 - β^{n_c})`` (the inverse "effective number" of samples),
    computed in float64 and cast to the default float dtype, exactly as the LDAM-DRW reference
    (``per_cls_weights / np.sum(per_cls_weights) * len(cls_num_list)``).
    ``beta = 0`` gives uniform weights (all ones).
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}")
    counts = as_counts(class_counts)
    effective_num = 1.0 - np.power(beta, counts)
    return _scale_to_num_classes((1.0 - beta) / effective_num)


def drw_start_epoch(total_epochs: int, start_fraction: float = 0.8) -> int:
    """0-based epoch index at which deferred re-weighting switches on.

    ``floor(start_fraction * total_epochs)``, with a 1e-9 guard against floating
    point (e.g. ``0.29 * 100 = 28.999999999999996`` gives 29, not 28). For the
    LDAM-DRW reference (200 epochs, 0.8) this is 160; for the paper protocol
    (100 epochs) it is 80.
    """
    if total_epochs <= 0:
        raise ValueError(f"total_epochs must be positive, got {total_epochs}")
    if not 0.0 <= start_fraction <= 1.0:
        raise ValueError(f"start_fraction must be in [0, 1], got {start_fraction}")
    return int(math.floor(start_fraction * total_epochs + 1e-9))


def drw_weights(
    epoch: int,
    total_epochs: int,
    class_counts: ClassCounts,
    start_fraction: float = 0.8,
    beta: float = 0.9999,
) -> Tensor | None:
    """Deferred re-weighting (Cao et al., LDAM-DRW): per-class weights for ``epoch``.

    ``epoch`` is 0-based. Returns ``None`` (no weighting) while
    ``epoch < drw_start_epoch(total_epochs, start_fraction)``, class-balanced
    weights (``beta``) afterwards. The reference uses ``betas = [0, 0.9999]``
    indexed by ``epoch // 160``; ``beta = 0`` gives all-ones weights, which is
    the same loss as ``None``.
    """
    if epoch < 0:
        raise ValueError(f"epoch is 0-based and must be >= 0, got {epoch}")
    if epoch < drw_start_epoch(total_epochs, start_fraction):
        return None
    return class_balanced_weights(class_counts, beta=beta)
