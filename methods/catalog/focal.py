"""Focal losses: softmax Focal (Lin et al.) and Cui et al.'s class-balanced sigmoid focal loss."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..base import Classifier, Method, StepInfo, full_precision
from ..losses import focal_loss, sigmoid_class_balanced_focal_loss
from ..registry import register_method
from ..weights import class_balanced_weights


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class Focal(Method):
    """Softmax focal loss ``-(1 - p_y)^γ log p_y`` (Lin et al., "Focal Loss for Dense Object
    Detection", ICCV 2017), batch mean, instance sampling.

    ``γ`` = 1 as in the LDAM-DRW reference's ``FocalLoss`` (docs/methods.md#focal); unweighted, plain linear head.
    """

    name = "Focal"
    id = "focal"
    description = "Softmax focal loss (γ = 1), instance sampling."
    reference = "Lin et al., ICCV 2017; LDAM-DRW reference implementation (γ = 1)"
    url = "https://arxiv.org/abs/1708.02002"

    gamma: float = 1.0

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return focal_loss(full_precision(logits), labels, self.gamma)


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class CBFocal(Method):
    """Class-balanced focal loss (Cui et al., "Class-Balanced Loss Based on Effective Number of
    Samples", CVPR 2019).

    One-vs-all sigmoid focal term (γ = 1) per class, each sample weighted by the class-balanced
    weight of its label (β = 0.9999, weights summing to C), summed over classes and divided by the
    batch size (:func:`methods.losses.sigmoid_class_balanced_focal_loss`). The linear head's bias is
    initialised to ``-log(C - 1)`` (docs/methods.md#cb-focal: the prior π = 1/C in Cui et al.'s
    ``b = -log((1 - π) / π)``); its weight keeps PyTorch's default initialisation (the paper is
    silent; Cui's reference only sets the bias). Predictions are the argmax of the logits. With a
    single class (C = 1) the bias would be ``+∞``; it is left at 0 there.
    """

    name = "CB-Focal"
    id = "cb-focal"
    description = "Class-balanced (β = 0.9999) sigmoid focal loss (γ = 1), bias initialised to -log(C - 1)."
    reference = "Cui et al., CVPR 2019, https://github.com/richardaecn/class-balanced-loss"
    url = "https://arxiv.org/abs/1901.05555"

    gamma: float = 1.0
    beta: float = 0.9999

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        head = nn.Linear(feat_dim, num_classes)
        with torch.no_grad():
            head.bias.fill_(-math.log(num_classes - 1) if num_classes > 1 else 0.0)
        return Classifier(backbone, feat_dim, head)

    def class_weights(self, info: StepInfo) -> Tensor:
        return info.memo(
            ("class_balanced", self.beta),
            lambda: class_balanced_weights(info.class_counts, self.beta).to(info.class_counts.device),
        )

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        return sigmoid_class_balanced_focal_loss(full_precision(logits), labels, self.class_weights(info), self.gamma)
