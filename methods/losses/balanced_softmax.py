"""Balanced Softmax (Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS 2020)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["balanced_softmax_loss"]


def balanced_softmax_loss(logits: Tensor, labels: Tensor, class_counts: Tensor) -> Tensor:
    """Balanced Softmax cross-entropy ``CE(logits + log n_c, y)``, mean over the batch.

    As the authors' ``balanced_softmax_loss`` (``loss/BalancedSoftmaxLoss.py`` of
    github.com/jiawei-ren/BalancedMetaSoftmax-Classification): the log of the *raw* training count of
    every class is added to its logit. With ``π_c = n_c / N`` this is ``CE(logits + log π_c, y)``
    shifted by the constant ``log N`` inside every logit, which softmax ignores: the loss equals the
    logit-adjusted loss with τ = 1 (:func:`methods.losses.logit_adjusted_cross_entropy`), value and
    gradient. A class with ``n_c = 0`` gets the logit ``-inf`` (probability 0), as in the reference.

    Args:
        logits: ``(N, C)`` raw logits.
        labels: ``(N,)`` class ids.
        class_counts: ``(C,)`` training images per class (any numeric dtype; converted to the logits').
    """
    log_counts = class_counts.to(device=logits.device, dtype=logits.dtype).log()
    return F.cross_entropy(logits + log_counts, labels.long())
