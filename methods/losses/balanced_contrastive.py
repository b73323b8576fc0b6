"""Balanced supervised contrastive loss, BCL (Zhu et al., "Balanced Contrastive Learning for Long-Tailed
Visual Recognition", CVPR 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["balanced_contrastive_loss"]


def balanced_contrastive_loss(
    features: Tensor, labels: Tensor, prototypes: Tensor, temperature: float = 0.07
) -> Tensor:
    """BCL: supervised contrastive loss with class-averaging and class-complement.

    The authors' ``BalSCL`` (``loss/contrastive.py`` of github.com/FlamieZhu/Balanced-Contrastive-Learning),
    for any number of views ``V`` (the reference has ``V = 2``). Features and prototypes are
    L2-normalised here (the reference's model normalises them before the loss).

    *Anchors* are the ``V·N`` sample-views; *keys* are the ``V·N`` sample-views and the ``C`` class
    prototypes (class-complement: every class is present in every batch). The prototypes are keys
    only, never anchors, as in the reference. For the anchor ``i`` of class ``y``, with
    ``s_ij = z_i · k_j / T`` and ``|K_c|`` the number of keys of class ``c`` (``V·n_c + 1``, the
    prototype included)::

        ℓ_i = − mean_{p ∈ P(i)} [ s_ip − log Σ_{j ≠ i} exp(s_ij) / w_ij ],
        w_ij = |K_{c_j}| − 1 if c_j = y (the anchor itself is not a key of its class) else |K_{c_j}|

    (class-averaging: each class contributes the *mean* of its keys' exponentials to the
    denominator). ``P(i)`` are the keys of class ``y`` other than ``i`` itself, its own prototype
    included, so no anchor ever lacks a positive. The loss is the mean of ``ℓ_i`` over every anchor.

    Args:
        features: ``(N, V, D)`` projections of ``V`` views of ``N`` samples (or ``(N, D)``: one view).
        labels: ``(N,)`` class ids in ``[0, C)``.
        prototypes: ``(C, D)`` one key per class (BCL: the classifier weights through an MLP).
        temperature: ``T`` (0.07 in the official ImageNet-LT / iNaturalist configuration).
    """
    if features.dim() == 2:
        features = features.unsqueeze(1)
    if features.dim() != 3 or prototypes.dim() != 2 or prototypes.shape[1] != features.shape[2]:
        raise ValueError(
            f"features (N, V, D) and prototypes (C, D) expected, got {tuple(features.shape)} and "
            f"{tuple(prototypes.shape)}"
        )
    n, views, dim = features.shape
    num_classes = prototypes.shape[0]
    labels = labels.reshape(-1).long()
    if labels.numel() != n:
        raise ValueError(f"got {labels.numel()} labels for {n} samples")
    # View-major order, as the reference's torch.cat(torch.unbind(features, dim=1)).
    anchors = F.normalize(features, dim=-1).transpose(0, 1).reshape(views * n, dim)
    keys = torch.cat([anchors, F.normalize(prototypes, dim=-1)], dim=0)
    anchor_labels = labels.repeat(views)
    key_labels = torch.cat([anchor_labels, torch.arange(num_classes, device=labels.device)])
    num_anchors = anchor_labels.shape[0]

    self_mask = torch.zeros(num_anchors, keys.shape[0], dtype=torch.bool, device=features.device)
    self_mask[:, :num_anchors] = torch.eye(num_anchors, dtype=torch.bool, device=features.device)
    pos_mask = (anchor_labels.unsqueeze(1) == key_labels.unsqueeze(0)) & ~self_mask
    keys_per_class = torch.bincount(key_labels, minlength=num_classes).to(anchors.dtype)
    weights = keys_per_class[key_labels].unsqueeze(0) - pos_mask.to(anchors.dtype)  # class-averaging

    logits = anchors @ keys.T / temperature
    log_denominator = torch.logsumexp(
        (logits - weights.log()).masked_fill(self_mask, float("-inf")), dim=1, keepdim=True
    )
    log_prob = logits - log_denominator
    mean_log_prob_pos = log_prob.masked_fill(~pos_mask, 0.0).sum(dim=1) / pos_mask.sum(dim=1).to(log_prob.dtype)
    return -mean_log_prob_pos.mean()
