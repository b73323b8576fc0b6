"""Batch-mixing methods of Table 2: Mixup and CutMix (their base :class:`BatchMixing` is shared with
``cited_mixing.py``: Remix and Balanced-MixUp, which the paper cites beyond its tables)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..base import Batch, Classifier, Method, StepInfo, later_field
from ..batch_mixing import MixedBatch, cutmix_batch, cutmix_per_sample, mixed_cross_entropy, mixup_batch
from ..registry import register_method


@dataclass(frozen=True, kw_only=True)
class BatchMixing(Method):
    """Base of the mixing methods: a subclass mixes the batch (:meth:`mix`), and may weight the
    labels per sample (:meth:`label_weight`); the loss is ``w·CE(y_a) + (1 − w)·CE(y_b)``."""

    def mix(self, batch: Batch, info: StepInfo) -> MixedBatch:
        raise NotImplementedError

    def label_weight(self, mixed: MixedBatch, info: StepInfo) -> Tensor | None:
        """Per-sample weight of ``y_a``; None means the batch's λ."""
        return None

    def training_step(self, model: Classifier, batch: Batch, info: StepInfo) -> dict[str, Tensor]:
        mixed = self.mix(batch, info)
        loss = mixed_cross_entropy(model(mixed.images), mixed, label_weight=self.label_weight(mixed, info))
        return {"loss": loss}


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class Mixup(BatchMixing):
    """Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018).

    One ``λ ~ Beta(α, α)`` per batch (α = 1, i.e. Beta(1, 1) as in docs/methods.md#mixup), partner images by a
    random permutation of the batch, loss ``λ·CE(y_a) + (1 − λ)·CE(y_b)``. Randomness comes from the
    step's CPU generator (reproducible). For Mixup→cRW, stage 2 trains on unmixed images (the
    engine's stage 2; docs/methods.md#stage-2: the stage-1 augmentation, which mixing is not part of).
    """

    name = "Mixup"
    id = "mixup"
    description = "Mixup: λ ~ Beta(1, 1) per batch, mixed cross-entropy."
    reference = "Zhang et al., ICLR 2018"
    url = "https://arxiv.org/abs/1710.09412"

    alpha: float = 1.0

    def mix(self, batch: Batch, info: StepInfo) -> MixedBatch:
        return mixup_batch(batch.images, batch.labels, info.generator, self.alpha)


@register_method(variants=("", "cRW"))
@dataclass(frozen=True, kw_only=True)
class CutMix(BatchMixing):
    """CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with
    Localizable Features", ICCV 2019).

    With probability 0.5 per batch: ``λ ~ Beta(1, 1)``, a box of side ``√(1 − λ)`` of the image with a
    uniform centre, clipped, filled from a permuted batch, ``λ`` recomputed from the clipped area;
    loss ``λ·CE(y_a) + (1 − λ)·CE(y_b)`` (plain CE on the other batches). The box side is
    ``int(H·√(1 − λ))`` as in the reference's ``rand_bbox`` (the paper is silent on rounding; docs/methods.md#cutmix).
    """

    name = "CutMix"
    id = "cutmix"
    description = "CutMix with probability 0.5: λ ~ Beta(1, 1), box pasted from a permuted batch, mixed CE."
    reference = "Yun et al., ICCV 2019, https://github.com/clovaai/CutMix-PyTorch"
    url = "https://arxiv.org/abs/1905.04899"

    alpha: float = 1.0
    prob: float = 0.5
    #: True: each sample is mixed on its own (own draw against ``prob``, partner, λ and box), as the authors'
    #: ``CutMix`` dataset; False: one draw for the whole batch, partners by permutation.
    per_sample: bool = later_field(False)

    def mix(self, batch: Batch, info: StepInfo) -> MixedBatch:
        if self.per_sample:
            return cutmix_per_sample(batch.images, batch.labels, info.generator, self.alpha, self.prob)
        return cutmix_batch(batch.images, batch.labels, info.generator, self.alpha, self.prob)

    def label_weight(self, mixed: MixedBatch, info: StepInfo) -> Tensor | None:
        return mixed.sample_lam
