"""Tests for methods.losses against independent references (naive loops, hand numbers, PML)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.losses import SupConLoss, TripletMarginLoss
from pytorch_metric_learning.miners import BatchHardMiner
from pytorch_metric_learning.reducers import MeanReducer

from methods.losses import (
    batch_hard_triplet_loss,
    center_loss,
    focal_loss,
    ldam_loss,
    ldam_margins,
    sigmoid_class_balanced_focal_loss,
    supcon_loss,
)
from methods.weights import class_balanced_weights

COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def _batch(n: int = 16, c: int = 5, seed: int = 0, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64) * scale
    target = torch.randint(0, c, (n,), generator=g)
    return logits, target


# --------------------------------------------------------------------------- focal


def _naive_focal(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> float:
    total = 0.0
    for i in range(logits.shape[0]):
        row = [float(v) for v in logits[i]]
        m = max(row)
        denom = sum(math.exp(v - m) for v in row)
        p = math.exp(row[int(target[i])] - m) / denom
        total += -((1 - p) ** gamma) * math.log(p)
    return total / logits.shape[0]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_focal_vs_naive_loop(gamma: float) -> None:
    logits, target = _batch(seed=1)
    expected = _naive_focal(logits, target, gamma)
    assert focal_loss(logits, target, gamma).item() == pytest.approx(expected, rel=1e-10)


def test_focal_gamma_zero_is_cross_entropy_and_default_is_one() -> None:
    logits, target = _batch(seed=2)
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
    torch.testing.assert_close(focal_loss(logits, target), focal_loss(logits, target, gamma=1.0))
    assert focal_loss(logits, target) < F.cross_entropy(logits, target)


def _naive_cb_focal(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, gamma: float) -> float:
    total = 0.0
    n, c = logits.shape
    for i in range(n):
        w = float(weights[int(target[i])])
        for j in range(c):
            p = 1.0 / (1.0 + math.exp(-float(logits[i, j])))
            p_t = p if j == int(target[i]) else 1.0 - p
            total += w * (1.0 - p_t) ** gamma * -math.log(p_t)
    return total / n


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0])
def test_sigmoid_cb_focal_vs_naive_loop(gamma: float) -> None:
    logits, target = _batch(n=12, c=10, seed=3)
    weights = class_balanced_weights(COUNTS).double()
    got = sigmoid_class_balanced_focal_loss(logits, target, weights, gamma)
    assert got.item() == pytest.approx(_naive_cb_focal(logits, target, weights, gamma), rel=1e-10)


def test_sigmoid_cb_focal_stable_for_large_logits() -> None:
    logits = torch.tensor([[200.0, -200.0, 0.0], [-150.0, 150.0, 80.0]], requires_grad=True)
    target = torch.tensor([0, 2])
    loss = sigmoid_class_balanced_focal_loss(logits, target, torch.ones(3))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    # Only two terms are not ~0: sample 0, class 2 (z = 0, t = 0): σ(0) · log 2 = 0.5 log 2;
    # sample 1, class 1 (z = 150, t = 0): σ(150) · 150 = 150. Divided by the batch size 2.
    assert loss.item() == pytest.approx((150.0 + 0.5 * math.log(2.0)) / 2, rel=1e-6)


# --------------------------------------------------------------------------- LDAM


def test_ldam_margins_literal() -> None:
    m = ldam_margins(COUNTS)
    # 0.5 * (50 / n) ** 0.25, by hand to 3 decimals: e.g. 5000 -> 0.5 * 0.01 ** 0.25 = 0.5 * 0.3162 = 0.158
    expected = torch.tensor([0.158, 0.180, 0.204, 0.232, 0.264, 0.300, 0.341, 0.387, 0.440, 0.500])
    assert m.dtype == torch.float32
    torch.testing.assert_close(m, expected, atol=1e-3, rtol=0)
    assert m.max().item() == pytest.approx(0.5)
    raw = torch.tensor(COUNTS, dtype=torch.float64) ** -0.25
    torch.testing.assert_close(m.double(), raw / raw.max() * 0.5)
    torch.testing.assert_close(ldam_margins(COUNTS, max_margin=1.0), m * 2)


def _naive_ldam(
    cos: torch.Tensor, target: torch.Tensor, margins: torch.Tensor, s: float, weight: torch.Tensor | None
) -> float:
    num = den = 0.0
    for i in range(cos.shape[0]):
        y = int(target[i])
        z = [s * float(cos[i, j]) - (s * float(margins[y]) if j == y else 0.0) for j in range(cos.shape[1])]
        m = max(z)
        loss_i = -(z[y] - m - math.log(sum(math.exp(v - m) for v in z)))
        w = 1.0 if weight is None else float(weight[y])
        num += w * loss_i
        den += w
    return num / den


@pytest.mark.parametrize("use_weight", [False, True])
def test_ldam_loss_vs_naive_loop(use_weight: bool) -> None:
    g = torch.Generator().manual_seed(4)
    cos = torch.rand(20, 10, generator=g, dtype=torch.float64) * 2 - 1
    target = torch.randint(0, 10, (20,), generator=g)
    margins = ldam_margins(COUNTS).double()
    weight = class_balanced_weights(COUNTS).double() if use_weight else None
    got = ldam_loss(cos, target, margins, scale=30.0, weight=weight)
    assert got.item() == pytest.approx(_naive_ldam(cos, target, margins, 30.0, weight), rel=1e-10)


def test_ldam_zero_margin_is_scaled_cross_entropy() -> None:
    cos = torch.rand(8, 4) * 2 - 1
    target = torch.randint(0, 4, (8,))
    expected = F.cross_entropy(30 * cos, target)
    torch.testing.assert_close(ldam_loss(cos, target, torch.zeros(4), scale=30.0), expected)


# --------------------------------------------------------------------------- center


def test_center_loss_vs_naive_loop() -> None:
    g = torch.Generator().manual_seed(5)
    feats = torch.randn(9, 6, generator=g, dtype=torch.float64) * 10
    centers = torch.randn(4, 6, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (9,), generator=g)
    expected = (
        sum(sum((float(feats[i, d]) - float(centers[int(labels[i]), d])) ** 2 for d in range(6)) for i in range(9)) / 9
    )
    assert center_loss(feats, labels, centers).item() == pytest.approx(expected, rel=1e-12)
    # Hand case: ‖(3, 4) - 0‖² = 25 and ‖(1, 1) - (1, 1)‖² = 0 -> mean 12.5
    feats2, centers2 = torch.tensor([[3.0, 4.0], [1.0, 1.0]]), torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    hand = center_loss(feats2, torch.tensor([0, 1]), centers2)
    assert hand.item() == pytest.approx(12.5)


# --------------------------------------------------------------------------- triplet


def _pml_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    distance = LpDistance(normalize_embeddings=False)
    miner = BatchHardMiner(distance=LpDistance(normalize_embeddings=False))
    loss_fn = TripletMarginLoss(margin=margin, distance=distance, reducer=MeanReducer())
    return loss_fn(features, labels, miner(features, labels))


def _naive_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float) -> float:
    n = features.shape[0]
    x = [[float(v) for v in row] for row in features]
    y = [int(v) for v in labels]

    def d(i: int, j: int) -> float:
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(x[i], x[j])))

    losses = []
    for a in range(n):
        pos = [d(a, p) for p in range(n) if p != a and y[p] == y[a]]
        neg = [d(a, q) for q in range(n) if y[q] != y[a]]
        if pos and neg:
            losses.append(max(0.0, max(pos) - min(neg) + margin))
    return sum(losses) / len(losses) if losses else 0.0


TRIPLET_CASES = [
    # (n, dim, num_classes, feature scale, margin, seed); n > 25 exercises cdist's matrix-product path
    (12, 16, 3, 1.0, 50.0, 0),
    (12, 32, 4, 30.0, 50.0, 1),
    (32, 64, 5, 100.0, 50.0, 2),
    (40, 128, 6, 1000.0, 50.0, 3),
    (24, 8, 3, 0.1, 0.2, 4),
]


@pytest.mark.parametrize("n,dim,num_classes,scale,margin,seed", TRIPLET_CASES)
def test_triplet_matches_pml(n: int, dim: int, num_classes: int, scale: float, margin: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    base = (torch.randn(n, dim, generator=g) * scale).abs()  # raw, ReLU-like features
    labels = torch.randint(0, num_classes, (n,), generator=g)
    ours_x = base.clone().requires_grad_(True)
    pml_x = base.clone().requires_grad_(True)
    ours = batch_hard_triplet_loss(ours_x, labels, margin)
    pml = _pml_triplet(pml_x, labels, margin)
    assert ours.item() == pytest.approx(pml.item(), rel=1e-5, abs=1e-5)
    ours.backward()
    pml.backward()
    torch.testing.assert_close(ours_x.grad, pml_x.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n,dim,num_classes,scale,margin,seed", TRIPLET_CASES)
def test_triplet_vs_naive_loop(n: int, dim: int, num_classes: int, scale: float, margin: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed + 100)
    feats = torch.randn(n, dim, generator=g, dtype=torch.float64) * scale
    labels = torch.randint(0, num_classes, (n,), generator=g)
    labels[0] = num_classes  # a singleton class: that anchor has no positive and is skipped
    expected = _naive_triplet(feats, labels, margin)
    assert batch_hard_triplet_loss(feats, labels, margin).item() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_triplet_hand_case() -> None:
    # 1-D points: class 0 at 0 and 3, class 1 at 10 and 20.
    feats = torch.tensor([[0.0], [3.0], [10.0], [20.0]])
    labels = torch.tensor([0, 0, 1, 1])
    # anchors: 0: ap 3, an 10 -> 3-10+5 = -2 -> 0; 1: ap 3, an 7 -> 1; 2: ap 10, an 7 -> 8; 3: ap 10, an 17 -> 0
    assert batch_hard_triplet_loss(feats, labels, margin=5.0).item() == pytest.approx(9.0 / 4)


def test_triplet_no_valid_anchor_is_zero_with_graph() -> None:
    feats = torch.randn(4, 3, requires_grad=True)
    for labels in (torch.tensor([0, 1, 2, 3]), torch.tensor([1, 1, 1, 1])):
        loss = batch_hard_triplet_loss(feats, labels)
        assert loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        assert torch.count_nonzero(feats.grad) == 0


# --------------------------------------------------------------------------- SupCon


def _naive_supcon(features: torch.Tensor, labels: torch.Tensor, t: float, base_t: float) -> float:
    """Khosla et al.'s formula, anchor by anchor; anchors without positive skipped."""
    if features.dim() == 2:
        features = features.unsqueeze(1)
    n, v, _ = features.shape
    z = F.normalize(features.double(), dim=-1)
    items = [(z[i, k], int(labels[i])) for k in range(v) for i in range(n)]
    losses = []
    for a, (za, ya) in enumerate(items):
        others = [b for b in range(len(items)) if b != a]
        log_denominator = math.log(sum(math.exp(float(za @ items[b][0]) / t) for b in others))
        positives = [b for b in others if items[b][1] == ya]
        if not positives:
            continue
        mean_log_prob = sum(float(za @ items[p][0]) / t - log_denominator for p in positives) / len(positives)
        losses.append(-(t / base_t) * mean_log_prob)
    return sum(losses) / len(losses)


