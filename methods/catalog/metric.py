"""The paper's proposed methods: metric learning embedded in stage 1 (Zeng et al.).

Stage-1 loss ``CE + λ · L_M`` on the backbone's pooled features, then classifier re-training with
re-weighting (→cRW). ``L_M`` is the center loss (CE+CT), the batch-hard triplet loss (CE+TP) or the
supervised contrastive loss on a projection head (CE+SC); SC→cRW drops the CE term (Table 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Batch, Classifier, Method, StepInfo, full_precision, later_field
from ..heads import ProjectionHead
from ..losses import batch_hard_triplet_loss, center_loss, supcon_loss
from ..registry import register_method

PAPER = (
    "Zeng et al., Learning Discriminative Representation via Metric Learning for Imbalanced Medical Image "
    "Classification"
)


def _fp32(x: Tensor) -> torch.autocast:
    """Autocast off (metric losses on fp32 features: SupCon's ``cos / 0.05`` logits need more than bf16)."""
    return torch.autocast(device_type=x.device.type, enabled=False)


class ClassCenters(nn.Module):
    """The ``(C, feat_dim)`` learnable class centres of the center loss, ``N(0, 1)``-initialised."""

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))


def _class_centers(model: Classifier) -> nn.Parameter:
    """The centres of a model built by :meth:`CECT.build` (``extras["centers"]``)."""
    module = model.extras["centers"]
    assert isinstance(module, ClassCenters), f"extras['centers'] is a {type(module).__name__}"
    return module.centers


@register_method(variants=("cRW",))
@dataclass(frozen=True, kw_only=True)
class CECT(Method):
    """CE + center loss, then cRW (the paper's CE+CT→cRW; center loss of Wen et al., ECCV 2016).

    Stage-1 loss ``CE + λ · mean_i ‖r_i − c_{y_i}‖²`` on the raw pooled features ``r`` with
    λ = 0.001. The centres are a learnable ``(C, feat_dim)`` parameter in ``model.extras["centers"]``
    with their own optimizer group: SGD at a fixed lr of 0.005 (the authors' configuration,
    docs/methods.md#ce-ct), no weight decay, not scheduled.

    Where the paper is silent we follow the center-loss references (Wen et al.'s update rule and the
    common PyTorch ``CenterLoss`` training script): the centres start ``N(0, 1)``, their optimizer
    has no momentum, and their update does not depend on λ (the PyTorch reference divides the
    centres' gradient by λ before their step). Here the centres receive the gradient of the
    unweighted center loss while the backbone receives λ times its gradient; the reported loss is
    exactly ``CE + λ · L_CT``. The ``center_*`` switches give the authors' centre optimiser, schedule and ½
    (the ``authors`` protocol; docs/methods.md#the-authors-protocol).
    """

    name = "CE+CT"
    id = "ce+ct"
    description = "Cross-entropy + 0.001 · center loss on raw features (centres: own SGD, lr 0.005)."
    reference = PAPER + "; Wen et al., ECCV 2016"
    url = "https://arxiv.org/abs/2110.14795"

    metric_weight: float = 0.001
    center_lr: float = 0.005
    #: The centres' optimiser group (the authors' ``optimizer2``: momentum 0.9, Nesterov, weight decay 1e-6).
    center_momentum: float = later_field(0.0)
    center_nesterov: bool = later_field(False)
    center_weight_decay: float = later_field(0.0)
    #: True: the centres' lr follows stage 1's warm-up and cosine from ``center_lr`` (the authors'
    #: ``lr_scheduler2``); False: fixed.
    center_scheduled: bool = later_field(False)
    #: Factor of the center loss (the authors' ``CenterLoss``: 0.5, Wen et al.'s ½).
    center_factor: float = later_field(1.0)

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        return Classifier(
            backbone,
            feat_dim,
            nn.Linear(feat_dim, num_classes),
            extras={"centers": ClassCenters(num_classes, feat_dim)},
        )

    def param_groups(self, model: Classifier) -> list[dict[str, Any]]:
        centers = _class_centers(model)
        rest = [p for p in model.parameters() if p.requires_grad and p is not centers]
        group: dict[str, Any] = {
            "params": [centers],
            "lr": self.center_lr,
            "momentum": self.center_momentum,
            "weight_decay": self.center_weight_decay,
            "nesterov": self.center_nesterov,
            "scheduled": False,
        }
        if self.center_scheduled:
            group.update(scheduled=True, peak_lr=self.center_lr)
        return [{"params": rest}, group]

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        feats = full_precision(model.features(batch.images))
        ce = F.cross_entropy(model.head(feats), batch.labels)
        centers = _class_centers(model)
        ct = center_loss(feats, batch.labels, centers.detach(), self.center_factor)  # backbone: λ · ∇L_CT
        # centres: ∇L_CT, adds 0 to the value
        ct_centers = center_loss(feats.detach(), batch.labels, centers, self.center_factor)
        loss = ce + self.metric_weight * ct + (ct_centers - ct_centers.detach())
        return {"loss": loss, "ce": ce.detach(), "center": ct.detach()}


