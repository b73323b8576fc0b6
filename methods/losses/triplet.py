"""Batch-hard triplet loss (Hermans et al., 2017) on raw Euclidean features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["pairwise_euclidean", "batch_hard_triplet_loss"]


def pairwise_euclidean(features: Tensor) -> Tensor:
    """``(N, N)`` Euclidean distances, computed with ``torch.cdist(x, x, p=2)``.

    ``torch.cdist`` is what pytorch-metric-learning's ``LpDistance`` uses; for
    more than 25 rows it switches to the ``‖x‖² + ‖y‖² - 2 x·y`` matrix-product
    formula, so with large, unnormalised features a different formula (e.g. the
    direct difference) can disagree slightly. Using the same call keeps us
    equal to PML to float precision.
    """
    return torch.cdist(features, features, p=2)


def batch_hard_triplet_loss(
    features: Tensor, labels: Tensor, margin: float = 50.0, lone_anchors: bool = False
) -> Tensor:
    """Batch-hard triplet loss on raw (not normalised) Euclidean distances.

    For every anchor: hardest positive = farthest other sample of its class,
    hardest negative = nearest sample of another class; loss
    ``max(0, d_ap - d_an + margin)``, averaged over the anchors that have both a
    positive and a negative (zero-loss anchors included in the mean). When no
    anchor qualifies the result is ``0`` connected to ``features``'s graph.

    Equals pytorch-metric-learning's
    ``TripletMarginLoss(margin, distance=LpDistance(normalize_embeddings=False),
    reducer=MeanReducer())`` with
    ``BatchHardMiner(distance=LpDistance(normalize_embeddings=False))``.

    Args:
        features: ``(N, D)`` raw features.
        labels: ``(N,)`` class ids.
        margin: triplet margin (50 in the paper, for raw features).
        lone_anchors: True: every anchor enters the mean, as the authors' ``OnlineHardTripletLoss``
            (Tsingwaa/classification ``model/loss/online_triplet_loss.py``): an anchor with no positive has
            ``d_ap = 0`` (its loss is ``max(0, margin − d_an)``), one with no negative has ``d_an`` = its
            largest distance.
    """
    labels = labels.reshape(-1)
    dist = pairwise_euclidean(features)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(labels.numel(), dtype=torch.bool, device=features.device)
    pos_mask = same & ~eye
    neg_mask = ~same
    if lone_anchors:
        hardest_pos = (dist * pos_mask.to(dist.dtype)).amax(dim=1)
        row_max = dist.amax(dim=1, keepdim=True)
        hardest_neg = (dist + row_max * (~neg_mask).to(dist.dtype)).amin(dim=1)
        return F.relu(hardest_pos - hardest_neg + margin).mean()
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not bool(valid.any()):
        return features.sum() * 0.0
    hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).amax(dim=1)
    hardest_neg = dist.masked_fill(~neg_mask, float("inf")).amin(dim=1)
    losses = F.relu(hardest_pos[valid] - hardest_neg[valid] + margin)
    return losses.mean()