def test_supcon_matches_pml_two_views() -> None:
    g = torch.Generator().manual_seed(6)
    feats = torch.randn(10, 2, 16, generator=g)
    labels = torch.randint(0, 4, (10,), generator=g)
    ours = supcon_loss(feats, labels, temperature=0.05)
    flat = feats.transpose(0, 1).reshape(20, 16)
    pml = SupConLoss(temperature=0.05)(flat, labels.repeat(2))
    assert ours.item() == pytest.approx(pml.item(), rel=1e-5)


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
def test_supcon_matches_pml_single_view(temperature: float) -> None:
    g = torch.Generator().manual_seed(7)
    feats = torch.randn(12, 8, generator=g) * 5
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 0])
    ours = supcon_loss(feats, labels, temperature=temperature, base_temperature=temperature)
    pml = SupConLoss(temperature=temperature)(feats, labels)
    assert ours.item() == pytest.approx(pml.item(), rel=1e-5)


def test_supcon_vs_naive_loop_and_base_temperature() -> None:
    g = torch.Generator().manual_seed(8)
    feats = torch.randn(6, 2, 5, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 1])
    expected = _naive_supcon(feats, labels, 0.05, 0.05)
    assert supcon_loss(feats, labels).item() == pytest.approx(expected, rel=1e-10)
    expected_scaled = _naive_supcon(feats, labels, 0.1, 0.07)
    assert supcon_loss(feats, labels, 0.1, 0.07).item() == pytest.approx(expected_scaled, rel=1e-10)


