"""Loss functions used by the methods (one file per loss; see docs/methods.md)."""

from __future__ import annotations

from methods.losses.balanced_contrastive import balanced_contrastive_loss
from methods.losses.balanced_softmax import balanced_softmax_loss
from methods.losses.center import center_loss
from methods.losses.focal import focal_loss, sigmoid_class_balanced_focal_loss
from methods.losses.ldam import ldam_loss, ldam_margins
from methods.losses.logit_adjust import log_class_prior, logit_adjusted_cross_entropy
from methods.losses.supcon import supcon_loss
from methods.losses.triplet import batch_hard_triplet_loss, pairwise_euclidean

__all__ = [
    "balanced_contrastive_loss",
    "balanced_softmax_loss",
    "batch_hard_triplet_loss",
    "center_loss",
    "focal_loss",
    "ldam_loss",
    "ldam_margins",
    "log_class_prior",
    "logit_adjusted_cross_entropy",
    "pairwise_euclidean",
    "sigmoid_class_balanced_focal_loss",
    "supcon_loss",
]
