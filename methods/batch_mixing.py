"""Batch mixing transforms: Mixup, CutMix, Remix label weights, Balanced-MixUp.

All transforms take float image batches ``(N, C, H, W)`` and a
``torch.Generator``, so that a run is reproducible from the generator alone.
A mixed batch is described by :class:`MixedBatch`: the images are
``lam · x_a + (1 - lam) · x_b`` (Mixup) or ``x_a`` with a box of ``x_b`` pasted
(CutMix), and the loss is ``lam · CE(y_a) + (1 - lam) · CE(y_b)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "MixedBatch",
    "sample_beta",
    "mixup_batch",
    "cutmix_box",
    "cutmix_box_at",
    "cutmix_batch",
    "cutmix_per_sample",
    "cutmix_samples",
    "mixed_cross_entropy",
    "remix_label_weight",
    "soft_mix_targets",
    "soft_cross_entropy",
    "balanced_mixup_batch",
]


@dataclass
class MixedBatch:
    """A mixed batch: ``images`` with label pair ``(labels_a, labels_b)`` and weight ``lam`` for ``labels_a``.

    ``perm`` is the partner permutation (``labels_b = labels_a[perm]``), or
    ``None`` when the partner batch is a separate batch (Balanced-MixUp). ``sample_lam``: per-sample weights of
    ``labels_a`` where each sample is mixed on its own (:func:`cutmix_per_sample`; ``perm`` then holds each
    sample's partner index, not necessarily a permutation), else None.
    """

    images: Tensor
    labels_a: Tensor
    labels_b: Tensor
    lam: float
    perm: Tensor | None
    sample_lam: Tensor | None = None


def sample_beta(a: float, b: float, rng: torch.Generator) -> float:
    """One draw of ``Beta(a, b)`` from ``rng``, as ``G_a / (G_a + G_b)`` of two gammas.

    ``torch.distributions.Beta`` cannot take a generator, so the gammas are
    drawn with ``torch._standard_gamma(..., generator=rng)`` in float64.
    """
    if a <= 0 or b <= 0:
        raise ValueError(f"Beta parameters must be positive, got ({a}, {b})")
    conc = torch.tensor([a, b], dtype=torch.float64, device=rng.device)
    g = torch._standard_gamma(conc, generator=rng)
    lam = float(g[0] / (g[0] + g[1]))
    return min(max(lam, 0.0), 1.0)


def _randperm(n: int, rng: torch.Generator, device: torch.device) -> Tensor:
    return torch.randperm(n, generator=rng, device=rng.device).to(device)


def mixup_batch(images: Tensor, labels: Tensor, rng: torch.Generator, alpha: float = 1.0) -> MixedBatch:
    """Mixup (Zhang et al., ICLR 2018): one ``λ ~ Beta(α, α)`` per batch, partner by random permutation.

    Returns ``MixedBatch(λ x + (1 - λ) x[perm], y, y[perm], λ, perm)``.
    """
    lam = sample_beta(alpha, alpha, rng)
    perm = _randperm(images.shape[0], rng, images.device)
    mixed = lam * images + (1.0 - lam) * images[perm]
    return MixedBatch(mixed, labels, labels[perm.to(labels.device)], lam, perm)


def cutmix_box_at(height: int, width: int, lam: float, cy: int, cx: int) -> tuple[int, int, int, int]:
    """CutMix box ``(y0, y1, x0, x1)`` of side ``√(1 - λ)`` of the image centred at ``(cy, cx)``, clipped.

    The side lengths are ``int(H · √(1 - λ))`` and ``int(W · √(1 - λ))`` as in the
    CutMix reference (``rand_bbox``); the box starts at ``c - side // 2`` and
    spans exactly ``side`` pixels before clipping to the image (the reference's
    ``c ± side // 2`` is one pixel shorter for odd sides; λ is recomputed from
    the clipped area either way).
    """
    cut = math.sqrt(max(0.0, 1.0 - lam))
    cut_h, cut_w = int(height * cut), int(width * cut)
    y0, x0 = cy - cut_h // 2, cx - cut_w // 2
    y1, x1 = y0 + cut_h, x0 + cut_w

    def clip(v: int, size: int) -> int:
        return min(max(v, 0), size)

    return clip(y0, height), clip(y1, height), clip(x0, width), clip(x1, width)


def cutmix_box(height: int, width: int, lam: float, rng: torch.Generator) -> tuple[int, int, int, int]:
    """CutMix box ``(y0, y1, x0, x1)`` with a centre drawn uniformly over the pixels from ``rng``.

    See :func:`cutmix_box_at` for the box itself.
    """
    cy = int(torch.randint(0, height, (), generator=rng, device=rng.device))
    cx = int(torch.randint(0, width, (), generator=rng, device=rng.device))
    return cutmix_box_at(height, width, lam, cy, cx)


def cutmix_batch(
    images: Tensor,
    labels: Tensor,
    rng: torch.Generator,
    alpha: float = 1.0,
    prob: float = 0.5,
) -> MixedBatch:
    """CutMix (Yun et al., ICCV 2019), applied to the whole batch with probability ``prob``.

    As in the reference: ``r ~ U(0, 1)``; if ``r < prob``: ``λ ~ Beta(α, α)``, a
    box from :func:`cutmix_box` is filled with the same region of the permuted
    batch, and ``λ`` is recomputed as ``1 - box_area / image_area`` from the
    clipped box. Otherwise the batch is returned unchanged with ``λ = 1``,
    ``labels_b = labels_a`` and the identity permutation.
    """
    n, _, height, width = images.shape
    r = float(torch.rand((), generator=rng, device=rng.device))
    if alpha <= 0 or r >= prob:
        identity = torch.arange(n, device=images.device)
        return MixedBatch(images, labels, labels, 1.0, identity)
    lam = sample_beta(alpha, alpha, rng)
    perm = _randperm(n, rng, images.device)
    y0, y1, x0, x1 = cutmix_box(height, width, lam, rng)
    mixed = images.clone()
    mixed[:, :, y0:y1, x0:x1] = images[perm, :, y0:y1, x0:x1]
    lam = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
    return MixedBatch(mixed, labels, labels[perm.to(labels.device)], lam, perm)


def cutmix_samples(
    images: Tensor,
    labels: Tensor,
    mixed: Sequence[bool],
    partners: Sequence[int],
    lams: Sequence[float],
    centres: Sequence[tuple[int, int]],
) -> MixedBatch:
    """CutMix of each sample on its own, from given draws: sample ``i`` with ``mixed[i]`` gets the box of
    :func:`cutmix_box_at` (``lams[i]``, centre ``centres[i] = (cy, cx)``) filled from image ``partners[i]`` of
    the batch, and the weight ``1 − box area / image area`` of its own label; an unmixed sample keeps its image and
    weight 1. Partners are read from the unmixed batch."""
    n, _, height, width = images.shape
    out = images.clone()
    weights = torch.ones(n, dtype=torch.float64)
    partner_index = torch.arange(n)
    for i in range(n):
        if not mixed[i]:
            continue
        j = int(partners[i])
        y0, y1, x0, x1 = cutmix_box_at(height, width, float(lams[i]), *centres[i])
        out[i, :, y0:y1, x0:x1] = images[j, :, y0:y1, x0:x1]
        weights[i] = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
        partner_index[i] = j
    partner_index = partner_index.to(labels.device)
    sample_lam = weights.to(torch.get_default_dtype())
    return MixedBatch(out, labels, labels[partner_index], float(sample_lam.mean()), partner_index, sample_lam)


def cutmix_per_sample(
    images: Tensor,
    labels: Tensor,
    rng: torch.Generator,
    alpha: float = 1.0,
    prob: float = 1.0,
) -> MixedBatch:
    """CutMix drawn for each sample, as the authors' ``CutMix`` dataset (Tsingwaa/classification
    ``model/module/cutmix.py``, ``__getitem__``): per sample ``r ~ U(0, 1)``, mixed when ``r ≤ prob`` (and
    ``α > 0``): a partner uniform over the batch (the authors': over the training set), ``λ ~ Beta(α, α)``, a centre
    uniform over the pixels; see :func:`cutmix_samples`. The loss weights each sample's own label by its
    ``sample_lam``."""
    n, _, height, width = images.shape
    mixed, partners, lams, centres = [], [], [], []
    for _ in range(n):
        r = float(torch.rand((), generator=rng, device=rng.device))
        mix = alpha > 0 and r <= prob
        mixed.append(mix)
        if not mix:
            partners.append(0)
            lams.append(1.0)
            centres.append((0, 0))
            continue
        partners.append(int(torch.randint(0, n, (), generator=rng, device=rng.device)))
        lams.append(sample_beta(alpha, alpha, rng))
        cy = int(torch.randint(0, height, (), generator=rng, device=rng.device))
        cx = int(torch.randint(0, width, (), generator=rng, device=rng.device))
        centres.append((cy, cx))
    return cutmix_samples(images, labels, mixed, partners, lams, centres)


def mixed_cross_entropy(logits: Tensor, batch: MixedBatch, label_weight: Tensor | None = None) -> Tensor:
    """``λ · CE(logits, y_a) + (1 - λ) · CE(logits, y_b)`` (batch means).

    With ``label_weight`` (per-sample weight of ``y_a``, e.g. from
    :func:`remix_label_weight`) the loss is ``mean_i(w_i ℓ_i(y_a) + (1 - w_i) ℓ_i(y_b))``.
    """
    if label_weight is None:
        lam = batch.lam
        return lam * F.cross_entropy(logits, batch.labels_a) + (1.0 - lam) * F.cross_entropy(logits, batch.labels_b)
    w = label_weight.to(device=logits.device, dtype=logits.dtype)
    ce_a = F.cross_entropy(logits, batch.labels_a, reduction="none")
    ce_b = F.cross_entropy(logits, batch.labels_b, reduction="none")
    return (w * ce_a + (1.0 - w) * ce_b).mean()


def remix_label_weight(
    lam: float,
    counts_a: Tensor,
    counts_b: Tensor,
    kappa: float = 3.0,
    tau: float = 0.5,
) -> Tensor:
    """Remix (Chou et al., ECCV-W 2020) per-sample label weight for ``y_a``.

    With images mixed as ``λ x_a + (1 - λ) x_b`` and ``r = n_{y_a} / n_{y_b}``:
    ``0`` if ``r ≥ κ`` and ``λ < τ`` (the minority partner takes the label),
    ``1`` if ``r ≤ 1/κ`` and ``1 - λ < τ``, else ``λ``. Returns a
    tensor shaped like ``counts_a``.
    """
    ratio = counts_a.to(torch.float64) / counts_b.to(torch.float64)
    weight = torch.full_like(ratio, float(lam))
    weight = torch.where((ratio >= kappa) & (lam < tau), torch.zeros_like(weight), weight)
    weight = torch.where((ratio <= 1.0 / kappa) & (1.0 - lam < tau), torch.ones_like(weight), weight)
    return weight.to(torch.get_default_dtype())


def soft_mix_targets(labels_a: Tensor, labels_b: Tensor, weight: float | Tensor, num_classes: int) -> Tensor:
    """Soft targets ``w · onehot(y_a) + (1 - w) · onehot(y_b)``; ``weight`` a float or per-sample ``(N,)``."""
    one_a = F.one_hot(labels_a.long(), num_classes).to(torch.get_default_dtype())
    one_b = F.one_hot(labels_b.long(), num_classes).to(torch.get_default_dtype())
    if isinstance(weight, Tensor):
        weight = weight.to(one_a.device, one_a.dtype).reshape(-1, 1)
    return weight * one_a + (1.0 - weight) * one_b


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy with soft targets, ``mean_i -Σ_c t_ic log softmax(z_i)_c``."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def balanced_mixup_batch(
    images: Tensor,
    labels: Tensor,
    balanced_images: Tensor,
    balanced_labels: Tensor,
    rng: torch.Generator,
    alpha: float = 0.2,
) -> MixedBatch:
    """Balanced-MixUp (Galdran et al., MICCAI 2021): mix an instance batch with a class-balanced batch.

    As in the reference (``train_lt_mxp.py``): ``λ ~ Beta(α, 1)``, images
    ``(1 - λ) x + λ x_bal``, soft targets mixed the same way. Returned as
    ``MixedBatch(images, labels, balanced_labels, lam=1 - λ, perm=None)``, so
    :func:`mixed_cross_entropy` equals the reference's soft-target CE
    (``soft_mix_targets(labels, balanced_labels, 1 - λ, C)``).
    """
    if images.shape != balanced_images.shape:
        raise ValueError("instance and balanced batches must have the same shape")
    lam_balanced = sample_beta(alpha, 1.0, rng)
    mixed = (1.0 - lam_balanced) * images + lam_balanced * balanced_images
    return MixedBatch(mixed, labels, balanced_labels, 1.0 - lam_balanced, None)
