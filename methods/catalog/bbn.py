"""BBN: bilateral-branch network with cumulative learning (Zhou et al., CVPR 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from ..base import Batch, Classifier, Method, StepInfo
from ..bilateral_branch import BBNBackbone, bbn_alpha, bbn_mix_features
from ..registry import register_method


@register_method
@dataclass(frozen=True, kw_only=True)
class BBN(Method):
    """BBN (Zhou et al., "BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed
    Visual Recognition", CVPR 2020).

    Two branches share the backbone except its last block (:class:`methods.bilateral_branch.BBNBackbone`: for a
    ResNet the last block of the last stage is duplicated, else the last stage). The conventional
    branch sees the instance-sampled batch, the re-balancing branch the engine's paired batch drawn
    by the reversed sampler (class ``c`` with ``p ∝ n_max / n_c``). At 1-based epoch ``e`` of ``E``:
    ``α = 1 − ((e − 1)/E)²``, logits ``FC(2·[α f_c, (1 − α) f_r])`` and loss
    ``α·CE(logits, y_c) + (1 − α)·CE(logits, y_r)``; one linear layer over the ``2d`` features.

    The model is a plain :class:`Classifier` whose backbone is the :class:`BBNBackbone`, so
    ``features(x) = cat(f_c, f_r)`` (``feat_dim = 2d``) and ``forward`` is the inference rule
    ``α = 0.5``. Where the paper is silent (docs/methods.md#bbn) we follow the BBN reference: α is constant within an
    epoch, both branches run the shared trunk on their own batch (separate batch-norm statistics),
    and the head has a bias.
    """

    name = "BBN"
    id = "bbn"
    description = "Bilateral-branch network: conventional + reversed-sampling branches, cumulative α schedule."
    reference = "Zhou et al., CVPR 2020, https://github.com/Megvii-Nanjing/BBN"
    url = "https://arxiv.org/abs/1912.02413"
    paired_sampling = "reversed"

    def build(self, backbone: nn.Module, feat_dim: int, num_classes: int, class_counts: Tensor) -> Classifier:
        bbn = BBNBackbone(backbone)
        return Classifier(bbn, 2 * bbn.feat_dim, nn.Linear(2 * bbn.feat_dim, num_classes))

    def alpha(self, info: StepInfo) -> float:
        """The cumulative-learning weight α of the conventional branch at this step's epoch."""
        return bbn_alpha(info.epoch + 1, info.epochs)

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        if batch.paired_images is None or batch.paired_labels is None:
            raise ValueError("BBN needs the reversed-sampled paired batch (paired_sampling)")
        bbn = model.backbone
        if not isinstance(bbn, BBNBackbone):
            raise TypeError(f"BBN trains a model from BBN.build (a BBNBackbone), got a {type(bbn).__name__}")
        f_c, f_r = bbn.forward_branches(batch.images, batch.paired_images)
        alpha = self.alpha(info)
        logits = model.head(bbn_mix_features(f_c, f_r, alpha))
        loss_c = F.cross_entropy(logits, batch.labels)
        loss_r = F.cross_entropy(logits, batch.paired_labels)
        return {
            "loss": alpha * loss_c + (1.0 - alpha) * loss_r,
            "ce_conventional": loss_c.detach(),
            "ce_rebalancing": loss_r.detach(),
        }
