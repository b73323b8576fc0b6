"""Center loss (Wen et al., ECCV 2016) on raw features."""

from __future__ import annotations

from torch import Tensor

__all__ = ["center_loss"]


def center_loss(features: Tensor, labels: Tensor, centers: Tensor, factor: float = 1.0) -> Tensor:
    """Mean over the batch of ``‖r_i - c_{y_i}‖²``.

    The definition of docs/methods.md#ce-ct (no factor 1/2, unlike Wen et al.'s paper; equal to
    the common ``CenterLoss`` implementation, ``sum of squared distances /
    batch_size``). ``centers`` is the ``(C, D)`` learnable parameter; the caller
    gives it its own optimizer (lr 0.005 in the authors' configuration).

    Args:
        features: ``(N, D)`` raw (unnormalised) features.
        labels: ``(N,)`` class ids.
        centers: ``(C, D)`` class centres.
        factor: multiplies the loss (the authors' ``CenterLoss`` and Wen et al.: 0.5).
    """
    diff = features - centers[labels.long()]
    loss = diff.pow(2).sum(dim=1).mean()
    return loss if factor == 1.0 else factor * loss
