"""Focal losses: softmax focal (Lin et al., as in LDAM-DRW) and Cui et al.'s sigmoid CB-focal."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["focal_loss", "sigmoid_class_balanced_focal_loss"]


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 1.0) -> Tensor:
    """Softmax focal loss ``-(1 - p_y)^γ log p_y``, averaged over the batch.

    ``p_y`` is the unweighted softmax probability of the true class. This is the
    ``FocalLoss`` of the LDAM-DRW reference (``p = exp(-ce)``,
    ``((1 - p) ** gamma * ce).mean()``), whose default ``γ = 1`` we keep.
    ``γ = 0`` is plain cross-entropy.

    Args:
        logits: ``(N, C)`` unnormalised scores.
        target: ``(N,)`` class ids.
        gamma: focusing parameter ``γ >= 0``.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    log_p = F.log_softmax(logits, dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1)
    modulator = (1.0 - log_p.exp()) ** gamma
    return -(modulator * log_p).mean()


def sigmoid_class_balanced_focal_loss(logits: Tensor, target: Tensor, weights: Tensor, gamma: float = 1.0) -> Tensor:
    """Class-balanced sigmoid focal loss of Cui et al. (CVPR 2019).

    One-vs-all: for every sample ``i`` and class ``j`` with ``z = logits[i, j]``
    and ``t = 1[j == y_i]`` the term is ``w_{y_i} · m · BCE(z, t)`` where the
    modulator ``m = (1 - p_t)^γ`` is computed as in Cui's reference,
    ``exp(-γ t z - γ log(1 + exp(-z)))``, with ``log(1 + exp(-z))`` evaluated
    as the numerically stable ``softplus(-z)``. Terms are summed over classes and
    samples and divided by the number of ones in the one-hot labels, i.e. the
    batch size. The classifier bias should be initialised to ``-log(C - 1)``
    (Cui et al.; done by the method, not here).

    Args:
        logits: ``(N, C)`` unnormalised scores.
        target: ``(N,)`` class ids.
        weights: ``(C,)`` per-class weights (class-balanced, β = 0.9999, in the paper).
        gamma: focusing parameter ``γ >= 0``.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    target = target.long()
    one_hot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, one_hot, reduction="none")
    if gamma == 0:
        modulated = bce
    else:
        modulator = torch.exp(-gamma * one_hot * logits - gamma * F.softplus(-logits))
        modulated = modulator * bce
    sample_weight = weights.to(device=logits.device, dtype=logits.dtype)[target].unsqueeze(1)
    return (sample_weight * modulated).sum() / logits.shape[0]
