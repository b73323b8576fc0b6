"""Supervised contrastive loss (Khosla et al., NeurIPS 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["supcon_loss"]


def supcon_loss(
    features: Tensor,
    labels: Tensor,
    temperature: float = 0.05,
    base_temperature: float = 0.05,
) -> Tensor:
    """Supervised contrastive loss, reference ``SupConLoss`` with ``contrast_mode='all'``.

    Features are L2-normalised here. Every sample/view is an anchor; its
    positives are every *other* sample/view of the same class, its denominator
    runs over every other sample/view. Per anchor
    ``-(T / T_base) · mean_{p ∈ P(i)} log softmax_{a ≠ i}(z_i·z_a / T)[p]``,
    then averaged over anchors.

    Deviation from the reference: an anchor with no positive (a class with a
    single sample in the batch and a single view) is excluded from the mean;
    the reference divides by zero there (NaN; later versions count it as 0).
    If no anchor has a positive the result is ``0`` connected to the graph.
    When every anchor has a positive the value equals pytorch-metric-learning's
    ``SupConLoss(temperature=T)`` on the views flattened to ``(N·V, D)``.

    Args:
        features: ``(N, V, D)`` (``V`` views per sample) or ``(N, D)``.
        labels: ``(N,)`` class ids (shared by all views of a sample).
        temperature: ``T`` (0.05 in the paper).
        base_temperature: ``T_base``; the loss is scaled by ``T / T_base``.
    """
    if features.dim() == 2:
        features = features.unsqueeze(1)
    if features.dim() != 3:
        raise ValueError(f"features must be (N, D) or (N, V, D), got {tuple(features.shape)}")
    n, views, dim = features.shape
    labels = labels.reshape(-1)
    if labels.numel() != n:
        raise ValueError(f"got {labels.numel()} labels for {n} samples")
    # View-major order, as the reference's torch.cat(torch.unbind(features, dim=1)).
    flat = F.normalize(features, dim=-1).transpose(0, 1).reshape(views * n, dim)
    flat_labels = labels.repeat(views)
    self_mask = torch.eye(views * n, dtype=torch.bool, device=features.device)
    pos_mask = (flat_labels.unsqueeze(0) == flat_labels.unsqueeze(1)) & ~self_mask
    num_pos = pos_mask.sum(dim=1)
    valid = num_pos > 0
    if not bool(valid.any()):
        return features.sum() * 0.0
    logits = (flat @ flat.T / temperature).masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    sum_log_prob_pos = log_prob.masked_fill(~pos_mask, 0.0).sum(dim=1)
    mean_log_prob_pos = sum_log_prob_pos[valid] / num_pos[valid].to(log_prob.dtype)
    return -(temperature / base_temperature) * mean_log_prob_pos.mean()
