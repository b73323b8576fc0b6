"""Batch-mixing methods the paper cites beyond its tables: Remix and Balanced-MixUp.

A module of their own so that the catalog's declared order (``methods/catalog/__init__.py``) lists
them after the proposed methods, as the paper cites them after its tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..base import Batch, StepInfo
from ..batch_mixing import MixedBatch, balanced_mixup_batch, remix_label_weight
from ..registry import register_method
from .mixing import BatchMixing, Mixup


@register_method
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
        return remix_label_weight(
            mixed.lam,
            counts[mixed.labels_a.to(counts.device)],
            counts[mixed.labels_b.to(counts.device)],
            self.kappa,
            self.tau,
        )


@register_method
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
        return balanced_mixup_batch(
            batch.images, batch.labels, batch.paired_images, batch.paired_labels, info.generator, self.alpha
        )
