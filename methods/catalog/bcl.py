"""Balanced contrastive learning, BCL (Zhu et al., CVPR 2022): logit-adjusted CE + balanced SupCon."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..base import Batch, Classifier, Method, StepInfo, full_precision
from ..heads import BCLMLP, NormedLinear
from ..losses import balanced_contrastive_loss, logit_adjusted_cross_entropy
from ..registry import register_method


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class BCL(Method):
    """Balanced contrastive learning (Zhu et al., "Balanced Contrastive Learning for Long-Tailed Visual
    Recognition", CVPR 2022), as the authors' code (github.com/FlamieZhu/Balanced-Contrastive-Learning,
    ``main.py``, ``models/resnext.py``, ``loss/contrastive.py``, ``loss/logitadjust.py``).

    Stage-1 loss ``lc_weight · L_LC + bcl_weight · L_BCL`` on three augmented views of each image,
    all through the backbone as one ``3N`` batch (shared batch-norm statistics, as the reference):

    * ``L_LC``, logit compensation = the logit-adjusted cross-entropy (τ = 1) on the first view's
      logits ``s · cos(f, w_c)`` of a cosine classifier (:class:`methods.heads.NormedLinear`, s = 30);
    * ``L_BCL`` (:func:`methods.losses.balanced_contrastive_loss`, T = 0.07) on the L2-normalised
      projections of views 2 and 3 by an MLP ``d -> d -> BN -> ReLU -> 1024`` (``extras["projector"]``),
      with class-averaging and class-complement: one prototype per class, the classifier's weight
      columns through a second MLP of the same shape (``extras["prototype_projector"]``), normalised.

    The head outputs ``s · cos`` (the reference ``NormedLinear`` returns ``self.s * out``), so the stored
    logits, and the ECE and NLL computed from them, are those of the official model; prediction is their argmax
    (the logit adjustment is in training only). Defaults are the official repository's (``--alpha 1.0``,
    ``--beta 0.35``, ``--temp 0.07``, ``--feat_dim 1024``, ``--use_norm True``, its ImageNet-LT / iNaturalist
    setting); the paper's CIFAR-LT weights were not checked against its text here.

    Where the paper leaves a choice open, or where this row departs from the reference:

    * All three views get the benchmark's one training augmentation (rotation, crop, flip); the
      reference uses RandAugment for the classification view and SimCLR-style colour jitter and
      grayscale (``sim``) for the two contrastive views, which the engine does not provide.
    * The projector runs on all ``3N`` features (its batch-norm statistics include the first view) and
      only views 2 and 3 enter ``L_BCL``, as in the reference; the classifier's logits of views 2 and 3
      are not used (the reference computes and discards them).
    * The prototypes are keys, never anchors, and the prototype MLP's batch norm normalises over the
      ``C`` prototypes, as in the reference.
    * Optimiser, schedule, batch size and epochs are the protocol's (the reference: SGD, cosine, 90
      epochs, batch 256). ``L_BCL`` is computed in fp32 under bf16 autocast.
    * →cRW is the benchmark's stage 2 (frozen extractor, re-initialised linear head, inverse-frequency
      weighted cross-entropy); the projector and prototype MLP are stage-1 only.
    """

    name = "BCL"
    id = "bcl"
    description = "Logit-adjusted CE (cosine head, s = 30) + 0.35 · balanced contrastive loss (T = 0.07), 3 views."
    reference = (
        "Zhu et al., Balanced Contrastive Learning for Long-Tailed Visual Recognition, CVPR 2022, "
        "https://github.com/FlamieZhu/Balanced-Contrastive-Learning"
    )
    url = "https://arxiv.org/abs/2207.09052"
    views = 3  # one for the classifier, two for the contrastive branch

    lc_weight: float = 1.0  # the reference's --alpha
    bcl_weight: float = 0.35  # the reference's --beta
    temperature: float = 0.07  # the reference's --temp
    tau: float = 1.0  # logit adjustment of L_LC (the reference's LogitAdjust default)
    scale: float = 30.0  # the reference's NormedLinear.s
    projection_dim: int = 1024  # the reference's --feat_dim

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        return Classifier(
            backbone,
            feat_dim,
            NormedLinear(feat_dim, num_classes, scale=self.scale),
            extras={
                "projector": BCLMLP(feat_dim, feat_dim, self.projection_dim),
                "prototype_projector": BCLMLP(feat_dim, feat_dim, self.projection_dim),
            },
        )

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        if len(batch.views) < 3:
            raise ValueError(f"BCL needs 3 augmented views per image (batch.views), got {len(batch.views)}")
        n = batch.labels.shape[0]
        feats = model.features(torch.cat(batch.views[:3], dim=0))
        logits = full_precision(model.head(feats[:n]))  # s · cos: the head scales, as the reference's
        lc = logit_adjusted_cross_entropy(logits, batch.labels, info.class_counts, self.tau)
        z = full_precision(model.extras["projector"](feats))
        prototypes = full_precision(model.extras["prototype_projector"](model.head.weight.T))
        with torch.autocast(device_type=z.device.type, enabled=False):
            bcl = balanced_contrastive_loss(
                torch.stack([z[n : 2 * n], z[2 * n :]], dim=1), batch.labels, prototypes, self.temperature
            )
        return {"loss": self.lc_weight * lc + self.bcl_weight * bcl, "lc": lc.detach(), "bcl": bcl.detach()}
