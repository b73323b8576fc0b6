"""MaxNorm classifier re-training, stage 2 of weight balancing (Alshammari et al., CVPR 2022;
ShadeAlsha/LTR-weight-balancing, ``demo2_second-stage-training.py``, ``utils/regularizers.py``,
``utils/class_balanced_loss.py``).

The stage-1 linear head is fine-tuned on frozen features with the official class-balanced softmax loss
(``CB_loss(..., "softmax", beta=0.9999)``), weight decay 0.1, and MaxNorm by projected gradient descent
(``MaxNorm_via_PGD(thresh=0.1)``): the cap ``r = min_c ‖w_c‖ + thresh · (max_c ‖w_c‖ − min_c ‖w_c‖)`` is fixed
from the stage-1 rows, and after each epoch every row above it is scaled to norm ``r`` (the bias is not
constrained). Under ``stage2_official`` (``paper``) it trains with the official schedule. docs/methods.md,
"MaxNorm", gives every setting and its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..weights import class_balanced_weights
from .kind import Criterion, Projection, Stage2Kind, Stage2Schedule, linear_head


def maxnorm_threshold(weight: Tensor, thresh: float) -> float:
    """The cap ``min‖w_c‖ + thresh · (max‖w_c‖ − min‖w_c‖)`` of ``MaxNorm_via_PGD.setPerLayerThresh``."""
    norms = torch.linalg.vector_norm(weight.detach().reshape(weight.shape[0], -1), ord=2, dim=1)
    return float(norms.min() + thresh * (norms.max() - norms.min()))


@torch.no_grad()
def maxnorm_project_(weight: Tensor, threshold: float) -> Tensor:
    """Scale (in place) every row of ``weight`` whose L2 norm exceeds ``threshold`` to norm ``threshold``."""
    norms = torch.linalg.vector_norm(weight.reshape(weight.shape[0], -1), ord=2, dim=1)
    over = norms > threshold
    scale = torch.where(over, threshold / norms, torch.ones_like(norms))
    weight.mul_(scale.reshape(-1, *([1] * (weight.dim() - 1))))
    return weight


def class_balanced_softmax_bce(logits: Tensor, labels: Tensor, class_weights: Tensor) -> Tensor:
    """The official ``CB_loss`` with ``loss_type="softmax"``: weighted BCE of softmax against one-hot labels."""
    num_classes = logits.shape[1]
    one_hot = F.one_hot(labels, num_classes).to(logits.dtype)
    weights = class_weights.to(logits.dtype)[labels].unsqueeze(1).expand(-1, num_classes)
    return F.binary_cross_entropy(logits.softmax(dim=1), one_hot, weight=weights)


class MaxNormProjection:
    """Projected gradient descent onto ``‖w_c‖ ≤ r`` for a linear head, ``r`` fixed from its initial weights."""

    def __init__(self, head: nn.Linear, thresh: float) -> None:
        self.threshold = maxnorm_threshold(head.weight, thresh)

    def __call__(self, head: nn.Module) -> None:
        maxnorm_project_(linear_head(head, "MaxNorm").weight.data, self.threshold)


@dataclass(frozen=True)
class MaxNorm(Stage2Kind):
    """MaxNorm: fine-tune the stage-1 linear head with the class-balanced loss, weight decay and a per-class
    norm cap."""

    kind = "maxnorm"
    suffix = "MaxNorm"
    id_suffix = "maxnorm"
    description = (
        "Stage-1 head fine-tuned with class-balanced loss (β = 0.9999), weight decay 0.1 and MaxNorm (thresh 0.1)."
    )
    reference = "Alshammari et al., CVPR 2022, https://github.com/ShadeAlsha/LTR-weight-balancing"
    url = "https://arxiv.org/abs/2203.14197"
    weight_decay = 0.1
    official = Stage2Schedule(
        epochs=10,
        lr=0.01,
        min_lr=0.0,
        batch_size=64,
        bn_train=True,
        best_epoch_on_val=True,
        source="ShadeAlsha/LTR-weight-balancing demo2_second-stage-training.py, utils/trainval.py",
    )

    #: Relative MaxNorm threshold (official ``thresh = 0.1``).
    thresh: float = 0.1
    #: Effective-number β of the class-balanced loss (official 0.9999).
    beta: float = 0.9999

    def head(self, stage1_head: nn.Module, feat_dim: int, num_classes: int) -> nn.Module:
        head = linear_head(stage1_head, self.suffix)
        head.requires_grad_(True)
        return head

    def criterion(self, class_counts: Tensor) -> Criterion:
        weights = class_balanced_weights(class_counts, self.beta).to(class_counts.device)
        return lambda logits, labels: class_balanced_softmax_bce(logits, labels, weights)

    def projection(self, head: nn.Module) -> Projection:
        return MaxNormProjection(linear_head(head, self.suffix), self.thresh)
