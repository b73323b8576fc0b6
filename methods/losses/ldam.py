"""LDAM: label-distribution-aware margin loss (Cao et al., NeurIPS 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from methods.weights import as_counts

__all__ = ["ldam_margins", "ldam_loss"]


def ldam_margins(class_counts: Sequence[int] | Tensor | np.ndarray, max_margin: float = 0.5) -> Tensor:
    """Per-class margins ``m_c ∝ n_c^(-1/4)``, rescaled so the largest is ``max_margin``.

    As in the LDAM-DRW reference: ``m = 1 / sqrt(sqrt(n)); m *= max_m / max(m)``.
    Returns a tensor (the default float dtype) of shape ``(C,)``.
    """
    counts = as_counts(class_counts)
    margins = 1.0 / np.sqrt(np.sqrt(counts))
    margins = margins * (max_margin / margins.max())
    return torch.from_numpy(margins).to(torch.get_default_dtype())


def ldam_loss(
    cosine_logits: Tensor,
    target: Tensor,
    margins: Tensor,
    scale: float = 30.0,
    weight: Tensor | None = None,
) -> Tensor:
    """LDAM loss ``cross_entropy(s · (cos - m_y · onehot(y)), y, weight)``.

    The margin of the true class is subtracted from its cosine only, before
    scaling by ``s``. ``weight`` (per-class, e.g. DRW's class-balanced weights)
    is passed to ``F.cross_entropy``, giving the weighted mean
    ``Σ w_{y_i} ℓ_i / Σ w_{y_i}``, as in the reference.

    Args:
        cosine_logits: ``(N, C)`` cosines from a normalised linear head.
        target: ``(N,)`` class ids.
        margins: ``(C,)`` from :func:`ldam_margins`.
        scale: ``s`` (30 in the reference).
        weight: optional ``(C,)`` class weights.
    """
    target = target.long()
    margins = margins.to(device=cosine_logits.device, dtype=cosine_logits.dtype)
    one_hot = F.one_hot(target, cosine_logits.shape[1]).to(cosine_logits.dtype)
    adjusted = cosine_logits - one_hot * margins[target].unsqueeze(1)
    if weight is not None:
        weight = weight.to(device=cosine_logits.device, dtype=cosine_logits.dtype)
    return F.cross_entropy(scale * adjusted, target, weight=weight)
