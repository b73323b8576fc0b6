"""LDAM and LDAM-DRW (Cao et al., NeurIPS 2019): a label-distribution-aware margin on a cosine head."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..base import Classifier, Method, StepInfo, full_precision
from ..heads import NormedLinear
from ..losses import ldam_loss, ldam_margins
from ..registry import register_method
from .ce import DeferredReweighting


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class LDAM(Method):
    """LDAM loss (Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
    NeurIPS 2019), instance sampling.

    The head is the reference's cosine classifier (:class:`methods.heads.NormedLinear`: features and
    weight columns L2-normalised, no bias). Margins ``m_c ∝ n_c^(-1/4)`` with the largest equal to
    ``max_margin`` = 0.5; loss ``CE(s · (cos - m_y · onehot(y)), y)`` with ``s`` = 30 (docs/methods.md#ldam).

    Where the paper is silent we follow the LDAM-DRW reference: the head's initialisation
    (``uniform(-1, 1).renorm(...)``) and predictions by argmax of the unscaled cosines (the scale and
    the margins apply in the loss only). The margins are computed from the training class counts of
    :class:`StepInfo` at each step, so the model holds no method state. For LDAM→cRW, stage 2
    replaces the cosine head with a plain linear layer on the same (unnormalised) features.
    """

    name = "LDAM"
    id = "ldam"
    description = "Label-distribution-aware margin loss (s = 30, max margin 0.5) on a cosine classifier."
    reference = "Cao et al., NeurIPS 2019, https://github.com/kaidic/LDAM-DRW"
    url = "https://arxiv.org/abs/1906.07413"

    max_margin: float = 0.5
    scale: float = 30.0

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        return Classifier(backbone, feat_dim, NormedLinear(feat_dim, num_classes))

    def loss(self, logits: Tensor, labels: Tensor, info: StepInfo) -> Tensor:
        margins = info.memo(
            ("ldam_margins", self.max_margin),
            lambda: ldam_margins(info.class_counts, self.max_margin).to(logits.device),
        )
        return ldam_loss(full_precision(logits), labels, margins, self.scale, weight=self.class_weights(info))


@register_method
@dataclass(frozen=True, kw_only=True)
class LDAMDRW(DeferredReweighting, LDAM):
    """LDAM with deferred re-weighting (Cao et al., NeurIPS 2019).

    The LDAM loss of :class:`LDAM`, unweighted until ``start_fraction`` (80 %) of the stage-1 epochs,
    then weighted by class-balanced weights (Cui et al., β = 0.9999, summing to C), as in the
    DRW of docs/methods.md#ce-drw (the reference switches at epoch 160 of 200).
    """

    name = "LDAM-DRW"
    id = "ldam-drw"
    description = "LDAM loss with deferred class-balanced re-weighting (β = 0.9999) from 80 % of the epochs."
