"""Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["log_class_prior", "logit_adjusted_cross_entropy"]


def log_class_prior(class_counts: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``log π_c = log(n_c / Σ n)``: the log of the training class prior, ``(C,)`` in ``dtype``.

    The counts are converted to ``dtype`` (default: the counts' own dtype when floating, else float32)
    before the division, so a float64 training gets a float64 prior.
    """
    if dtype is None:
        dtype = class_counts.dtype if class_counts.is_floating_point() else torch.float32
    counts = class_counts.to(dtype)
    return (counts / counts.sum()).log()


def logit_adjusted_cross_entropy(logits: Tensor, labels: Tensor, class_counts: Tensor, tau: float = 1.0) -> Tensor:
    """Logit-adjusted loss ``CE(logits + τ · log π_c, y)``, mean over the batch.

    Menon et al., ICLR 2021, eq. (10); the authors' ``build_loss_fn`` (``logit_adjustment/utils.py`` of
    github.com/google-research/google-research) adds ``log(π_c^τ + 1e-12)``. The ``1e-12`` only guards
    a class with ``π_c = 0``; it is left out here (its effect on the adjustment is a relative
    ``1e-12 / π_c``, far below float32 resolution, for every class with at least one training image),
    so the adjustment is exactly ``τ · log π_c``. With τ = 1 this loss equals Balanced Softmax
    (:func:`methods.losses.balanced_softmax_loss`), value and gradient.

    Args:
        logits: ``(N, C)`` raw logits.
        labels: ``(N,)`` class ids.
        class_counts: ``(C,)`` training images per class; ``π_c = n_c / Σ n``.
        tau: τ, the scale of the adjustment (1.0 in the paper's main results).
    """
    adjustment = tau * log_class_prior(class_counts.to(logits.device), logits.dtype)
    return F.cross_entropy(logits + adjustment, labels.long())