@register_method(variants=("cRW",))
@dataclass(frozen=True, kw_only=True)
class CETP(Method):
    """CE + batch-hard triplet loss, then cRW (the paper's CE+TP→cRW; Hermans et al., 2017).

    Stage-1 loss ``CE + λ · L_TP`` with λ = 0.001; ``L_TP`` on the raw (unnormalised) Euclidean
    pooled features: for each anchor the hardest positive and hardest negative in the batch,
    ``max(0, d_ap − d_an + margin)`` with margin 50, mean over the anchors that have both (anchors of
    a class alone in the batch are skipped; the paper is silent, pytorch-metric-learning's miner
    does the same).
    """

    name = "CE+TP"
    id = "ce+tp"
    description = "Cross-entropy + 0.001 · batch-hard triplet loss (margin 50) on raw features."
    reference = PAPER + "; Hermans et al., 2017 (batch-hard triplet loss)"
    url = "https://arxiv.org/abs/2110.14795"

    metric_weight: float = 0.001
    margin: float = 50.0
    #: True: every anchor counts, as the authors' ``OnlineHardTripletLoss`` (an anchor with no positive in the
    #: batch has ``d_ap = 0``); False: anchors without a positive or a negative are skipped.
    lone_anchors: bool = later_field(False)

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        feats = full_precision(model.features(batch.images))
        ce = F.cross_entropy(model.head(feats), batch.labels)
        with _fp32(feats):
            tp = batch_hard_triplet_loss(feats, batch.labels, self.margin, lone_anchors=self.lone_anchors)
        return {"loss": ce + self.metric_weight * tp, "ce": ce.detach(), "triplet": tp.detach()}


@dataclass(frozen=True, kw_only=True)
class _SupConBase(Method):
    """Shared by CE+SC and SC: two augmented views, a projection head, SupCon on its outputs."""

    views = 2

    temperature: float = 0.05
    base_temperature: float = 0.05
    projection_hidden: int = 512
    projection_dim: int = 128
    #: Bias of the projection's first linear layer (the authors' ``pred_head``: none).
    projection_hidden_bias: bool = later_field(True)

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        projector = ProjectionHead(
            feat_dim, self.projection_hidden, self.projection_dim, hidden_bias=self.projection_hidden_bias
        )
        return Classifier(backbone, feat_dim, nn.Linear(feat_dim, num_classes), extras={"projector": projector})

    def _two_views(self, model: Classifier, batch: Batch) -> tuple[Tensor, Tensor]:
        """Pooled features of both views ``(2N, d)`` (view-major) and the SupCon loss over them."""
        views = batch.views if len(batch.views) >= 2 else (batch.images, batch.images)
        n = batch.labels.shape[0]
        feats = full_precision(model.features(torch.cat(views[:2], dim=0)))
        z = full_precision(model.extras["projector"](feats))
        z = torch.stack([z[:n], z[n:]], dim=1)  # (N, 2, projection_dim); normalised in supcon_loss
        with _fp32(z):
            return feats, supcon_loss(z, batch.labels, self.temperature, self.base_temperature)


@register_method(variants=("cRW", ""))  # CE+SC→cRW (Table 2) before CE+SC (Table 3)
@dataclass(frozen=True, kw_only=True)
class CESC(_SupConBase):
    """CE + supervised contrastive loss (the paper's CE+SC→cRW; SupCon of Khosla et al., NeurIPS 2020).

    Two augmented views per image; CE on both views (mean over the ``2N`` logits) plus λ = 1.0 times
    SupCon on the L2-normalised outputs of a projection MLP (``feat_dim → 512 → ReLU → 128``) of the
    two views, temperature = base temperature = 0.05, every other sample/view of the same class a
    positive. The one-stage row CE+SC (Table 3) predicts with the stage-1 linear head.

    Where the paper is silent (docs/methods.md#ce-sc): both views go through the backbone as one ``2N`` batch (shared
    batch-norm statistics, as the SupCon reference), and an anchor with no positive contributes
    nothing (:func:`methods.losses.supcon_loss`). Under mixed precision (bf16 on CUDA) the projection
    runs in bf16 but SupCon itself in fp32.
    """

    name = "CE+SC"
    id = "ce+sc"
    description = "Cross-entropy on two views + 1.0 · supervised contrastive loss (T = 0.05) on a projection head."
    reference = PAPER + "; Khosla et al., NeurIPS 2020"
    url = "https://arxiv.org/abs/2110.14795"

    metric_weight: float = 1.0

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        feats, sc = self._two_views(model, batch)
        ce = F.cross_entropy(model.head(feats), batch.labels.repeat(2))
        return {"loss": ce + self.metric_weight * sc, "ce": ce.detach(), "supcon": sc.detach()}


@register_method(variants=("cRW",))
@dataclass(frozen=True, kw_only=True)
class SC(_SupConBase):
    """Supervised contrastive loss alone in stage 1, then cRW (Table 3's SC→cRW ablation).

    The stage 1 of :class:`CESC` without the CE term: SupCon (T = 0.05) on the projection of two views.
    The stage-1 linear head exists (the model has the same shape as every other) but receives no
    gradient; stage 2 replaces it.
    """

    name = "SC"
    id = "sc"
    description = "Supervised contrastive loss alone (T = 0.05) on a projection head; classifier from stage 2."
    reference = PAPER + "; Khosla et al., NeurIPS 2020"
    url = "https://arxiv.org/abs/2110.14795"

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        _, sc = self._two_views(model, batch)
        return {"loss": sc, "supcon": sc.detach()}
