"""Batch-mixing methods: Mixup, CutMix (Table 2), Remix and Balanced-MixUp (cited beyond the tables).

Remix and Balanced-MixUp are defined here with their family but registered at the end of
``methods/catalog/__init__.py``, after the proposed methods, so that the catalog lists them last,
as the paper cites them after its tables.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..base import Batch, Classifier, Method, StepInfo
from ..mixing import (MixedBatch, balanced_mixup_batch, cutmix_batch, mixed_cross_entropy, mixup_batch,
                      remix_label_weight)
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

    def mix(self, batch: Batch, info: StepInfo) -> MixedBatch:
        return cutmix_batch(batch.images, batch.labels, info.generator, self.alpha, self.prob)


@dataclass(frozen=True, kw_only=True)
class Remix(Mixup):
    """Remix (Chou et al., "Remix: Rebalanced Mixup", ECCV Workshops 2020).

    Images mixed as in Mixup (``λ ~ Beta(1, 1)``, partner by permutation); the label weight of
    ``y_a`` is ``0`` if ``n_a / n_b ≥ κ`` and ``λ < τ``, ``1`` if ``n_a / n_b ≤ 1/κ`` and
    ``1 − λ < τ``, else ``λ`` (κ = 3, τ = 0.5); loss ``mean_i(w_i·CE_i(y_a) + (1 − w_i)·CE_i(y_b))``
    with the training counts ``n``. Zeng et al. are silent on combining Remix with DRW or sampling
    (the Remix paper also reports such combinations); we follow its definition: plain Remix on
    instance-sampled batches.
    """

    name = "Remix"
    id = "remix"
    description = "Rebalanced Mixup: Mixup images, labels pushed to the minority class (κ = 3, τ = 0.5)."
    reference = "Chou et al., ECCV Workshops 2020"
    url = "https://arxiv.org/abs/2007.03943"

    kappa: float = 3.0
    tau: float = 0.5

    def label_weight(self, mixed: MixedBatch, info: StepInfo) -> Tensor | None:
        counts = info.class_counts
        return remix_label_weight(mixed.lam, counts[mixed.labels_a.to(counts.device)],
                                  counts[mixed.labels_b.to(counts.device)], self.kappa, self.tau)


@dataclass(frozen=True, kw_only=True)
class BalancedMixUp(BatchMixing):
    """Balanced-MixUp (Galdran et al., "Balanced-MixUp for Highly Imbalanced Medical Image
    Classification", MICCAI 2021).

    Each step mixes the instance-sampled batch with a class-balanced batch (the engine's paired
    stream): ``λ ~ Beta(α, 1)`` with α = 0.2, images ``(1 − λ)·x + λ·x_bal``, soft targets mixed the
    same way, i.e. ``(1 − λ)·CE(y) + λ·CE(y_bal)``, as the reference's ``train_lt_mxp.py``.
    """

    name = "Balanced-MixUp"
    id = "balanced-mixup"
    description = "Mix each instance-sampled batch with a class-balanced batch, λ ~ Beta(0.2, 1)."
    reference = "Galdran et al., MICCAI 2021, https://github.com/agaldran/balanced_mixup"
    url = "https://arxiv.org/abs/2109.09850"
    paired_sampling = "class_balanced"

    alpha: float = 0.2

    def mix(self, batch: Batch, info: StepInfo) -> MixedBatch:
        if batch.paired_images is None or batch.paired_labels is None:
            raise ValueError("Balanced-MixUp needs the class-balanced paired batch (paired_sampling)")
        return balanced_mixup_batch(batch.images, batch.labels, batch.paired_images, batch.paired_labels,
                                    info.generator, self.alpha)
