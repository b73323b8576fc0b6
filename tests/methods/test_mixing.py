"""Tests for methods.batch_mixing: Mixup, CutMix, Remix label weights, Balanced-MixUp."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methods.batch_mixing import (
    MixedBatch,
    balanced_mixup_batch,
    cutmix_batch,
    cutmix_box,
    cutmix_box_at,
    mixed_cross_entropy,
    mixup_batch,
    remix_label_weight,
    sample_beta,
    soft_cross_entropy,
    soft_mix_targets,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int = 8, h: int = 16, w: int = 16) -> torch.Tensor:
    # Image i is the constant i + 1 (all images distinct, easy to trace).
    return (torch.arange(n, dtype=torch.float32) + 1).view(n, 1, 1, 1).expand(n, 3, h, w).clone()


def test_sample_beta_reproducible_and_moments() -> None:
    assert sample_beta(1.0, 1.0, _gen(0)) == sample_beta(1.0, 1.0, _gen(0))
    g = _gen(1)
    draws = torch.tensor([sample_beta(1.0, 1.0, g) for _ in range(2000)])
    assert draws.min() >= 0 and draws.max() <= 1
    assert draws.mean().item() == pytest.approx(0.5, abs=0.03)
    draws = torch.tensor([sample_beta(0.2, 1.0, g) for _ in range(2000)])  # mean 0.2 / 1.2
    assert draws.mean().item() == pytest.approx(1 / 6, abs=0.03)
    with pytest.raises(ValueError):
        sample_beta(0.0, 1.0, g)


def test_mixup_batch() -> None:
    x, y = _images(), torch.arange(8) % 3
    a = mixup_batch(x, y, _gen(3))
    b = mixup_batch(x, y, _gen(3))
    assert isinstance(a, MixedBatch) and 0.0 <= a.lam <= 1.0
    assert a.lam == b.lam and torch.equal(a.perm, b.perm) and torch.equal(a.images, b.images)
    assert sorted(a.perm.tolist()) == list(range(8))
    torch.testing.assert_close(a.images, a.lam * x + (1 - a.lam) * x[a.perm])
    assert torch.equal(a.labels_a, y) and torch.equal(a.labels_b, y[a.perm])
    c = mixup_batch(x, y, _gen(4))
    assert c.lam != a.lam


def test_cutmix_box_hand_cases() -> None:
    # 32x32, λ = 0.75: side 32 · √0.25 = 16. Centred at the corner (0, 0) the box
    # [-8, 8) is clipped to [0, 8): area 64, so λ becomes 1 - 64/1024 = 0.9375, not 0.75.
    y0, y1, x0, x1 = cutmix_box_at(32, 32, 0.75, 0, 0)
    assert (y0, y1, x0, x1) == (0, 8, 0, 8)
    assert 1 - (y1 - y0) * (x1 - x0) / (32 * 32) == 0.9375
    # Centred in the middle nothing is clipped and λ is unchanged.
    assert cutmix_box_at(32, 32, 0.75, 16, 16) == (8, 24, 8, 24)
    # 20x40, λ = 0.36: sides 16 x 32; centre (19, 39) -> y [11, 27) -> [11, 20), x [23, 55) -> [23, 40)
    assert cutmix_box_at(20, 40, 0.36, 19, 39) == (11, 20, 23, 40)  # λ' = 1 - 9·17/800 = 0.80875
    # λ = 1: empty box; λ = 0: the whole image.
    y0, y1, x0, x1 = cutmix_box_at(32, 32, 1.0, 5, 5)
    assert (y1 - y0) * (x1 - x0) == 0
    assert cutmix_box_at(32, 32, 0.0, 16, 16) == (0, 32, 0, 32)


def test_cutmix_box_random_centre() -> None:
    boxes = [cutmix_box(32, 32, 0.75, _gen(s)) for s in range(50)]
    assert cutmix_box(32, 32, 0.75, _gen(0)) == boxes[0]
    for y0, y1, x0, x1 in boxes:
        assert 0 <= y0 <= y1 <= 32 and 0 <= x0 <= x1 <= 32
        assert y1 - y0 <= 16 and x1 - x0 <= 16
    assert len(set(boxes)) > 10


def test_cutmix_batch_lambda_from_clipped_area() -> None:
    x, y = _images(8, 16, 16), torch.arange(8)
    for seed in range(30):
        mb = cutmix_batch(x, y, _gen(seed), prob=1.0)
        assert torch.equal(mb.labels_b, y[mb.perm])
        assert torch.equal(cutmix_batch(x, y, _gen(seed), prob=1.0).images, mb.images)
        i = next((i for i in range(8) if mb.perm[i] != i), None)
        if i is None:
            continue
        changed = mb.images[i, 0] != x[i, 0]
        area = int(changed.sum())
        # λ is 1 - (pasted area) / (image area), whatever the drawn λ was.
        assert mb.lam == pytest.approx(1 - area / 256)
        if area:
            rows, cols = changed.any(1).nonzero(), changed.any(0).nonzero()
            assert area == len(rows) * len(cols)  # a rectangle
            assert torch.all(mb.images[i, :, changed] == x[mb.perm[i], 0, 0, 0])


def test_cutmix_batch_clipped_box_changes_lambda() -> None:
    # Replay cutmix_batch's draws (r, λ, perm, box centre) to find a batch whose box is clipped.
    x, y = _images(8, 16, 16), torch.arange(8)
    for seed in range(100):
        g = _gen(seed)
        torch.rand((), generator=g)
        drawn = sample_beta(1.0, 1.0, g)
        torch.randperm(8, generator=g)
        y0, y1, x0, x1 = cutmix_box(16, 16, drawn, g)
        side = int(16 * (1 - drawn) ** 0.5)
        if (y1 - y0) * (x1 - x0) < side * side:
            break
    else:
        pytest.fail("no clipped box in 100 seeds")
    mb = cutmix_batch(x, y, _gen(seed), prob=1.0)
    assert mb.lam == pytest.approx(1 - (y1 - y0) * (x1 - x0) / 256)
    assert mb.lam > drawn + 1e-6


def test_cutmix_batch_not_applied() -> None:
    x, y = _images(), torch.arange(8)
    mb = cutmix_batch(x, y, _gen(0), prob=0.0)
    assert mb.lam == 1.0 and torch.equal(mb.labels_b, mb.labels_a) and torch.equal(mb.images, x)
    applied = [cutmix_batch(x, y, _gen(s), prob=0.5).lam < 1.0 for s in range(200)]
    assert 60 < sum(applied) < 140


def test_mixed_cross_entropy() -> None:
    g = _gen(5)
    logits = torch.randn(6, 4, generator=g)
    ya, yb = torch.randint(0, 4, (6,), generator=g), torch.randint(0, 4, (6,), generator=g)
    mb = MixedBatch(torch.zeros(6, 1, 1, 1), ya, yb, 0.3, None)
    expected = 0.3 * F.cross_entropy(logits, ya) + 0.7 * F.cross_entropy(logits, yb)
    torch.testing.assert_close(mixed_cross_entropy(logits, mb), expected)
    torch.testing.assert_close(mixed_cross_entropy(logits, mb, label_weight=torch.full((6,), 0.3)), expected)
    torch.testing.assert_close(soft_cross_entropy(logits, soft_mix_targets(ya, yb, 0.3, 4)), expected)
    w = torch.tensor([0.0, 1.0, 0.3, 0.3, 1.0, 0.0])
    ce_a = F.cross_entropy(logits, ya, reduction="none")
    ce_b = F.cross_entropy(logits, yb, reduction="none")
    per_sample = (w * ce_a + (1 - w) * ce_b).mean()
    torch.testing.assert_close(mixed_cross_entropy(logits, mb, label_weight=w), per_sample)
    torch.testing.assert_close(soft_cross_entropy(logits, soft_mix_targets(ya, yb, w, 4)), per_sample)


def test_remix_label_weight_hand_cases() -> None:
    counts_a = torch.tensor([900, 10, 100, 300])
    counts_b = torch.tensor([100, 900, 100, 100])  # n_a / n_b = 9, 1/90, 1, 3
    # λ = 0.3 < τ: head-vs-tail pairs (ratio ≥ κ, inclusive) give the label to the tail -> 0
    torch.testing.assert_close(remix_label_weight(0.3, counts_a, counts_b), torch.tensor([0.0, 0.3, 0.3, 0.0]))
    # λ = 0.8, 1 - λ = 0.2 < τ: tail-vs-head (ratio ≤ 1/κ) keeps the tail label -> 1
    torch.testing.assert_close(remix_label_weight(0.8, counts_a, counts_b), torch.tensor([0.8, 1.0, 0.8, 0.8]))
    # λ = 0.5: neither λ < τ nor 1 - λ < τ -> plain mixup weight everywhere
    torch.testing.assert_close(remix_label_weight(0.5, counts_a, counts_b), torch.full((4,), 0.5))
    # other κ, τ
    torch.testing.assert_close(
        remix_label_weight(0.6, counts_a, counts_b, kappa=10.0, tau=0.7), torch.tensor([0.6, 1.0, 0.6, 0.6])
    )


def test_balanced_mixup_batch() -> None:
    x, y = _images(4), torch.tensor([0, 0, 0, 1])
    xb, yb = _images(4).flip(0), torch.tensor([3, 2, 1, 0])
    mb = balanced_mixup_batch(x, y, xb, yb, _gen(6))
    lam_b = 1.0 - mb.lam
    torch.testing.assert_close(mb.images, (1 - lam_b) * x + lam_b * xb)
    assert mb.perm is None and torch.equal(mb.labels_a, y) and torch.equal(mb.labels_b, yb)
    assert mb.lam == balanced_mixup_batch(x, y, xb, yb, _gen(6)).lam
    logits = torch.randn(4, 4, generator=_gen(7))
    ref_targets = (1 - lam_b) * F.one_hot(y, 4) + lam_b * F.one_hot(yb, 4)
    torch.testing.assert_close(mixed_cross_entropy(logits, mb), soft_cross_entropy(logits, ref_targets))