def test_supcon_singleton_class_is_excluded_not_nan() -> None:
    g = torch.Generator().manual_seed(9)
    feats = torch.randn(7, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 0])  # class 2 has a single sample (anchor 5)
    loss = supcon_loss(feats, labels)
    assert torch.isfinite(loss)
    # Equal to the mean over the other six anchors (anchor 5 still in their denominators).
    assert loss.item() == pytest.approx(_naive_supcon(feats.detach(), labels, 0.05, 0.05), rel=1e-10)
    # PML drops zero-loss anchors too (AvgNonZeroReducer), so it agrees here as well.
    pml = SupConLoss(temperature=0.05)(feats.detach().float(), labels)
    assert loss.item() == pytest.approx(pml.item(), rel=1e-5)
    loss.backward()
    assert torch.isfinite(feats.grad).all()
    # With two views the singleton has a positive (its other view) and everything is counted.
    two = torch.stack([feats.detach(), feats.detach().flip(0)], dim=1)
    assert supcon_loss(two, labels).item() == pytest.approx(_naive_supcon(two, labels, 0.05, 0.05), rel=1e-10)


def test_supcon_no_positive_at_all_is_zero_with_graph() -> None:
    feats = torch.randn(3, 4, requires_grad=True)
    loss = supcon_loss(feats, torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
